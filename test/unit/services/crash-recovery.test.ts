/**
 * Crashes between two writes, replayed by doing the first write alone (as the crashed process did)
 * and then what comes next in production: the voter's retry, a reviewer reading the request, the
 * reminder sweep, the workflow's wait timing out, a re-driven wait with a fresh task token.
 */
import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../../lambdas/domain/errors.ts';
import type { Principal, Vote } from '../../../lambdas/domain/schemas.ts';
import {
  castVote,
  recordDecision,
  requestApproval,
  sendReminders,
  settleVotes,
} from '../../../lambdas/services/index.ts';
import { NOW, requireApproval } from '../domain/fixtures.ts';
import { executionArnFor, submit, useHarness } from './harness.ts';

const harness = useHarness();

const alice: Principal = { id: 'alice', type: 'user', groups: ['security'] };
const bob: Principal = { id: 'bob', type: 'user', groups: ['security'] };

function step(requestId: string) {
  return { requestId, executionArn: executionArnFor(requestId) };
}

function ballot(voterId: string, vote: 'approve' | 'deny' = 'approve'): Vote {
  return {
    voterId,
    vote,
    channel: 'api',
    at: NOW.toISOString(),
    ...(vote === 'deny' ? { reason: 'no' } : {}),
  };
}

/** A request at its quorum of votes with no decision: the process died after the vote write. */
async function crashedAfterVotes(votes: Vote[] = [ballot('alice'), ballot('bob')]): Promise<string> {
  const requestId = await submit(harness, requireApproval({ quorum: votes.length }));
  await requestApproval(harness, { ...step(requestId), taskToken: 'token-1' });
  for (const vote of votes) await harness.store.addVote(requestId, vote, NOW);
  expect((await harness.store.get(requestId))?.status).toBe('PENDING');
  return requestId;
}

async function rejection(promise: Promise<unknown>): Promise<ConflictError> {
  try {
    await promise;
  } catch (error) {
    return error as ConflictError;
  }
  throw new Error('expected a rejection');
}

describe('a crash between the vote write and the decision write', () => {
  it("is decided by the voter's retry, exactly once, and the workflow resumed", async () => {
    const requestId = await crashedAfterVotes();
    const retry = await rejection(
      castVote(harness, { requestId, principal: bob, input: { vote: 'approve' }, channel: 'api' }),
    );
    expect(retry).toBeInstanceOf(ConflictError);
    const stored = await harness.store.get(requestId);
    expect(stored).toMatchObject({ status: 'APPROVED', decision: 'APPROVED', approvers: ['alice', 'bob'] });
    expect(harness.workflow.calls).toEqual([
      {
        kind: 'succeed',
        taskToken: 'token-1',
        output: { decision: 'APPROVED', approvers: ['alice', 'bob'] },
      },
    ]);
    const decided = (await harness.store.listAudit(requestId)).filter((record) => record.kind === 'DECIDED');
    expect(decided).toHaveLength(1);
  });

  it('is decided when anyone reads it for a vote, and a denial by its stored deny', async () => {
    const requestId = await crashedAfterVotes([ballot('alice', 'deny')]);
    const settled = await settleVotes(harness, (await harness.store.get(requestId))!);
    expect(settled).toMatchObject({
      decided: true,
      record: { status: 'DENIED', decision: 'DENIED', reason: 'no' },
      resume: { resumed: true },
    });
    // Settling again (a second reader) decides nothing more.
    expect(await settleVotes(harness, (await harness.store.get(requestId))!)).toMatchObject({
      decided: false,
      resume: { resumed: false },
    });
    expect(harness.workflow.calls.map((call) => call.kind)).toEqual(['fail']);
  });

  it('is decided by the reminder sweep', async () => {
    const requestId = await crashedAfterVotes();
    const run = await sendReminders(
      {
        ...harness,
        marks: { claim: async () => false, release: async () => undefined },
        notifier: { remind: async () => undefined },
      },
      60,
    );
    expect(run.settled).toBeGreaterThanOrEqual(1);
    expect(await harness.store.get(requestId)).toMatchObject({ status: 'APPROVED' });
    expect(harness.workflow.calls).toHaveLength(1);
  });

  it('is decided by its votes, not expired, when the wait times out', async () => {
    const requestId = await crashedAfterVotes();
    const recorded = await recordDecision(harness, { ...step(requestId), outcome: { decision: 'EXPIRED' } });
    expect(recorded.record).toMatchObject({ status: 'APPROVED', decision: 'APPROVED' });
  });
});

