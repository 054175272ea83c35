import { DescribeTableCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { PutEventsCommand, TestEventPatternCommand } from '@aws-sdk/client-eventbridge';
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningTwin } from '../../../local/twin/index.ts';
import {
  agentCredentials,
  type Credentials,
  clients,
  removeDir,
  STATE_MACHINE_ARN,
  startFixtureTwin,
  tempDataDir,
} from './helpers.ts';

let twin: RunningTwin;
let dataDir: string;
let agent: Credentials & { id: string };

beforeAll(async () => {
  dataDir = await tempDataDir();
  twin = await startFixtureTwin(dataDir);
  agent = await agentCredentials();
});

afterAll(async () => {
  await twin.stop();
  await removeDir(dataDir);
});

const agentEntry = (overrides: Record<string, unknown> = {}) => ({
  EventBusName: 'countersign',
  Source: 'countersign.agent.invoice-bot',
  DetailType: 'Action Requested',
  // ALLOW ends the fixture workflow at once, so these events leave nothing running.
  Detail: JSON.stringify({ outcome: 'ALLOW' }),
  ...overrides,
});

describe('EventBridge PutEvents', () => {
  it('accepts valid entries and answers per entry as AWS does', async () => {
    const { events } = clients(twin, agent);
    const result = await events.send(
      new PutEventsCommand({
        Entries: [
          agentEntry(),
          agentEntry({ Source: undefined }),
          agentEntry({ DetailType: undefined }),
          agentEntry({ Detail: undefined }),
          agentEntry({ Detail: '{not json' }),
          agentEntry({ Detail: '[1,2]' }),
          agentEntry({ EventBusName: 'no-such-bus' }),
          agentEntry({ EventBusName: 'arn:aws:events:local:000000000000:event-bus/countersign' }),
        ],
      }),
    );
    expect(result.FailedEntryCount).toBe(6);
    const entries = result.Entries ?? [];
    expect(entries[0]?.EventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(entries[1]).toMatchObject({
      ErrorCode: 'InvalidArgument',
      ErrorMessage: expect.stringContaining('Source'),
    });
    expect(entries[2]).toMatchObject({
      ErrorCode: 'InvalidArgument',
      ErrorMessage: expect.stringContaining('DetailType'),
    });
    expect(entries[3]).toMatchObject({
      ErrorCode: 'InvalidArgument',
      ErrorMessage: expect.stringContaining('Detail'),
    });
    expect(entries[4]).toMatchObject({ ErrorCode: 'MalformedDetail' });
    expect(entries[5]).toMatchObject({ ErrorCode: 'MalformedDetail' });
    expect(entries[6]).toMatchObject({ ErrorCode: 'ResourceNotFoundException' });
    expect(entries[7]?.EventId).toBeDefined();
  });

  it('refuses an agent an event whose source is not its own, entry by entry', async () => {
    const { events } = clients(twin, agent);
    const result = await events.send(
      new PutEventsCommand({
        Entries: [
          agentEntry({ Source: 'countersign.agent.other-bot' }),
          agentEntry(),
          agentEntry({ Source: 'countersign' }),
        ],
      }),
    );
    expect(result.FailedEntryCount).toBe(2);
    expect(result.Entries?.[0]).toMatchObject({ ErrorCode: 'NotAuthorizedForSourceException' });
    expect(result.Entries?.[1]?.EventId).toBeDefined();
    expect(result.Entries?.[2]).toMatchObject({ ErrorCode: 'NotAuthorizedForSourceException' });
  });

  it('refuses more than 10 entries as a whole', async () => {
    const { events } = clients(twin, agent);
    await expect(
      events.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => agentEntry()) })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('starts the rule target with the EventBridge envelope', async () => {
    const { events, sfn } = clients(twin);
    const result = await events.send(
      new PutEventsCommand({
        Entries: [agentEntry({ Detail: JSON.stringify({ outcome: 'ALLOW', requestId: 'envelope-1' }) })],
      }),
    );
    const eventId = result.Entries?.[0]?.EventId;
    const execution = await twin.stepFunctions.waitForCompletion(
      (await findExecution(sfn, (input) => input.id === eventId)).executionArn,
    );
    const input = JSON.parse(execution.input);
    expect(input).toMatchObject({
      version: '0',
      id: eventId,
      'detail-type': 'Action Requested',
      source: 'countersign.agent.invoice-bot',
      account: '000000000000',
      region: 'local',
      resources: [],
      detail: { outcome: 'ALLOW', requestId: 'envelope-1' },
    });
    expect(input.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });
});

async function findExecution(
  sfn: ReturnType<typeof clients>['sfn'],
  predicate: (input: Record<string, unknown>) => boolean,
): Promise<{ executionArn: string }> {
  for (let attempt = 0; attempt < 400; attempt += 1) {
    const { executions } = await sfn.send(new ListExecutionsCommand({ stateMachineArn: STATE_MACHINE_ARN }));
    for (const execution of executions ?? []) {
      const { input } = await sfn.send(
        new DescribeExecutionCommand({ executionArn: execution.executionArn }),
      );
      if (predicate(JSON.parse(input ?? '{}'))) return { executionArn: execution.executionArn! };
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('execution not found');
}

describe('SigV4 and the callers allowed', () => {
  it('refuses an unknown access key with UnrecognizedClientException and does nothing', async () => {
    const { events } = clients(twin, {
      accessKeyId: 'AKIAUNKNOWNKEY000000',
      secretAccessKey: 'x'.repeat(40),
    });
    await expect(events.send(new PutEventsCommand({ Entries: [agentEntry()] }))).rejects.toMatchObject({
      name: 'UnrecognizedClientException',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('refuses a wrong secret with InvalidSignatureException', async () => {
    const { events } = clients(twin, {
      accessKeyId: agent.accessKeyId,
      secretAccessKey: 'not-the-secret-at-all',
    });
    await expect(events.send(new PutEventsCommand({ Entries: [agentEntry()] }))).rejects.toMatchObject({
      name: 'InvalidSignatureException',
    });
  });

  it('refuses a request signed more than 15 minutes off', async () => {
    const { events } = clients(twin, agent);
    events.config.systemClockOffset = -20 * 60 * 1000;
    await expect(events.send(new PutEventsCommand({ Entries: [agentEntry()] }))).rejects.toMatchObject({
      name: 'InvalidSignatureException',
      message: expect.stringContaining('Signature expired'),
    });
  });

  it('refuses an unsigned request', async () => {
    const response = await fetch(twin.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSEvents.PutEvents' },
      body: JSON.stringify({ Entries: [agentEntry()] }),
    });
    expect(response.status).toBe(403);
    expect(response.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    expect(await response.json()).toMatchObject({ __type: 'MissingAuthenticationTokenException' });
  });

  it('lets an agent neither start executions nor read DynamoDB', async () => {
    const { sfn, dynamodb } = clients(twin, agent);
    await expect(
      sfn.send(new StartExecutionCommand({ stateMachineArn: STATE_MACHINE_ARN, input: '{}' })),
    ).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await expect(
      dynamodb.send(new GetItemCommand({ TableName: 'Table', Key: { pk: { S: 'a' }, sk: { S: 'b' } } })),
    ).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await expect(
      sfn.send(new SendTaskSuccessCommand({ taskToken: 'x', output: '{}' })),
    ).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  it('forwards DynamoDB calls of the operator to the table created from the template', async () => {
    const { dynamodb } = clients(twin);
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: 'Table' }));
    expect(Table?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName)).toEqual(['by-status']);
  });
});

describe('EventBridge TestEventPattern', () => {
  it('matches with the EventBridge semantics and rejects invalid patterns as AWS does', async () => {
    const { events } = clients(twin);
    const event = JSON.stringify({
      id: '1',
      source: 'countersign.agent.invoice-bot',
      'detail-type': 'Action Requested',
      account: '000000000000',
      region: 'local',
      time: '2026-01-01T00:00:00Z',
      resources: [],
      detail: {},
    });
    const matching = await events.send(
      new TestEventPatternCommand({
        EventPattern: JSON.stringify({ source: [{ prefix: 'countersign.agent.' }] }),
        Event: event,
      }),
    );
    expect(matching.Result).toBe(true);
    const other = await events.send(
      new TestEventPatternCommand({ EventPattern: JSON.stringify({ source: ['aws.macie'] }), Event: event }),
    );
    expect(other.Result).toBe(false);
    await expect(
      events.send(
        new TestEventPatternCommand({
          EventPattern: JSON.stringify({ source: 'not-an-array' }),
          Event: event,
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidEventPatternException' });
  });
});

describe('Step Functions API errors', () => {
  it('answers with the AWS error codes', async () => {
    const { sfn } = clients(twin);
    await expect(
      sfn.send(new StartExecutionCommand({ stateMachineArn: 'not-an-arn' })),
    ).rejects.toMatchObject({ name: 'InvalidArn' });
    await expect(
      sfn.send(
        new StartExecutionCommand({
          stateMachineArn: 'arn:aws:states:local:000000000000:stateMachine:Missing',
        }),
      ),
    ).rejects.toMatchObject({ name: 'StateMachineDoesNotExist' });
    await expect(
      sfn.send(new StartExecutionCommand({ stateMachineArn: STATE_MACHINE_ARN, input: '{broken' })),
    ).rejects.toMatchObject({ name: 'InvalidExecutionInput' });
    await expect(
      sfn.send(new StartExecutionCommand({ stateMachineArn: STATE_MACHINE_ARN, name: 'has space' })),
    ).rejects.toMatchObject({ name: 'InvalidName' });
    await expect(
      sfn.send(
        new DescribeExecutionCommand({
          executionArn: 'arn:aws:states:local:000000000000:execution:ApprovalStateMachine:missing',
        }),
      ),
    ).rejects.toMatchObject({ name: 'ExecutionDoesNotExist' });
  });

  it('treats the same name and input as the same execution, and refuses a different input', async () => {
    const { sfn } = clients(twin);
    const input = JSON.stringify({ id: 'named', detail: { requestId: 'named-1', timeoutSeconds: 3600 } });
    const first = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: STATE_MACHINE_ARN, name: 'named-execution', input }),
    );
    const again = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: STATE_MACHINE_ARN, name: 'named-execution', input }),
    );
    expect(again.executionArn).toBe(first.executionArn);
    expect(first.executionArn).toBe(
      'arn:aws:states:local:000000000000:execution:ApprovalStateMachine:named-execution',
    );
    expect(first.startDate).toBeInstanceOf(Date);
    await expect(
      sfn.send(
        new StartExecutionCommand({
          stateMachineArn: STATE_MACHINE_ARN,
          name: 'named-execution',
          input: '{}',
        }),
      ),
    ).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
  });
});
