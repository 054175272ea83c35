/**
 * The executor function's service on the real store (dynalite): an approved action Countersign executes runs once,
 * exactly as approved, its outcome stored once and told in the decision event; nothing else runs.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TableKey } from '../../../lambdas/adapters/dynamodb/table-layout.ts';
import { ConflictError, ForeignExecutionError } from '../../../lambdas/domain/errors.ts';
import { verifyReceipt } from '../../../lambdas/domain/receipt.ts';
import type { PolicyDecision } from '../../../lambdas/domain/schemas.ts';
import { evaluateRequest } from '../../../lambdas/services/evaluate-request.ts';
import { type ExecuteActionDeps, executeApprovedAction } from '../../../lambdas/services/execute-action.ts';
import { publishDecision } from '../../../lambdas/services/publish-decision.ts';
import { recordDecision } from '../../../lambdas/services/record-decision.ts';
import { NOW, requireApproval } from '../domain/fixtures.ts';
import { RecordingExecutor } from './fakes.ts';
import {
  anAgentEvent,
  COPY,
  EXECUTED,
  executionArnFor,
  type Harness,
  nextEventId,
  startHarness,
} from './harness.ts';

const READ_ONLY = 'arn:aws:iam::aws:policy/ReadOnlyAccess';

let harness: Harness;
let executor: RecordingExecutor;
let deps: ExecuteActionDeps;

beforeAll(async () => {
  harness = await startHarness();
});

afterAll(async () => {
  await harness.table.close();
});

beforeEach(() => {
  harness.clock.set(NOW);
  executor = new RecordingExecutor();
  deps = {
    store: harness.store,
    executor,
    clock: harness.clock,
    allowedPolicyArns: [READ_ONLY],
    interruptedAfterMs: 300_000,
  };
});

/** A request evaluated under `policy` and decided as `decision` by its workflow. */
async function decided(
  policy: PolicyDecision = EXECUTED,
  detail: Record<string, unknown> = COPY,
  decision: 'AUTO_APPROVED' | 'POLICY_DENIED' = policy.decision === 'ALLOW'
    ? 'AUTO_APPROVED'
    : 'POLICY_DENIED',
) {
  harness.policy.answer = policy;
  const eventId = nextEventId();
  const requestId = `invoice-bot:${eventId}`;
  const executionArn = executionArnFor(requestId);
  await evaluateRequest(harness, { requestId, event: anAgentEvent(eventId, detail), executionArn });
  await recordDecision(harness, { requestId, outcome: { decision }, executionArn });
  return { requestId, executionArn };
}

