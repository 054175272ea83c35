/**
 * Each dependency of the vote path failing in turn, through a faulty-port wrapper around the real
 * adapters: the outcome is an error the caller sees (and retries), or a decision that stands and is
 * delivered on the next try; never an allow, never a lost vote, never a decision made twice.
 */
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../../lambdas/domain/schemas.ts';
import type { RequestStore, ReviewNotifier, Workflow } from '../../../lambdas/ports/index.ts';
import { castVote, evaluateRequest, requestApproval } from '../../../lambdas/services/index.ts';
import { requireApproval } from '../domain/fixtures.ts';
import { anAgentEvent, executionArnFor, nextEventId, requestIdFor, submit, useHarness } from './harness.ts';

const harness = useHarness();

/** Named errors as the AWS SDK and chat clients raise them. */
function awsError(name: string): Error {
  return Object.assign(new Error(`${name} (injected)`), { name, $metadata: { httpStatusCode: 400 } });
}

/**
 * The port with `method` failing the next `times` calls with `error`, then working: the shape of
 * throttling, a brief outage or a lost race.
 */
function faulty<T extends object>(port: T, method: keyof T, error: Error, times = 1): T {
  let left = times;
  return new Proxy(port, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== method || typeof value !== 'function') {
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return (...args: unknown[]) => {
        if (left > 0) {
          left -= 1;
          return Promise.reject(error);
        }
        return value.apply(target, args);
      };
    },
  });
}

const alice: Principal = { id: 'alice', type: 'user', groups: ['security'] };
const bob: Principal = { id: 'bob', type: 'user', groups: ['security'] };

async function pendingWithToken(quorum = 1): Promise<string> {
  const requestId = await submit(harness, requireApproval({ quorum }));
  await requestApproval(harness, {
    requestId,
    executionArn: executionArnFor(requestId),
    taskToken: 'token-f',
  });
  return requestId;
}

function voteWith(
  requestId: string,
  principal: Principal,
  deps: { store?: RequestStore; workflow?: Workflow; notifier?: ReviewNotifier } = {},
) {
  return castVote(
    { ...harness, ...deps },
    { requestId, principal, input: { vote: 'approve' }, channel: 'api' },
  );
}

describe('DynamoDB failing', () => {
  it('throttled vote write: the vote is refused with the error, nothing stored; the retry records it', async () => {
    const requestId = await pendingWithToken();
    const store = faulty(harness.store, 'addVote', awsError('ProvisionedThroughputExceededException'));
    await expect(voteWith(requestId, alice, { store })).rejects.toThrow(
      'ProvisionedThroughputExceededException',
    );
    expect((await harness.store.get(requestId))?.votes).toEqual([]);
    expect(await voteWith(requestId, alice)).toMatchObject({ decided: true, resumed: true });
  });

  it('throttled decision write after the vote: the vote stands, the retry decides once and resumes', async () => {
    const requestId = await pendingWithToken();
    const store = faulty(harness.store, 'decide', awsError('ProvisionedThroughputExceededException'));
    await expect(voteWith(requestId, alice, { store })).rejects.toThrow(
      'ProvisionedThroughputExceededException',
    );
    expect(await harness.store.get(requestId)).toMatchObject({
      status: 'PENDING',
      votes: [{ voterId: 'alice' }],
    });
    // The voter retries: the stored vote decides the request first, so the retry is told it is decided.
    await expect(voteWith(requestId, alice)).rejects.toMatchObject({ code: 'NOT_PENDING' });
    expect(await harness.store.get(requestId)).toMatchObject({ status: 'APPROVED', approvers: ['alice'] });
    expect(harness.workflow.calls).toHaveLength(1);
  });

  it('a lost conditional race (ConditionalCheckFailed) reports why, and the decision is made once', async () => {
    const requestId = await pendingWithToken(2);
    await Promise.allSettled([
      voteWith(requestId, alice),
      voteWith(requestId, bob),
      voteWith(requestId, alice),
    ]);
    const stored = await harness.store.get(requestId);
    expect(stored).toMatchObject({ status: 'APPROVED' });
    expect(stored?.votes.map((vote) => vote.voterId).sort()).toEqual(['alice', 'bob']);
    expect(harness.workflow.calls).toHaveLength(1);
  });
});

describe('Step Functions failing', () => {
  it.each(['TaskTimedOut', 'InvalidToken', 'ServiceUnavailable'])(
    'SendTaskSuccess answering %s: the decision stands, the failure is returned, the next vote resumes',
    async (name) => {
      const requestId = await pendingWithToken();
      const workflow = faulty(harness.workflow, 'succeed', awsError(name));
      const result = await voteWith(requestId, alice, { workflow });
      expect(result).toMatchObject({ decided: true, resumed: false, resumeError: { name } });
      expect(await harness.store.getWaitState(requestId)).toMatchObject({ resumed: false });
      await expect(voteWith(requestId, bob)).rejects.toMatchObject({ code: 'NOT_PENDING' });
      expect(harness.workflow.calls).toEqual([
        { kind: 'succeed', taskToken: 'token-f', output: { decision: 'APPROVED', approvers: ['alice'] } },
      ]);
    },
  );
});

describe('chat failing', () => {
  it('Slack answering 429 (rate limited) while updating the review: the vote and decision stand', async () => {
    const requestId = await pendingWithToken();
    const notifier = faulty(
      harness.notifier,
      'updateReview',
      Object.assign(new Error('rate limited'), { retryAfter: 3 }),
    );
    const result = await voteWith(requestId, alice, { notifier });
    expect(result).toMatchObject({ decided: true, resumed: true, updateError: { message: 'rate limited' } });
  });
});

describe('the policy engine failing', () => {
  it('throwing: the request is stored DENIED, never allowed', async () => {
    const eventId = nextEventId();
    const requestId = requestIdFor(eventId);
    harness.policy.answer = () => {
      throw new Error('cedar exploded');
    };
    const result = await evaluateRequest(harness, {
      requestId,
      event: anAgentEvent(eventId),
      executionArn: executionArnFor(requestId),
    });
    harness.policy.answer = requireApproval();
    expect(result.policy).toMatchObject({
      decision: 'DENY',
      reason: 'policy evaluation failed: cedar exploded',
    });
    expect((await harness.store.get(requestId))?.policy.decision).toBe('DENY');
  });
});