describe('a wait re-driven after a restart', () => {
  it('gets the decision through its fresh task token, even though the old one was sent', async () => {
    const requestId = await submit(harness, requireApproval());
    await requestApproval(harness, { ...step(requestId), taskToken: 'token-before-crash' });
    await castVote(harness, { requestId, principal: alice, input: { vote: 'approve' }, channel: 'api' });
    expect(harness.workflow.calls.map((call) => call.taskToken)).toEqual(['token-before-crash']);

    // The twin restarts; the execution's wait task runs again with a new token.
    const again = await requestApproval(harness, { ...step(requestId), taskToken: 'token-after-restart' });
    expect(again.resumed).toBe(true);
    expect(harness.workflow.calls.map((call) => call.taskToken)).toEqual([
      'token-before-crash',
      'token-after-restart',
    ]);
    // The same token is never sent twice.
    await requestApproval(harness, { ...step(requestId), taskToken: 'token-after-restart' });
    expect(harness.workflow.calls).toHaveLength(2);
    expect(await harness.store.getWaitState(requestId)).toMatchObject({
      taskToken: 'token-after-restart',
      resumed: true,
    });
  });

  it('a later vote resumes the fresh token when the re-driven wait could not', async () => {
    const requestId = await submit(harness, requireApproval({ quorum: 2 }));
    await requestApproval(harness, { ...step(requestId), taskToken: 'token-old' });
    await castVote(harness, { requestId, principal: alice, input: { vote: 'approve' }, channel: 'api' });
    await castVote(harness, { requestId, principal: bob, input: { vote: 'approve' }, channel: 'api' });
    harness.workflow.failure = new Error('states unavailable');
    await expect(requestApproval(harness, { ...step(requestId), taskToken: 'token-new' })).rejects.toThrow(
      'states unavailable',
    );
    harness.workflow.failure = undefined;
    await rejection(
      castVote(harness, {
        requestId,
        principal: { id: 'dave', type: 'user', groups: ['security'] },
        input: { vote: 'approve' },
        channel: 'api',
      }),
    );
    expect(harness.workflow.calls.map((call) => call.taskToken)).toEqual(['token-old', 'token-new']);
  });
});

/** The harness with a store whose process dies at markResumed: before its write, or just after it. */
function dyingAtResumedMark(when: 'before the write' | 'after the write') {
  const { store } = harness;
  const markResumed: typeof store.markResumed = async (requestId, taskToken, at) => {
    if (when === 'after the write') await store.markResumed(requestId, taskToken, at);
    throw new Error(`killed ${when} of the resumed mark`);
  };
  const dying = new Proxy(store, {
    get: (target, name) => {
      if (name === 'markResumed') return markResumed;
      const value = Reflect.get(target, name, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { ...harness, store: dying };
}

describe('a crash around the resumed mark', () => {
  it('after the mark is written: the decision was already sent, so the wait is not stranded', async () => {
    const requestId = await submit(harness, requireApproval());
    await requestApproval(harness, { ...step(requestId), taskToken: 'token-mark-then-die' });
    const voted = await castVote(dyingAtResumedMark('after the write'), {
      requestId,
      principal: alice,
      input: { vote: 'approve' },
      channel: 'api',
    });
    expect(voted.resumeError).toBeDefined();
    // Marking before sending would leave the mark with nothing sent: the wait would sit until it timed out.
    expect(harness.workflow.calls.map((call) => call.taskToken)).toEqual(['token-mark-then-die']);
    const settled = await settleVotes(harness, (await harness.store.get(requestId))!);
    expect(settled.resume).toEqual({ resumed: false });
    expect(harness.workflow.calls).toHaveLength(1);
  });

  it('after the send, before the mark: the next reader sends again, is refused, and marks', async () => {
    const requestId = await submit(harness, requireApproval());
    await requestApproval(harness, { ...step(requestId), taskToken: 'token-send-then-die' });
    await castVote(dyingAtResumedMark('before the write'), {
      requestId,
      principal: alice,
      input: { vote: 'approve' },
      channel: 'api',
    });
    expect(await harness.store.getWaitState(requestId)).toMatchObject({ resumed: false });
    const settled = await settleVotes(harness, (await harness.store.get(requestId))!);
    expect(settled.resume).toEqual({ resumed: false });
    expect(harness.workflow.calls).toHaveLength(1);
    expect(await harness.store.getWaitState(requestId)).toMatchObject({ resumed: true });
  });
});
