/**
 * The executor function as Lambda runs it: imported with the stack's environment, invoked with
 * what Finish sends, against a local DynamoDB (dynalite), STS a local Query endpoint and S3 mocked at the SDK. It reads
 * what to run from the stored request, runs an approved copy once and answers its outcome (again,
 * without running it, to a retry), records a throttle that outlasts the retries and an unknown
 * outcome as failed (answered, not thrown: nothing retries them), answers nothing to run for what Countersign does not execute,
 * answers a run claimed by another invocation as in progress, and runs nothing for anyone else.
 */
import { CopyObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ActionRunAnswer } from '../../../lambdas/domain/action-run.ts';
import { ValidationError } from '../../../lambdas/domain/errors.ts';
import { type PolicyDecision, parse } from '../../../lambdas/domain/schemas.ts';
import { evaluateRequest } from '../../../lambdas/services/evaluate-request.ts';
import { recordDecision } from '../../../lambdas/services/record-decision.ts';
import { startExecutorSession } from '../../support/executor-session.ts';
import { queryError } from '../../support/query-server.ts';
import { setEnvironment, workflowHandlerEnvironment } from '../../workflow/support/handler-environment.ts';
import { type LambdaHandler, lambdaContext } from '../../workflow/support/lambda-context.ts';
import {
  anAgentEvent,
  COPY,
  EXECUTED,
  executionArnFor,
  type Harness,
  nextEventId,
  startHarness,
} from '../services/harness.ts';

let executorSession: Awaited<ReturnType<typeof startExecutorSession>>;

let harness: Harness;
let restoreEnvironment: () => void;
let handler: LambdaHandler;

beforeAll(async () => {
  harness = await startHarness();
  executorSession = await startExecutorSession();
  restoreEnvironment = setEnvironment(
    await workflowHandlerEnvironment(harness.table, executorSession.environment),
  );
  ({ handler } = await import('../../../lambdas/handlers/execute-action.ts'));
});

afterAll(async () => {
  await executorSession.close();
  restoreEnvironment();
  await harness.table.close();
});

beforeEach(() => {
  executorSession.reset();
});

const invoke = async (event: unknown) =>
  parse(ActionRunAnswer, await handler(event, lambdaContext('ExecuteAction')), 'answer');

/** A request evaluated under `policy` and decided by it, as the workflow leaves it for Finish. */
async function decided(policy: PolicyDecision = EXECUTED) {
  harness.policy.answer = policy;
  const eventId = nextEventId();
  const requestId = `invoice-bot:${eventId}`;
  const executionArn = executionArnFor(requestId);
  await evaluateRequest(harness, { requestId, event: anAgentEvent(eventId, COPY), executionArn });
  const decision = policy.decision === 'ALLOW' ? 'AUTO_APPROVED' : 'POLICY_DENIED';
  await recordDecision(harness, { requestId, outcome: { decision }, executionArn });
  return { requestId, executionArn };
}

describe('the executor function', () => {
  it('runs the approved copy once and answers its outcome, to a retry too', async () => {
    const step = await decided();
    const first = await invoke(step);
    expect(first).toMatchObject({ requestId: step.requestId, execution: { status: 'EXECUTED' } });
    expect(await invoke(step)).toEqual(first);
    expect(executorSession.s3.commandCalls(CopyObjectCommand)).toHaveLength(1);
    expect(executorSession.assumeRoleCalls()[0]).toMatchObject({
      RoleArn: 'arn:aws:iam::123456789012:role/countersign-executor',
    });
  });

  it('records a throttle that outlasts the retries and an unknown outcome as failed, answering them to a retry without running again', async () => {
    const throttled = await decided();
    executorSession.stsAnswers(
      [1, 2, 3].map((n) => queryError(400, 'Throttling', 'Rate exceeded', `throttled-${n}`)),
    );
    const refused = await invoke(throttled);
    expect(refused).toMatchObject({
      execution: {
        status: 'EXECUTION_FAILED',
        error: 'Throttling: Rate exceeded',
        awsRequestId: 'throttled-3',
      },
    });
    expect(await invoke(throttled)).toEqual(refused);
    expect(executorSession.assumeRoleCalls()).toHaveLength(3);

    const unknown = await decided();
    executorSession.s3.on(CopyObjectCommand).rejects(
      Object.assign(new Error('We encountered an internal error.'), {
        name: 'InternalError',
        $fault: 'server',
        $metadata: {},
      }),
    );
    const lost = await invoke(unknown);
    expect(lost).toMatchObject({
      execution: {
        status: 'EXECUTION_FAILED',
        error: 'the outcome is unknown, and the action is not run again: We encountered an internal error.',
      },
    });
    expect(await invoke(unknown)).toEqual(lost);
    expect(executorSession.s3.commandCalls(CopyObjectCommand)).toHaveLength(1);
  });

  it('answers nothing to run for a request Countersign does not execute', async () => {
    const step = await decided({ ...EXECUTED, decision: 'DENY', reason: 'no', executor: undefined });
    expect(await invoke(step)).toEqual({ requestId: step.requestId });
    expect(executorSession.s3.commandCalls(CopyObjectCommand)).toEqual([]);
  });

  it('answers a run another invocation claimed moments ago as in progress, running nothing', async () => {
    const step = await decided();
    await harness.store.claimExecution(step.requestId, {
      status: 'STARTED',
      sessionName: 'invoice-bot=elsewhere',
      startedAt: new Date().toISOString(),
    });
    expect(await invoke(step)).toEqual({ requestId: step.requestId, inProgress: true });
    expect(executorSession.s3.commandCalls(CopyObjectCommand)).toEqual([]);
  });

  it('runs nothing for another execution, nor for an event that is not Finish’s', async () => {
    const step = await decided();
    await expect(
      invoke({ ...step, executionArn: executionArnFor('invoice-bot:someone-else') }),
    ).rejects.toMatchObject({ name: 'ForeignExecutionError' });
    await expect(invoke({ requestId: step.requestId })).rejects.toBeInstanceOf(ValidationError);
    await expect(invoke({ ...step, action: 's3:DeleteObject' })).rejects.toBeInstanceOf(ValidationError);
    expect(executorSession.s3.commandCalls(CopyObjectCommand)).toEqual([]);
  });
});
