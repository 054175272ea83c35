import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningTwin } from '../../../local/twin/index.ts';
import {
  approvalItem,
  clients,
  eventually,
  removeDir,
  STATE_MACHINE_ARN,
  startFixtureTwin,
  tempDataDir,
} from './helpers.ts';

let twin: RunningTwin;
let dataDir: string;

beforeAll(async () => {
  dataDir = await tempDataDir();
  twin = await startFixtureTwin(dataDir);
});

afterAll(async () => {
  await twin.stop();
  await removeDir(dataDir);
});

/** Starts the fixture workflow as the rule would, and waits for its callback step to store a token. */
async function startPending(requestId: string, detail: Record<string, unknown> = {}) {
  const { sfn, dynamodb } = clients(twin);
  const { executionArn } = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: STATE_MACHINE_ARN,
      input: JSON.stringify({ id: `event-${requestId}`, detail: { requestId, ...detail } }),
    }),
  );
  const approval = await eventually(() => approvalItem(dynamodb, requestId));
  return { executionArn: executionArn!, ...approval };
}

describe('a full run of the state machine', () => {
  it('pauses on a fresh task token and completes on SendTaskSuccess', async () => {
    const { sfn } = clients(twin);
    const pending = await startPending('approve-1');
    expect(pending.taskToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(pending.functionName).toBe('RequestApprovalFunction');
    const running = await sfn.send(new DescribeExecutionCommand({ executionArn: pending.executionArn }));
    expect(running.status).toBe('RUNNING');

    await sfn.send(new SendTaskHeartbeatCommand({ taskToken: pending.taskToken }));
    await sfn.send(
      new SendTaskSuccessCommand({
        taskToken: pending.taskToken,
        output: JSON.stringify({ decision: 'APPROVED' }),
      }),
    );
    await twin.stepFunctions.waitForCompletion(pending.executionArn);
    const done = await sfn.send(new DescribeExecutionCommand({ executionArn: pending.executionArn }));
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '')).toEqual({ outcome: 'DECIDED', decision: 'APPROVED' });
    expect(done.stopDate).toBeInstanceOf(Date);

    const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn: pending.executionArn }));
    expect(events?.map((event) => event.type)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited',
      'ChoiceStateEntered',
      'ChoiceStateExited',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSubmitted',
      'TaskSucceeded',
      'TaskStateExited',
      'PassStateEntered',
      'PassStateExited',
      'ExecutionSucceeded',
    ]);
    expect(events?.[0]).toMatchObject({ id: 1, previousEventId: 0, timestamp: expect.any(Date) });
    const scheduled = events?.[9]?.taskScheduledEventDetails;
    expect(scheduled).toMatchObject({
      resourceType: 'lambda',
      resource: 'invoke.waitForTaskToken',
      timeoutInSeconds: 3600,
    });
    // The callback function got the real token, not the marker the interpreter saw.
    expect(JSON.parse(scheduled?.parameters ?? '{}').Payload.taskToken).toBe(pending.taskToken);
    // The evaluate step got the exact event, and its result came back wrapped as lambda:invoke returns it.
    const evaluated = JSON.parse(events?.[4]?.taskSucceededEventDetails?.output ?? '{}');
    expect(evaluated).toMatchObject({
      StatusCode: 200,
      ExecutedVersion: '$LATEST',
      Payload: { requestId: 'approve-1' },
    });
  });

  it('answers TaskTimedOut for a used token and InvalidToken for one never issued', async () => {
    const { sfn } = clients(twin);
    const pending = await startPending('tokens-1');
    await sfn.send(
      new SendTaskSuccessCommand({ taskToken: pending.taskToken, output: '{"decision":"APPROVED"}' }),
    );
    await expect(
      sfn.send(new SendTaskSuccessCommand({ taskToken: pending.taskToken, output: '{}' })),
    ).rejects.toMatchObject({ name: 'TaskTimedOut' });
    await expect(
      sfn.send(new SendTaskFailureCommand({ taskToken: pending.taskToken, error: 'x' })),
    ).rejects.toMatchObject({ name: 'TaskTimedOut' });
    await expect(
      sfn.send(new SendTaskHeartbeatCommand({ taskToken: pending.taskToken })),
    ).rejects.toMatchObject({
      name: 'TaskTimedOut',
    });
    await expect(
      sfn.send(new SendTaskSuccessCommand({ taskToken: 'A'.repeat(43), output: '{}' })),
    ).rejects.toMatchObject({ name: 'InvalidToken' });
    await expect(sfn.send(new SendTaskHeartbeatCommand({ taskToken: 'B'.repeat(43) }))).rejects.toMatchObject(
      {
        name: 'InvalidToken',
      },
    );
  });

  it('refuses output that is not JSON and keeps the task waiting', async () => {
    const { sfn } = clients(twin);
    const pending = await startPending('invalid-output-1');
    await expect(
      sfn.send(new SendTaskSuccessCommand({ taskToken: pending.taskToken, output: '{nope' })),
    ).rejects.toMatchObject({ name: 'InvalidOutput' });
    await sfn.send(
      new SendTaskSuccessCommand({ taskToken: pending.taskToken, output: '{"decision":"DENIED"}' }),
    );
    const done = await twin.stepFunctions.waitForCompletion(pending.executionArn);
    expect(JSON.parse(done.output ?? '')).toEqual({ outcome: 'DECIDED', decision: 'DENIED' });
  });

  it('routes SendTaskFailure through the state Catch', async () => {
    const { sfn } = clients(twin);
    const pending = await startPending('deny-1');
    await sfn.send(
      new SendTaskFailureCommand({
        taskToken: pending.taskToken,
        error: 'RequestDenied',
        cause: 'bob denied it',
      }),
    );
    const done = await twin.stepFunctions.waitForCompletion(pending.executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '')).toEqual({
      outcome: 'DENIED',
      error: 'RequestDenied',
      cause: 'bob denied it',
    });
    const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn: pending.executionArn }));
    expect(events?.find((event) => event.type === 'TaskFailed')?.taskFailedEventDetails).toMatchObject({
      error: 'RequestDenied',
      cause: 'bob denied it',
    });
  });

  it('times out with States.Timeout after TimeoutSecondsPath and kills the token', async () => {
    const { sfn } = clients(twin);
    const pending = await startPending('expire-1', { timeoutSeconds: 1 });
    const done = await twin.stepFunctions.waitForCompletion(pending.executionArn);
    expect(JSON.parse(done.output ?? '')).toEqual({ outcome: 'EXPIRED', error: 'States.Timeout' });
    await expect(
      sfn.send(new SendTaskSuccessCommand({ taskToken: pending.taskToken, output: '{}' })),
    ).rejects.toMatchObject({ name: 'TaskTimedOut' });
    const { events } = await sfn.send(
      new GetExecutionHistoryCommand({
        executionArn: pending.executionArn,
        reverseOrder: true,
        maxResults: 6,
      }),
    );
    expect(events?.map((event) => event.type)).toContain('TaskTimedOut');
    expect(events?.[0]?.type).toBe('ExecutionSucceeded');
  });

  it('fails the execution with the Fail state when a function throws and Catch routes there', async () => {
    const { sfn } = clients(twin);
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: STATE_MACHINE_ARN,
        input: JSON.stringify({ id: 'failing', detail: { fail: true } }),
      }),
    );
    const done = await twin.stepFunctions.waitForCompletion(executionArn!);
    expect(done).toMatchObject({
      status: 'FAILED',
      error: 'EvaluationFailed',
      cause: 'policy evaluation failed',
    });
    const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    const failed = events?.find((event) => event.type === 'TaskFailed')?.taskFailedEventDetails;
    expect(failed?.error).toBe('PolicyEvaluationError');
    expect(JSON.parse(failed?.cause ?? '{}')).toMatchObject({
      errorType: 'PolicyEvaluationError',
      errorMessage: 'the policy could not be evaluated',
    });
  });

  it('lists executions newest first with their status, and pages', async () => {
    const { sfn } = clients(twin);
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: STATE_MACHINE_ARN,
        input: JSON.stringify({ id: 'x', detail: { outcome: 'ALLOW' } }),
      }),
    );
    await twin.stepFunctions.waitForCompletion(executionArn!);
    const first = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: STATE_MACHINE_ARN, maxResults: 1 }),
    );
    expect(first.executions?.[0]).toMatchObject({ executionArn, status: 'SUCCEEDED' });
    expect(first.nextToken).toBeDefined();
    const second = await sfn.send(
      new ListExecutionsCommand({
        stateMachineArn: STATE_MACHINE_ARN,
        maxResults: 1,
        nextToken: first.nextToken,
      }),
    );
    expect(second.executions?.[0]?.executionArn).not.toBe(executionArn);
    const succeeded = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: STATE_MACHINE_ARN, statusFilter: 'SUCCEEDED' }),
    );
    expect(succeeded.executions?.every((execution) => execution.status === 'SUCCEEDED')).toBe(true);
  });
});
