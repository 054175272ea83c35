/**
 * The three workflow handlers as Lambda runs them: imported with the stack's environment, invoked
 * with the state machine's payloads and a Lambda context, against a local DynamoDB (dynalite).
 * EventBridge and Step Functions are mocked at the SDK.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SFNClient } from '@aws-sdk/client-sfn';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DynamoDbRequestStore } from '../../../lambdas/adapters/dynamodb/request-store.ts';
import { FinishStepError } from '../../../lambdas/domain/approval.ts';
import { ConfigurationError, ValidationError } from '../../../lambdas/domain/errors.ts';
import { verifyReceipt } from '../../../lambdas/domain/receipt.ts';
import { type LocalTable, startDynalite } from '../../support/dynalite.ts';
import { mockKmsSigningKey } from '../../support/kms-signing-key.ts';
import { agentRequestEvent } from '../../workflow/support/agent-events.ts';
import { setEnvironment, workflowHandlerEnvironment } from '../../workflow/support/handler-environment.ts';
import { type LambdaHandler, lambdaContext } from '../../workflow/support/lambda-context.ts';

const eventBridge = mockClient(EventBridgeClient);
const sfn = mockClient(SFNClient);
const receiptKey = mockKmsSigningKey();

let table: LocalTable;
let store: DynamoDbRequestStore;
let restoreEnvironment: () => void;
let handlers: Record<'evaluate' | 'requestApproval' | 'finish', LambdaHandler>;

beforeAll(async () => {
  table = await startDynalite();
  store = new DynamoDbRequestStore({ client: table.client, tableName: table.tableName });
  restoreEnvironment = setEnvironment(await workflowHandlerEnvironment(table));
  handlers = {
    evaluate: (await import('../../../lambdas/handlers/evaluate.ts')).handler,
    requestApproval: (await import('../../../lambdas/handlers/request-approval.ts')).handler,
    finish: (await import('../../../lambdas/handlers/finish.ts')).handler,
  };
});

afterAll(async () => {
  receiptKey.kms.restore();
  restoreEnvironment();
  await table.close();
});

beforeEach(() => {
  eventBridge.reset();
  sfn.reset();
});

const invoke = (name: keyof typeof handlers, event: unknown) => handlers[name](event, lambdaContext(name));

const executionArn = (name: string) => `arn:aws:states:us-east-1:123456789012:execution:approval:${name}`;

async function evaluated(action: string, parameters: Record<string, string> = {}) {
  const event = agentRequestEvent({ action, parameters });
  const requestId = `invoice-bot:${event.detail.requestId}`;
  const owner = executionArn(event.id);
  const result = await invoke('evaluate', { state: event, executionArn: owner, classifyFirst: false });
  /** What the state machine adds to every later step's payload. */
  const step = { requestId, executionArn: owner };
  return { requestId, event, result, step };
}

describe('evaluate handler', () => {
  it('stores the request and answers the policy decision for the Route state', async () => {
    const { requestId, result } = await evaluated('s3:GetObject');

    expect(result).toMatchObject({
      requestId,
      duplicate: false,
      invalid: false,
      policy: { decision: 'ALLOW', policyIds: ['read-only-allowed'] },
      // Decided by the policy alone: the workflow records this outcome without asking anyone.
      outcome: { decision: 'AUTO_APPROVED' },
    });
    await expect(store.get(requestId)).resolves.toMatchObject({
      status: 'PENDING',
      action: 's3:GetObject',
      requesters: ['invoice-bot', 'dave'],
    });
  });

  it('answers duplicate for the same request started by another execution', async () => {
    const { requestId, event } = await evaluated('s3:GetObject');

    const again = await invoke('evaluate', {
      state: event,
      executionArn: executionArn('other'),
      classifyFirst: false,
    });

    expect(again).toMatchObject({ requestId, duplicate: true });
  });

  it('rejects a payload that is not what the state machine sends', async () => {
    await expect(invoke('evaluate', { requestId: 'r-1', event: {} })).rejects.toThrow(ValidationError);
  });

  it('names the request from the event, and answers an event naming no agent with no request', async () => {
    const event = agentRequestEvent({ action: 's3:GetObject' });
    const nameless = { ...event, detail: { ...event.detail, agent: { id: ['invoice-bot'] } } };

    const result = await invoke('evaluate', {
      state: nameless,
      executionArn: executionArn(event.id),
      classifyFirst: false,
    });

    expect(result).toMatchObject({ requestId: null, duplicate: false, invalid: true });
    await expect(store.get(`invoice-bot:${event.detail.requestId}`)).resolves.toBeUndefined();
  });
});

