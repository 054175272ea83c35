/**
 * recordDecision after a failed evaluation: the workflow passes the event along, and a request the
 * evaluate step never stored is stored here, already DENIED, by the same builder Evaluate uses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actionHash } from '../../../lambdas/domain/action-hash.ts';
import { NotFoundError } from '../../../lambdas/domain/errors.ts';
import { denyBecause, evaluateRequest, recordDecision } from '../../../lambdas/services/index.ts';
import { NOW, requireApproval } from '../domain/fixtures.ts';
import {
  anAgentEvent,
  executionArnFor,
  type Harness,
  nextEventId,
  requestIdFor,
  startHarness,
} from './harness.ts';

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness();
});

afterAll(async () => {
  await harness.table.close();
});

const REASON = 'evaluation failed: ServiceUnavailable';

function afterFailedEvaluation(decision: 'DENIED' | 'AUTO_APPROVED' = 'DENIED') {
  const eventId = nextEventId();
  const requestId = requestIdFor(eventId);
  return {
    requestId,
    outcome: { decision, reason: REASON },
    event: anAgentEvent(eventId),
    executionArn: executionArnFor(requestId),
  };
}

async function notFound(promise: Promise<unknown>): Promise<NotFoundError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(NotFoundError);
  return error as NotFoundError;
}

describe('recordDecision when Evaluate failed before storing the request', () => {
  it('stores the request from the event, already DENIED, with its trail', async () => {
    const input = afterFailedEvaluation();

    const result = await recordDecision(harness, input);

    expect(result.applied).toBe(true);
    expect(result.record).toEqual({
      requestId: input.requestId,
      clientRequestId: input.event.id,
      status: 'DENIED',
      decision: 'DENIED',
      reason: REASON,
      agent: { id: 'invoice-bot', onBehalfOf: 'dave@example.com' },
      requesters: ['invoice-bot', 'dave@example.com'],
      action: 's3:CopyObject',
      resource: { arn: 'arn:aws:s3:::invoices/2025/06.csv' },
      parameters: { Bucket: 'exports', Key: '06.csv' },
      justification: 'monthly export for finance',
      actionHash: actionHash(input.event.detail),
      policy: denyBecause(REASON),
      votes: [],
      approvers: [],
      executionArn: input.executionArn,
      sourceEventId: input.event.id,
      createdAt: NOW.toISOString(),
      decidedAt: NOW.toISOString(),
    });
    await expect(harness.store.get(input.requestId)).resolves.toEqual(result.record);
    // No wait ever began: there is no token to resume, and nothing is marked.
    await expect(harness.store.getWaitState(input.requestId)).resolves.toEqual({
      notified: false,
      resumed: false,
    });
    const audit = await harness.store.listAudit(input.requestId);
    expect(audit.map((record) => [record.kind, record.actor])).toEqual([
      ['REQUESTED', 'invoice-bot'],
      ['EVALUATED', 'countersign'],
      ['DECIDED', 'countersign'],
    ]);
    expect(audit.find((record) => record.kind === 'EVALUATED')?.data).toMatchObject({
      decision: 'DENY',
      reason: REASON,
    });
  });

  it('builds the same request Evaluate would have stored, apart from the decision', async () => {
    const input = afterFailedEvaluation();
    const { record: recorded } = await recordDecision(harness, input);
    // The same event under another requestId of the agent's, so both can be stored side by side.
    const clientRequestId = `evaluated-${nextEventId()}`;
    const evaluatedId = requestIdFor(clientRequestId);
    harness.policy.answer = denyBecause(REASON);
    await evaluateRequest(harness, {
      requestId: evaluatedId,
      event: anAgentEvent(input.event.id, { requestId: clientRequestId }),
      executionArn: input.executionArn,
    });
    const evaluated = await harness.store.get(evaluatedId);
    harness.policy.answer = requireApproval();

    const { status, decision, reason, decidedAt, requesters, ...shared } = recorded;
    // Evaluate resolves requesters through the directory and looks up the data's classification;
    // the failure path records the requesters as named and never got as far as a classification.
    expect(evaluated).toEqual({
      ...shared,
      requestId: evaluatedId,
      clientRequestId,
      status: 'PENDING',
      requesters: expect.any(Array),
      classification: expect.objectContaining({ status: 'UNCLASSIFIED' }),
    });
  });

  it('answers a retry with the stored decision, applying nothing twice', async () => {
    const input = afterFailedEvaluation();
    const first = await recordDecision(harness, input);

    const retry = await recordDecision(harness, input);

    expect(retry).toEqual({
      applied: false,
      record: first.record,
      waitState: { notified: false, resumed: false },
    });
  });

  it('keeps failing (RecordFailed) when the event does not validate, storing nothing', async () => {
    const input = { ...afterFailedEvaluation(), event: { detail: { action: 'not an action' } } };

    const error = await notFound(recordDecision(harness, input));

    expect(error.message).toContain('its event is invalid');
    await expect(harness.store.get(input.requestId)).resolves.toBeUndefined();
  });

  it('never stores an approval for a request nobody evaluated', async () => {
    const input = afterFailedEvaluation('AUTO_APPROVED');

    await notFound(recordDecision(harness, input));

    await expect(harness.store.get(input.requestId)).resolves.toBeUndefined();
  });

  it('refuses an event that names another request', async () => {
    const input = afterFailedEvaluation();
    const other = { ...input.event, detail: { ...input.event.detail, requestId: 'someone-elses-request' } };

    await notFound(recordDecision(harness, { ...input, event: other }));

    await expect(harness.store.get(input.requestId)).resolves.toBeUndefined();
    await expect(harness.store.get('invoice-bot:someone-elses-request')).resolves.toBeUndefined();
  });

  it('still fails without the event, as for any other step', async () => {
    const { event: _event, ...input } = afterFailedEvaluation();

    await notFound(recordDecision(harness, input));

    await expect(harness.store.get(input.requestId)).resolves.toBeUndefined();
  });

  it('decides a request Evaluate did store like any other, keeping its policy', async () => {
    const input = afterFailedEvaluation();
    await evaluateRequest(harness, {
      requestId: input.requestId,
      event: input.event,
      executionArn: input.executionArn,
    });

    const result = await recordDecision(harness, input);

    expect(result).toMatchObject({
      applied: true,
      record: { status: 'DENIED', decision: 'DENIED', reason: REASON, policy: requireApproval() },
    });
  });

  it('decides a request stored between its read and its claim (a late write of the failed evaluation)', async () => {
    const input = afterFailedEvaluation();
    await evaluateRequest(harness, {
      requestId: input.requestId,
      event: input.event,
      executionArn: input.executionArn,
    });
    // The read misses the request, as it would just before the late write landed.
    const lateStore = new Proxy(harness.store, {
      get(target, property) {
        if (property === 'get') return async () => undefined;
        const value = Reflect.get(target, property);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });

    const result = await recordDecision({ ...harness, store: lateStore }, input);

    expect(result).toMatchObject({
      applied: true,
      record: { status: 'DENIED', decision: 'DENIED', reason: REASON, policy: requireApproval() },
    });
  });
});