describe('executeApprovedAction', () => {
  it('runs the approved copy once in a session named after the request, and records EXECUTED', async () => {
    const { requestId, executionArn } = await decided();
    const result = await executeApprovedAction(deps, { requestId, executionArn });
    const execution = {
      status: 'EXECUTED',
      sessionName: requestId.replace(':', '='),
      startedAt: NOW.toISOString(),
      finishedAt: NOW.toISOString(),
      awsRequestId: 'aws-request-1',
    };
    expect(result).toEqual({ requestId, execution });
    expect(executor.runs).toEqual([
      {
        action: {
          action: 's3:CopyObject',
          partition: 'aws',
          source: { bucket: 'invoices', key: '2025/06.csv' },
          destination: { bucket: 'exports', key: '06.csv' },
        },
        sessionName: execution.sessionName,
      },
    ]);
    expect((await harness.store.get(requestId))?.execution).toEqual(execution);
    const fact = (await harness.store.listAudit(requestId)).find((record) => record.kind === 'EXECUTED');
    expect(fact?.data).toEqual({
      status: 'EXECUTED',
      sessionName: execution.sessionName,
      awsRequestId: 'aws-request-1',
    });

    // Told in the decision event and bound into the receipt: the agent must not run it again.
    const event = await publishDecision(harness, { requestId, executionArn });
    expect(event.execution).toEqual({ status: 'EXECUTED', awsRequestId: 'aws-request-1' });
    const claims = await verifyReceipt(event.receipt, { keys: harness.signer.jwks, now: NOW });
    expect(claims.executor).toBe('countersign');
  });

  it('never runs twice: a retry answers the stored outcome, concurrent steps run it once', async () => {
    const { requestId, executionArn } = await decided();
    const first = await executeApprovedAction(deps, { requestId, executionArn });
    expect(await executeApprovedAction(deps, { requestId, executionArn })).toEqual(first);
    expect(executor.runs).toHaveLength(1);

    const other = await decided();
    let release: () => void = () => undefined;
    executor.gate = new Promise((resolve) => {
      release = resolve;
    });
    const steps = Array.from({ length: 10 }, () =>
      executeApprovedAction(deps, other).catch((error: unknown) => error),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    release();
    const results = await Promise.all(steps);
    expect(executor.runs).toHaveLength(2);
    // The one that claimed it answers the outcome; the others, finding it running, ask to be retried.
    const outcomes = results.filter((result) => !(result instanceof ConflictError));
    expect(outcomes).toHaveLength(1);
    expect(
      results
        .filter((result) => result instanceof ConflictError)
        .every((e) => e.code === 'EXECUTION_IN_PROGRESS'),
    ).toBe(true);
    expect(await executeApprovedAction(deps, other)).toEqual(outcomes[0]);
    expect(executor.runs).toHaveLength(2);
  });

  it('runs nothing for a denied request, or one Countersign does not execute', async () => {
    const denied = await decided({ ...EXECUTED, decision: 'ALLOW' }, COPY, 'POLICY_DENIED');
    expect(await executeApprovedAction(deps, denied)).toEqual({ requestId: denied.requestId });
    const agentRuns = await decided({ ...EXECUTED, executor: undefined }, { ...COPY, execute: undefined });
    expect(await executeApprovedAction(deps, agentRuns)).toEqual({ requestId: agentRuns.requestId });
    expect(executor.runs).toEqual([]);
  });

  it('refuses a step of another execution', async () => {
    const { requestId } = await decided();
    await expect(
      executeApprovedAction(deps, { requestId, executionArn: executionArnFor(requestId, 'run-2') }),
    ).rejects.toBeInstanceOf(ForeignExecutionError);
  });

  it('refuses to run an action that no longer hashes to what was approved', async () => {
    const { requestId, executionArn } = await decided();
    await harness.table.client.send(
      new UpdateCommand({
        TableName: harness.table.tableName,
        Key: TableKey.request(requestId),
        UpdateExpression: 'SET #parameters.#key = :key',
        ExpressionAttributeNames: { '#parameters': 'parameters', '#key': 'Key' },
        ExpressionAttributeValues: { ':key': 'somewhere-else.csv' },
      }),
    );
    const { execution } = await executeApprovedAction(deps, { requestId, executionArn });
    expect(execution).toMatchObject({
      status: 'EXECUTION_FAILED',
      error: expect.stringMatching(/no longer hashes to the approved actionHash/),
    });
    expect(executor.runs).toEqual([]);
  });

  it('attaches only policies of the allowed list, however many approved', async () => {
    const attach = (policyArn: string) => ({
      action: 'iam:AttachRolePolicy',
      resource: { arn: 'arn:aws:iam::123456789012:role/invoice-exporter' },
      parameters: { roleName: 'invoice-exporter', policyArn },
      execute: true,
    });
    const admin = await decided(EXECUTED, attach('arn:aws:iam::aws:policy/AdministratorAccess'));
    expect((await executeApprovedAction(deps, admin)).execution).toMatchObject({
      status: 'EXECUTION_FAILED',
      error:
        'arn:aws:iam::aws:policy/AdministratorAccess is not a policy the executor may attach (countersign:executorAllowedPolicyArns)',
    });
    expect(executor.runs).toEqual([]);
    const readOnly = await decided(EXECUTED, attach(READ_ONLY));
    expect((await executeApprovedAction(deps, readOnly)).execution?.status).toBe('EXECUTED');
    expect(executor.runs.map((run) => run.action)).toEqual([
      expect.objectContaining({ action: 'iam:AttachRolePolicy', policyArn: READ_ONLY }),
    ]);
  });

  it('records what AWS refused, and an unknown outcome as a failure that is never retried', async () => {
    executor.answer = { failure: { error: 'AccessDenied: no', awsRequestId: 'aws-request-2' } };
    const refused = await decided();
    expect((await executeApprovedAction(deps, refused)).execution).toMatchObject({
      status: 'EXECUTION_FAILED',
      error: 'AccessDenied: no',
      awsRequestId: 'aws-request-2',
    });
    executor.answer = new Error('socket hang up');
    const lost = await decided();
    expect((await executeApprovedAction(deps, lost)).execution).toMatchObject({
      status: 'EXECUTION_FAILED',
      error: 'the outcome is unknown, and the action is not run again: socket hang up',
    });
    executor.answer = { awsRequestId: 'aws-request-3' };
    await executeApprovedAction(deps, lost);
    expect(executor.runs).toHaveLength(2);
  });

  it('records a run interrupted before it knew its outcome as failed, without running it again', async () => {
    const { requestId, executionArn } = await decided();
    await harness.store.claimExecution(requestId, {
      status: 'STARTED',
      sessionName: 'invoice-bot=x',
      startedAt: NOW.toISOString(),
    });
    const running = await executeApprovedAction(deps, { requestId, executionArn }).catch((error) => error);
    expect(running).toBeInstanceOf(ConflictError);
    expect(running.code).toBe('EXECUTION_IN_PROGRESS');
    harness.clock.set(new Date(NOW.getTime() + 300_000));
    const { execution } = await executeApprovedAction(deps, { requestId, executionArn });
    expect(execution).toMatchObject({
      status: 'EXECUTION_FAILED',
      error: expect.stringMatching(/interrupted .* look for role session invoice-bot=x in CloudTrail/),
    });
    expect(executor.runs).toEqual([]);
  });
});

describe('the store’s execution claim', () => {
  it('claims only an approved request, once', async () => {
    const pending = await (async () => {
      harness.policy.answer = requireApproval({ executor: 'countersign' });
      const eventId = nextEventId();
      const requestId = `invoice-bot:${eventId}`;
      await evaluateRequest(harness, {
        requestId,
        event: anAgentEvent(eventId, COPY),
        executionArn: executionArnFor(requestId),
      });
      return requestId;
    })();
    const started = { status: 'STARTED' as const, sessionName: 'x=y', startedAt: NOW.toISOString() };
    expect((await harness.store.claimExecution(pending, started)).claimed).toBe(false);
    await expect(harness.store.claimExecution('invoice-bot:none', started)).rejects.toThrow(/does not exist/);
  });
});