describe('request-approval handler', () => {
  it('stores the task token and notifies once, however often the task runs', async () => {
    const { requestId, step } = await evaluated('iam:AttachRolePolicy', {
      PolicyArn: 'arn:aws:iam::aws:policy/ReadOnly',
    });

    const first = await invoke('requestApproval', { ...step, taskToken: 'token-1' });
    const second = await invoke('requestApproval', { ...step, taskToken: 'token-1' });

    expect(first).toEqual({ requestId, notified: true, resumed: false });
    expect(second).toEqual({ requestId, notified: false, resumed: false });
    await expect(store.getTaskToken(requestId)).resolves.toBe('token-1');
  });
});

describe('finish handler', () => {
  beforeEach(() => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
  });

  it('records the outcome once, publishes it once; a retry finds it recorded and publishes the same', async () => {
    const { requestId, step } = await evaluated('kms:ScheduleKeyDeletion');

    const first = await invoke('finish', { ...step, outcome: { decision: 'POLICY_DENIED' } });
    const retry = await invoke('finish', { ...step, outcome: { decision: 'POLICY_DENIED' } });

    expect(first).toMatchObject({ requestId, applied: true, published: { decision: 'POLICY_DENIED' } });
    expect(first).not.toHaveProperty('execution');
    // Not applied again: the decision is counted (DecisionsRecorded) by the call that stored it.
    expect(retry).toEqual({ ...(first as object), applied: false });
    await expect(store.get(requestId)).resolves.toMatchObject({
      status: 'DENIED',
      decision: 'POLICY_DENIED',
    });
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(1);
  });

  it('after a failed evaluation, stores the request its event names, denied, once', async () => {
    const event = agentRequestEvent({ action: 's3:GetObject' });
    const requestId = `invoice-bot:${event.detail.requestId}`;
    // The state as Evaluate failed: the event with the workflow's error and outcome beside it.
    const state = { ...event, error: { Error: 'Sandbox.Timedout' }, evaluation: {} };
    const payload = {
      event: state,
      outcome: { decision: 'DENIED', reason: 'evaluation failed: Sandbox.Timedout' },
      executionArn: executionArn(event.id),
    };

    const first = await invoke('finish', payload);
    const retry = await invoke('finish', payload);

    expect(first).toMatchObject({ requestId, applied: true, published: { decision: 'DENIED' } });
    expect(retry).toEqual({ ...(first as object), applied: false });
    await expect(store.get(requestId)).resolves.toMatchObject({
      status: 'DENIED',
      reason: 'evaluation failed: Sandbox.Timedout',
    });
    const nameless = { ...event, id: 'another-event', detail: { ...event.detail, agent: {} } };
    await expect(invoke('finish', { ...payload, event: nameless })).rejects.toThrow(ValidationError);
  });

  it('refuses a payload without the execution, as a direct invocation would send it', async () => {
    const { requestId } = await evaluated('kms:ScheduleKeyDeletion');
    await expect(invoke('finish', { requestId, outcome: { decision: 'POLICY_DENIED' } })).rejects.toThrow(
      ValidationError,
    );
    await expect(store.get(requestId)).resolves.toMatchObject({ status: 'PENDING' });
  });

  it('rejects an outcome that is not a decision', async () => {
    await expect(
      invoke('finish', {
        requestId: 'invoice-bot:r-2',
        executionArn: executionArn('r-2'),
        outcome: { decision: 'MAYBE' },
      }),
    ).rejects.toThrow(ValidationError);
  });

  it('names a record that fails by its part, so the state machine fails the execution as RecordFailed', async () => {
    const { step } = await evaluated('kms:ScheduleKeyDeletion');
    // An approval no vote backs: refused by the record step, never published.
    const failure = await invoke('finish', { ...step, outcome: { decision: 'APPROVED' } }).catch(
      (error) => error,
    );
    expect(failure).toMatchObject({ name: FinishStepError.record, cause: { name: 'ConflictError' } });
    expect(eventBridge.commandCalls(PutEventsCommand)).toEqual([]);
  });

  it('signs the receipt with the KMS key and puts Action Decided on the bus once per request', async () => {
    const { requestId, step } = await evaluated('s3:GetObject');

    const { published } = (await invoke('finish', { ...step, outcome: { decision: 'AUTO_APPROVED' } })) as {
      published: { receipt: string };
    };
    // Only published (after an execution failed for good): told once, whatever the retries.
    const again = (await invoke('finish', step)) as { published: unknown };

    expect(published).toMatchObject({ requestId, decision: 'AUTO_APPROVED', approvers: [] });
    expect(again.published).toEqual(published);
    // Signed by the KMS key (mocked at the SDK), verifiable with its public key.
    const { KmsReceiptKeys } = await import('../../../lambdas/adapters/kms/receipt-signer.ts');
    const { KMSClient } = await import('@aws-sdk/client-kms');
    const jwks = await new KmsReceiptKeys({
      client: new KMSClient({ region: 'us-east-1' }),
      keyIds: [receiptKey.keyArn],
    }).jwks();
    await expect(verifyReceipt(published.receipt, { keys: jwks })).resolves.toMatchObject({
      requestId,
      decision: 'AUTO_APPROVED',
    });
    const calls = eventBridge.commandCalls(PutEventsCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input.Entries?.[0]).toMatchObject({
      EventBusName: 'countersign-test-bus',
      Source: 'countersign',
      DetailType: 'Action Decided',
    });
    expect(JSON.parse(calls[0]?.args[0].input.Entries?.[0]?.Detail ?? '{}')).toEqual(published);
  });

  it('keeps no bookkeeping of its own in the table: the request and its trail are what makes a retry a no-op', async () => {
    const { requestId, step } = await evaluated('s3:GetObject');
    const finish = { ...step, outcome: { decision: 'AUTO_APPROVED' } };

    await invoke('finish', finish);
    await expect(invoke('finish', finish)).resolves.toMatchObject({ requestId, applied: false });

    const { Items = [] } = await table.client.send(new ScanCommand({ TableName: table.tableName }));
    const partitions = new Set(Items.map((item) => String(item.pk).split('#')[0]));
    expect([...partitions].filter((partition) => partition?.startsWith('IDEMPOTENCY'))).toEqual([]);
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(1);
  });

  it('publishes again after a failed attempt: a failure is not remembered as done', async () => {
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }] })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-2' }] });
    const { requestId, step } = await evaluated('s3:GetObject');
    const finish = { ...step, outcome: { decision: 'AUTO_APPROVED' } };

    const counted = vi.spyOn(Metrics.prototype, 'addMetric');
    try {
      const failure = await invoke('finish', finish).catch((error) => error);
      expect(failure).toMatchObject({
        name: FinishStepError.publish,
        message: expect.stringContaining('InternalFailure'),
      });
      await expect(invoke('finish', finish)).resolves.toMatchObject({
        requestId,
        applied: false,
        published: { requestId },
      });
      // Recorded by the first attempt, which failed later: counted there, once.
      expect(counted.mock.calls.filter(([name]) => name === 'DecisionsRecorded')).toHaveLength(1);
    } finally {
      counted.mockRestore();
    }
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(2);
  });
});

describe('handler start', () => {
  it('fails at import, naming every missing variable', async () => {
    vi.resetModules();
    const restore = setEnvironment({ TABLE_NAME: '', EVENT_BUS_NAME: '' });
    try {
      const failure = await import('../../../lambdas/handlers/finish.ts').catch((error) => error);
      expect(failure).toBeInstanceOf(Error);
      expect(failure.name).toBe(ConfigurationError.name);
      expect(failure.message).toContain('TABLE_NAME');
      expect(failure.message).toContain('EVENT_BUS_NAME');
    } finally {
      restore();
    }
  });
});
