/** Whole approval flows through the services, in the order the state machine calls them. */
import { describe, expect, it, vi } from 'vitest';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  StepUpRequiredError,
  ValidationError,
} from '../../../lambdas/domain/errors.ts';
import { verifyReceipt } from '../../../lambdas/domain/receipt.ts';
import type { PolicyDecision, Principal } from '../../../lambdas/domain/schemas.ts';
import {
  castVote,
  evaluateRequest,
  publishDecision,
  recordDecision,
  requestApproval,
} from '../../../lambdas/services/index.ts';
import { NOW, requireApproval } from '../domain/fixtures.ts';
import {
  anAgentEvent,
  COPY,
  EXECUTED,
  executionArnFor,
  nextEventId,
  requestIdFor,
  submit,
  useHarness,
} from './harness.ts';

const harness = useHarness();

const alice: Principal = { id: 'alice', type: 'user', groups: ['security'] };
const bob: Principal = { id: 'bob', type: 'user', groups: ['security'] };

/** What the state machine passes every step: the request and the execution that owns it. */
function step(requestId: string) {
  return { requestId, executionArn: executionArnFor(requestId) };
}

function vote(requestId: string, principal: Principal, input: unknown = { vote: 'approve' }) {
  return castVote(harness, { requestId, principal, input, channel: 'slack' });
}

/** The refused votes in a request's trail: who, under which key, and what the trail says. */
async function refusals(requestId: string) {
  return (await harness.store.listAudit(requestId))
    .filter((record) => record.kind === 'REFUSED')
    .map(({ actor, key, data }) => ({ actor, key, data }));
}

async function rejection(promise: Promise<unknown>): Promise<ConflictError | ForbiddenError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toSatisfy((value) => value instanceof ConflictError || value instanceof ForbiddenError);
  return error as ConflictError | ForbiddenError;
}

/** The trail of a request policy decided, numbered: intake, then the decision, its receipt, its event. */
const POLICY_DECISION_TRAIL = [
  ['REQUESTED', 1],
  ['EVALUATED', 2],
  ['DECIDED', 3],
  ['SIGNED', 4],
  ['PUBLISHED', 5],
];

describe('auto-allow', () => {
  it('records AUTO_APPROVED with the policy reason and publishes it', async () => {
    const requestId = await submit(
      harness,
      requireApproval({ decision: 'ALLOW', groups: [], quorum: 0, reason: 'read-only' }),
    );
    const recorded = await recordDecision(harness, {
      ...step(requestId),
      outcome: { decision: 'AUTO_APPROVED' },
    });
    expect(recorded.applied).toBe(true);
    expect(recorded.record).toMatchObject({
      status: 'APPROVED',
      decision: 'AUTO_APPROVED',
      reason: 'read-only',
    });
    const detail = await publishDecision(harness, step(requestId));
    expect(detail).toEqual({
      requestId,
      decision: 'AUTO_APPROVED',
      actionHash: recorded.record.actionHash,
      approvers: [],
      reason: 'read-only',
      receipt: expect.any(String),
    });
    expect(harness.publisher.published).toEqual([detail]);
    // The receipt vouches for exactly this decision, and is kept on the request.
    await expect(
      verifyReceipt(detail.receipt, { keys: harness.signer.jwks, actionHash: detail.actionHash, now: NOW }),
    ).resolves.toMatchObject({ requestId, agentId: 'invoice-bot', decision: 'AUTO_APPROVED', approvers: [] });
    expect((await harness.store.get(requestId))?.receipt).toBe(detail.receipt);
    expect((await harness.store.listAudit(requestId)).map((record) => record.kind).sort()).toEqual([
      'DECIDED',
      'EVALUATED',
      'PUBLISHED',
      'REQUESTED',
      'SIGNED',
    ]);
  });

  it('publishes the request as the record step left it without reading it again, and the same as after a read', async () => {
    const allow = requireApproval({ decision: 'ALLOW', groups: [], quorum: 0, reason: 'read-only' });
    const [given, read] = [await submit(harness, allow), await submit(harness, allow)];
    const outcome = { decision: 'AUTO_APPROVED' } as const;
    const { record } = await recordDecision(harness, { ...step(given), outcome });
    await recordDecision(harness, { ...step(read), outcome });
    const reads = vi.spyOn(harness.store, 'get');
    let fromRecord: Awaited<ReturnType<typeof publishDecision>>;
    try {
      fromRecord = await publishDecision(harness, { ...step(given), recorded: record });
      expect(reads).not.toHaveBeenCalled();
    } finally {
      reads.mockRestore();
    }
    const fromRead = await publishDecision(harness, step(read));
    const shape = ({ requestId, receipt, actionHash, ...rest }: typeof fromRead) => rest;
    expect(shape(fromRecord)).toEqual(shape(fromRead));
    expect((await harness.store.get(given))?.receipt).toBe(fromRecord.receipt);
    // Another request's record is no stand-in: the step reads the one it names.
    await expect(publishDecision(harness, { ...step(read), recorded: record })).resolves.toEqual(fromRead);
  });

  it('stores a decision it makes with its receipt in one write, numbers DECIDED, SIGNED and PUBLISHED once it stands, and publishes only the event and PUBLISHED', async () => {
    const requestId = await submit(
      harness,
      requireApproval({ decision: 'ALLOW', groups: [], quorum: 0, reason: 'read-only' }),
    );
    const spies = (['appendAudits', 'attachReceipt', 'hasAudit'] as const).map((name) =>
      vi.spyOn(harness.store, name),
    );
    const [appendAudits, attachReceipt, hasAudit] = spies;
    const signedBefore = harness.signer.signed.length;
    try {
      const recorded = await recordDecision(harness, {
        ...step(requestId),
        outcome: { decision: 'AUTO_APPROVED' },
      });
      // Signed before it was stored, and stored with the decision: no write of its own.
      expect(recorded.record.receipt).toEqual(expect.any(String));
      expect(recorded.reserved?.map(({ key }) => key)).toEqual(['PUBLISHED']);
      // DECIDED and SIGNED written under numbers taken in one write with PUBLISHED's.
      expect(appendAudits).toHaveBeenCalledTimes(1);
      const detail = await publishDecision(harness, {
        ...step(requestId),
        recorded: recorded.record,
        reserved: recorded.reserved,
      });
      expect(detail.receipt).toBe(recorded.record.receipt);
      // Decided by this call: nothing can have been published before, so nothing is asked.
      expect(appendAudits).toHaveBeenCalledTimes(1);
      for (const spy of [attachReceipt, hasAudit]) expect(spy).not.toHaveBeenCalled();
      expect(harness.signer.signed.length - signedBefore).toBe(1);
      expect(harness.publisher.published).toEqual([detail]);
    } finally {
      for (const spy of spies) spy?.mockRestore();
    }
    const trail = await harness.store.listAudit(requestId);
    expect(trail.map(({ key, seq }) => [key, seq])).toEqual(POLICY_DECISION_TRAIL);
    // Decided by someone else first (a vote, a retry): nothing is reserved, publishing numbers its own.
    const again = await recordDecision(harness, {
      ...step(requestId),
      outcome: { decision: 'AUTO_APPROVED' },
    });
    expect(again).toMatchObject({ applied: false });
    expect(again.reserved).toBeUndefined();
  });

  it('keeps the receipt of the decision that stood when two record steps race, and trails it once', async () => {
    const requestId = await submit(
      harness,
      requireApproval({ decision: 'ALLOW', groups: [], quorum: 0, reason: 'read-only' }),
    );
    const outcome = { decision: 'AUTO_APPROVED' } as const;
    const results = await Promise.all([
      recordDecision(harness, { ...step(requestId), outcome }),
      recordDecision(harness, { ...step(requestId), outcome }),
    ]);
    expect(results.filter(({ applied }) => applied)).toHaveLength(1);
    const stored = await harness.store.get(requestId);
    for (const { record } of results) expect(record.receipt).toBe(stored?.receipt);
    const published = await Promise.all(results.map(() => publishDecision(harness, step(requestId))));
    expect(published.map(({ receipt }) => receipt)).toEqual([stored?.receipt, stored?.receipt]);
    const trail = await harness.store.listAudit(requestId);
    expect(trail.map(({ key, seq }) => [key, seq])).toEqual(POLICY_DECISION_TRAIL);
  });

  it('refuses AUTO_APPROVED for a request policy did not allow', async () => {
    const requestId = await submit(harness);
    const error = await rejection(
      recordDecision(harness, { ...step(requestId), outcome: { decision: 'AUTO_APPROVED' } }),
    );
    expect(error.code).toBe('NOT_ALLOWED_BY_POLICY');
    expect((await harness.store.get(requestId))?.status).toBe('PENDING');
  });
});

describe('break-glass', () => {
  it('stores a permitted break-glass request as BREAK_GLASS at once, records and publishes it with a receipt', async () => {
    harness.policy.answer = requireApproval({ groups: ['platform'], breakGlassAllowed: true });
    const eventId = nextEventId();
    const requestId = requestIdFor(eventId);
    const breakGlass = { reason: 'production is down', incident: 'INC-42' };
    const evaluated = await evaluateRequest(harness, {
      requestId,
      event: anAgentEvent(eventId, { breakGlass }),
      executionArn: executionArnFor(requestId),
    });
    expect(evaluated.policy).toMatchObject({ decision: 'BREAK_GLASS', groups: ['platform'] });
    const stored = await harness.store.get(requestId);
    expect(stored).toMatchObject({ status: 'PENDING', breakGlass });
    expect(stored).not.toHaveProperty('expiresAt');
    const recorded = await recordDecision(harness, {
      ...step(requestId),
      outcome: { decision: 'BREAK_GLASS' },
    });
    expect(recorded.record).toMatchObject({ status: 'APPROVED', decision: 'BREAK_GLASS', approvers: [] });
    expect(recorded.record.reason).toMatch(/^Break-glass: allowed to run at once/);
    const detail = await publishDecision(harness, step(requestId));
    expect(detail).toMatchObject({ requestId, decision: 'BREAK_GLASS', receipt: expect.any(String) });
    expect(harness.signer.signed.at(-1)).toMatchObject({ requestId, decision: 'BREAK_GLASS' });
  });

  it('denies break-glass where no policy permits it, and refuses a BREAK_GLASS outcome policy did not give', async () => {
    harness.policy.answer = requireApproval({ groups: ['platform'] });
    const eventId = nextEventId();
    const requestId = requestIdFor(eventId);
    const evaluated = await evaluateRequest(harness, {
      requestId,
      event: anAgentEvent(eventId, { breakGlass: { reason: 'in a hurry' } }),
      executionArn: executionArnFor(requestId),
    });
    expect(evaluated.policy).toMatchObject({ decision: 'DENY' });
    expect(evaluated.policy.reason).toMatch(/^break-glass is not permitted for s3:CopyObject on /);
    const ordinary = await submit(harness);
    const error = await rejection(
      recordDecision(harness, { ...step(ordinary), outcome: { decision: 'BREAK_GLASS' } }),
    );
    expect(error.code).toBe('BREAK_GLASS_NOT_ALLOWED');
  });
});

describe('approval with a quorum of two', () => {
  it('asks reviewers once, decides on the second distinct approver, resumes once, records and publishes', async () => {
    const requestId = await submit(harness, requireApproval({ quorum: 2 }));
    expect(await requestApproval(harness, { ...step(requestId), taskToken: 'token-1' })).toEqual({
      requestId,
      notified: true,
      resumed: false,
    });
    // A retried wait task gets a new token; reviewers are not asked twice.
    expect(await requestApproval(harness, { ...step(requestId), taskToken: 'token-2' })).toEqual({
      requestId,
      notified: false,
      resumed: false,
    });
    expect(harness.notifier.requested).toHaveLength(1);

    const first = await vote(requestId, alice);
    expect(first).toMatchObject({ decided: false, resumed: false, record: { status: 'PENDING' } });
    expect(harness.workflow.calls).toEqual([]);

    const second = await vote(requestId, bob, { vote: 'approve', reason: 'checked the ticket' });
    expect(second).toMatchObject({
      decided: true,
      resumed: true,
      record: { status: 'APPROVED', decision: 'APPROVED', approvers: ['alice', 'bob'] },
    });
    expect(harness.workflow.calls).toEqual([
      {
        kind: 'succeed',
        taskToken: 'token-2',
        output: { decision: 'APPROVED', approvers: ['alice', 'bob'] },
      },
    ]);
    expect(harness.notifier.updated.map((record) => record.status)).toEqual(['PENDING', 'APPROVED']);
    expect(await harness.store.getWaitState(requestId)).toEqual({
      taskToken: 'token-2',
      notified: true,
      resumed: true,
    });

    // The workflow's record step brings the decision back; the stored one stands.
    const marks = vi.spyOn(harness.store, 'markResumed');
    let recorded: Awaited<ReturnType<typeof recordDecision>>;
    try {
      recorded = await recordDecision(harness, { ...step(requestId), outcome: { decision: 'APPROVED' } });
      // The vote resumed the workflow and marked it: read with the request, the mark is not written again.
      expect(marks).not.toHaveBeenCalled();
    } finally {
      marks.mockRestore();
    }
    expect(recorded).toEqual({
      applied: false,
      record: second.record,
      waitState: { taskToken: 'token-2', notified: true, resumed: true },
    });
    expect(await publishDecision(harness, step(requestId))).toMatchObject({
      decision: 'APPROVED',
      approvers: ['alice', 'bob'],
    });

    const audit = await harness.store.listAudit(requestId);
    expect(audit.map((record) => record.key).sort()).toEqual([
      'DECIDED',
      'EVALUATED',
      'NOTIFIED',
      'PUBLISHED',
      'REQUESTED',
      'SIGNED',
      'VOTED#alice',
      'VOTED#bob',
    ]);
    // Numbered in the order the facts were established, without a gap.
    expect(audit.map((record) => record.seq).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(audit.find((record) => record.key === 'DECIDED')).toMatchObject({ actor: 'bob' });
    expect(audit.find((record) => record.key === 'VOTED#bob')?.data).toEqual({
      vote: 'approve',
      reason: 'checked the ticket',
      channel: 'slack',
    });
  });

  it('resumes and records with the wait state the decision write read, not a read of its own', async () => {
    const approved = await submit(harness, requireApproval({ quorum: 1 }));
    await requestApproval(harness, { ...step(approved), taskToken: 'token-vote' });
    const expired = await submit(harness, requireApproval({ quorum: 1 }));
    await requestApproval(harness, { ...step(expired), taskToken: 'token-wait' });
    const early = await submit(harness, requireApproval({ quorum: 1 }));
    const waitStateReads = vi.spyOn(harness.store, 'getWaitState');
    try {
      expect(await vote(approved, alice)).toMatchObject({ decided: true, resumed: true });
      expect(
        await recordDecision(harness, { ...step(expired), outcome: { decision: 'EXPIRED' } }),
      ).toMatchObject({ applied: true, record: { status: 'EXPIRED' } });
      // Decided before its wait began: the wait task resumes with what its token's save read.
      expect(await vote(early, bob)).toMatchObject({ decided: true, resumed: false });
      expect(await requestApproval(harness, { ...step(early), taskToken: 'token-early' })).toEqual({
        requestId: early,
        notified: false,
        resumed: true,
      });
      expect(waitStateReads).not.toHaveBeenCalled();
    } finally {
      waitStateReads.mockRestore();
    }
    expect(harness.workflow.calls).toEqual([
      { kind: 'succeed', taskToken: 'token-vote', output: { decision: 'APPROVED', approvers: ['alice'] } },
      { kind: 'succeed', taskToken: 'token-early', output: { decision: 'APPROVED', approvers: ['bob'] } },
    ]);
    // The record step marked the wait it ended: a late vote finds nothing to resume.
    expect(await harness.store.getWaitState(expired)).toMatchObject({
      taskToken: 'token-wait',
      resumed: true,
    });
  });

  it('refuses APPROVED from the workflow while votes have not reached the quorum', async () => {
    const requestId = await submit(harness, requireApproval({ quorum: 2 }));
    await vote(requestId, alice);
    const error = await rejection(
      recordDecision(harness, { ...step(requestId), outcome: { decision: 'APPROVED' } }),
    );
    expect(error.code).toBe('NOT_APPROVED_BY_VOTES');
  });
});

describe('denial', () => {
  it('ends the request on one eligible deny and fails the workflow with the reason and the voter', async () => {
    const requestId = await submit(harness, requireApproval({ quorum: 2 }));
    await requestApproval(harness, { ...step(requestId), taskToken: 'token-deny' });
    await vote(requestId, alice);
    const result = await vote(requestId, bob, { vote: 'deny', reason: 'wrong bucket' });
    expect(result).toMatchObject({
      decided: true,
      resumed: true,
      record: { status: 'DENIED', reason: 'wrong bucket' },
    });
    expect(harness.workflow.calls).toEqual([
      {
        kind: 'fail',
        taskToken: 'token-deny',
        error: 'Countersign.Denied',
        cause: JSON.stringify({ decision: 'DENIED', reason: 'wrong bucket', voter: 'bob' }),
      },
    ]);
    expect(await publishDecision(harness, step(requestId))).toMatchObject({
      decision: 'DENIED',
      reason: 'wrong bucket',
    });
  });

  it('requires a reason to deny', async () => {
    const requestId = await submit(harness);
    await expect(vote(requestId, alice, { vote: 'deny' })).rejects.toBeInstanceOf(ValidationError);
    expect((await harness.store.get(requestId))?.votes).toEqual([]);
  });

  it('records a policy denial with the policy’s reason', async () => {
    const requestId = await submit(
      harness,
      requireApproval({ decision: 'DENY', reason: 'forbidden for agents' }),
    );
    const { record } = await recordDecision(harness, {
      ...step(requestId),
      outcome: { decision: 'POLICY_DENIED' },
    });
    expect(record).toMatchObject({
      status: 'DENIED',
      decision: 'POLICY_DENIED',
      reason: 'forbidden for agents',
    });
  });
});

describe('receipts', () => {
  it('signs one receipt per decision: a retried publish sends the stored one, signed once', async () => {
    const requestId = await submit(harness, requireApproval({ approvalValidForSeconds: 900 }));
    await vote(requestId, alice);
    await recordDecision(harness, { ...step(requestId), outcome: { decision: 'APPROVED' } });
    const before = harness.signer.signed.length;
    const first = await publishDecision(harness, step(requestId));
    const again = await publishDecision(harness, step(requestId));
    expect(again.receipt).toBe(first.receipt);
    expect(harness.signer.signed.length - before).toBe(1);
    const stored = (await harness.store.get(requestId))!;
    const claims = await verifyReceipt(first.receipt, {
      keys: harness.signer.jwks,
      now: new Date(stored.decidedAt!),
    });
    expect(claims).toMatchObject({ decision: 'APPROVED', approvers: ['alice'] });
    expect(claims.exp - claims.iat).toBe(900);
  });

  it('keeps the first receipt when two publishers race, and never receipts an undecided request', async () => {
    const requestId = await submit(harness, requireApproval({ decision: 'DENY', reason: 'no' }));
    await recordDecision(harness, { ...step(requestId), outcome: { decision: 'POLICY_DENIED' } });
    const [one, two] = await Promise.all([
      publishDecision(harness, step(requestId)),
      publishDecision(harness, step(requestId)),
    ]);
    expect(one.receipt).toBe(two.receipt);
    expect((await harness.store.get(requestId))?.receipt).toBe(one.receipt);
    const pending = await submit(harness);
    await expect(harness.store.attachReceipt(pending, 'x.y.z')).rejects.toMatchObject({
      code: 'NOT_DECIDED',
    });
    expect((await harness.store.get(pending))?.receipt).toBeUndefined();
  });

  it('decides nothing when the receipt of a decision it makes cannot be signed (the step fails and is retried)', async () => {
    const requestId = await submit(harness, requireApproval({ decision: 'DENY', reason: 'no' }));
    const outcome = { decision: 'POLICY_DENIED' } as const;
    harness.signer.failure = new Error('KMS unavailable');
    try {
      await expect(recordDecision(harness, { ...step(requestId), outcome })).rejects.toThrow(
        'KMS unavailable',
      );
    } finally {
      harness.signer.failure = undefined;
    }
    expect(await harness.store.get(requestId)).toMatchObject({ status: 'PENDING' });
    expect(harness.publisher.published).toEqual([]);
    await expect(recordDecision(harness, { ...step(requestId), outcome })).resolves.toMatchObject({
      applied: true,
      record: { status: 'DENIED', receipt: expect.any(String) },
    });
  });

  it('publishes nothing when the receipt of a decision by votes cannot be signed (the step fails and is retried)', async () => {
    const requestId = await submit(harness);
    await vote(requestId, alice);
    await recordDecision(harness, { ...step(requestId), outcome: { decision: 'APPROVED' } });
    harness.signer.failure = new Error('KMS unavailable');
    try {
      await expect(publishDecision(harness, step(requestId))).rejects.toThrow('KMS unavailable');
    } finally {
      harness.signer.failure = undefined;
    }
    expect(harness.publisher.published).toEqual([]);
    expect((await harness.store.get(requestId))?.receipt).toBeUndefined();
  });

  it('tells the agent once: a publish asked again after PUBLISHED answers the same event without putting it', async () => {
    const requestId = await submit(harness);
    await vote(requestId, alice);
    await recordDecision(harness, { ...step(requestId), outcome: { decision: 'APPROVED' } });
    const first = await publishDecision(harness, step(requestId));
    const again = await publishDecision(harness, step(requestId));
    expect(again).toEqual(first);
    expect(harness.publisher.published).toEqual([first]);
    expect(
      (await harness.store.listAudit(requestId)).filter(({ kind }) => kind === 'PUBLISHED'),
    ).toHaveLength(1);
  });
});

describe('what the record step signs, and when it numbers', () => {
  /** A request for `action` (the harness's export otherwise) under `policy`. */
  async function submitFor(policy: PolicyDecision, detail: Record<string, unknown>): Promise<string> {
    harness.policy.answer = policy;
    const id = nextEventId();
    const requestId = requestIdFor(id);
    await evaluateRequest(harness, {
      requestId,
      event: anAgentEvent(id, detail),
      executionArn: executionArnFor(requestId),
    });
    return requestId;
  }

  /** A trail decided by alice's vote, in number order: the vote before the decision it made. */
  const VOTE_THEN_ITS_DECISION = ['REQUESTED', 'EVALUATED', 'VOTED#alice', 'DECIDED', 'SIGNED', 'PUBLISHED'];

  /** The trail's keys in number order; the numbers must run 1, 2, 3 … without a gap. */
  async function numberedTrail(requestId: string): Promise<string[]> {
    const trail = (await harness.store.listAudit(requestId)).sort((a, b) => a.seq - b.seq);
    expect(trail.map(({ seq }) => seq)).toEqual(trail.map((_, index) => index + 1));
    return trail.map(({ key }) => key);
  }

  it('signs no approval of a watched action before it is stored: publishing stores the approval calls are matched against first', async () => {
    const attach = {
      action: 'iam:AttachRolePolicy',
      resource: { arn: 'arn:aws:iam::123456789012:role/invoice-exporter' },
      parameters: { roleName: 'invoice-exporter', policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' },
    };
    const requestId = await submitFor(
      requireApproval({ decision: 'ALLOW', groups: [], quorum: 0, reason: 'allowed' }),
      attach,
    );
    const recorded = await recordDecision(harness, {
      ...step(requestId),
      outcome: { decision: 'AUTO_APPROVED' },
    });
    expect(recorded).toMatchObject({ applied: true, record: { status: 'APPROVED' } });
    expect(recorded.record.receipt).toBeUndefined();
    const putGrant = vi.spyOn(harness.grants, 'putGrant');
    const attachReceipt = vi.spyOn(harness.store, 'attachReceipt');
    try {
      await publishDecision(harness, {
        ...step(requestId),
        recorded: recorded.record,
        reserved: recorded.reserved,
      });
      expect(putGrant).toHaveBeenCalledTimes(1);
      expect(attachReceipt).toHaveBeenCalledTimes(1);
      expect(putGrant.mock.invocationCallOrder[0]).toBeLessThan(attachReceipt.mock.invocationCallOrder[0]!);
    } finally {
      putGrant.mockRestore();
      attachReceipt.mockRestore();
    }
  });

  it('signs no approval Countersign runs before it is stored, and numbers nothing for publishing: the run comes first', async () => {
    const requestId = await submitFor(EXECUTED, COPY);
    const recorded = await recordDecision(harness, {
      ...step(requestId),
      outcome: { decision: 'AUTO_APPROVED' },
    });
    expect(recorded).toMatchObject({ applied: true, record: { status: 'APPROVED' } });
    expect(recorded.record.receipt).toBeUndefined();
    expect(recorded.reserved).toBeUndefined();
  });

  it('numbers no fact for a decision whose write failed: a vote that decides later is trailed before its decision', async () => {
    const requestId = await submit(harness);
    const decide = vi.spyOn(harness.store, 'decide').mockRejectedValueOnce(new Error('throttled'));
    try {
      await expect(
        recordDecision(harness, { ...step(requestId), outcome: { decision: 'EXPIRED' } }),
      ).rejects.toThrow('throttled');
    } finally {
      decide.mockRestore();
    }
    await vote(requestId, alice);
    await publishDecision(harness, step(requestId));
    expect(await numberedTrail(requestId)).toEqual(VOTE_THEN_ITS_DECISION);
  });

  it('numbers no fact for a decision that lost to a vote: the vote and its decision come first', async () => {
    const requestId = await submit(harness);
    const store = harness.store;
    const decide = store.decide.bind(store);
    const late = vi.spyOn(store, 'decide').mockImplementationOnce(async (id, input) => {
      await vote(requestId, alice);
      return decide(id, input);
    });
    try {
      const recorded = await recordDecision(harness, {
        ...step(requestId),
        outcome: { decision: 'EXPIRED' },
      });
      expect(recorded).toMatchObject({ applied: false, record: { decision: 'APPROVED' } });
    } finally {
      late.mockRestore();
    }
    await publishDecision(harness, step(requestId));
    expect(await numberedTrail(requestId)).toEqual(VOTE_THEN_ITS_DECISION);
  });
});

describe('step-up', () => {
  it('records an approval of a step-up request only with the resource name, on every channel', async () => {
    const requestId = await submit(harness, requireApproval({ stepUp: true }));
    // The resource is arn:aws:s3:::invoices/2025/06.csv, so the name to type is 06.csv.
    for (const input of [
      { vote: 'approve' },
      { vote: 'approve', stepUpConfirmation: 'invoices' },
      { vote: 'approve', stepUpConfirmation: '06.CSV' },
    ]) {
      const error = await vote(requestId, alice, input).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(StepUpRequiredError);
      expect((error as StepUpRequiredError).code).toBe('STEP_UP_REQUIRED');
    }
    expect((await harness.store.get(requestId))?.votes).toEqual([]);
    // Refused three times for the same reason: one audited refusal.
    expect(await refusals(requestId)).toEqual([
      {
        actor: 'alice',
        key: 'REFUSED#alice#STEP_UP_REQUIRED',
        data: expect.objectContaining({ channel: 'slack', code: 'STEP_UP_REQUIRED', vote: 'approve' }),
      },
    ]);
    const approved = await vote(requestId, alice, { vote: 'approve', stepUpConfirmation: ' 06.csv ' });
    expect(approved.record).toMatchObject({ status: 'APPROVED', approvers: ['alice'] });
  });

  it('lets a deny through without the confirmation', async () => {
    const requestId = await submit(harness, requireApproval({ stepUp: true }));
    const denied = await vote(requestId, alice, { vote: 'deny', reason: 'not now' });
    expect(denied.record).toMatchObject({ status: 'DENIED' });
  });
});

describe('owners never approve their agents', () => {
  it('refuses the owner however the directory writes them (email, other case)', async () => {
    harness.directory.agents['mail-bot'] = { id: 'mail-bot', owner: 'Olga@EXAMPLE.com' };
    harness.policy.answer = requireApproval();
    const eventId = nextEventId();
    const requestId = requestIdFor(eventId, 'mail-bot');
    await evaluateRequest(harness, {
      requestId,
      event: anAgentEvent(eventId, { agent: { id: 'mail-bot' } }),
      executionArn: executionArnFor(requestId),
    });
    const olga: Principal = { id: 'olga', type: 'user', groups: ['security'] };
    const error = await rejection(vote(requestId, olga));
    expect(error.code).toBe('REQUESTER');
    expect((await harness.store.get(requestId))?.votes).toEqual([]);
  });
});

describe('ownership', () => {
  it('never lets a failing duplicate execution decide the request another execution waits on', async () => {
    const requestId = await submit(harness);
    const error = await rejection(
      recordDecision(harness, {
        requestId,
        outcome: { decision: 'DENIED', reason: 'evaluation failed: Lambda.Unknown' },
        executionArn: executionArnFor(requestId, 'run-2'),
      }),
    );
    expect(error.code).toBe('FOREIGN_EXECUTION');
    expect(await harness.store.get(requestId)).toMatchObject({ status: 'PENDING' });
    const { applied } = await recordDecision(harness, {
      requestId,
      outcome: { decision: 'DENIED', reason: 'approval step failed' },
      executionArn: executionArnFor(requestId),
    });
    expect(applied).toBe(true);
  });

  it('never stores a task token for an execution that does not own the request', async () => {
    const requestId = await submit(harness);
    await requestApproval(harness, { ...step(requestId), taskToken: 'token-owner' });
    // Someone invoking the wait step directly, pointing the request's decision at their own wait.
    const error = await rejection(
      requestApproval(harness, {
        requestId,
        taskToken: 'token-of-another-execution',
        executionArn: executionArnFor(requestId, 'forged'),
      }),
    );
    expect(error.code).toBe('FOREIGN_EXECUTION');
    expect((await harness.store.getWaitState(requestId)).taskToken).toBe('token-owner');
    expect(harness.notifier.requested).toHaveLength(1);
  });

  it('never publishes for an execution that does not own the request', async () => {
    const requestId = await submit(
      harness,
      requireApproval({ decision: 'DENY', reason: 'forbidden for agents' }),
    );
    await recordDecision(harness, { ...step(requestId), outcome: { decision: 'POLICY_DENIED' } });
    const error = await rejection(
      publishDecision(harness, { requestId, executionArn: executionArnFor(requestId, 'forged') }),
    );
    expect(error.code).toBe('FOREIGN_EXECUTION');
    expect(harness.publisher.published).toEqual([]);
  });
});

describe('expiry', () => {
  it('refuses late votes and records EXPIRED when the wait times out', async () => {
    const requestId = await submit(harness, requireApproval({ timeoutSeconds: 60 }));
    await requestApproval(harness, { ...step(requestId), taskToken: 'token-expiry' });
    harness.clock.set(new Date(NOW.getTime() + 60_000));
    expect((await rejection(vote(requestId, alice))).code).toBe('EXPIRED');
    expect(harness.workflow.calls).toEqual([]);
    const { applied, record } = await recordDecision(harness, {
      ...step(requestId),
      outcome: { decision: 'EXPIRED' },
    });
    expect(applied).toBe(true);
    expect(record).toMatchObject({
      status: 'EXPIRED',
      reason: 'no decision was reached before the request expired',
    });
    expect(await publishDecision(harness, step(requestId))).toMatchObject({
      decision: 'EXPIRED',
      approvers: [],
    });
    // The workflow is past its wait: a later vote does not try to resume it.
    expect((await rejection(vote(requestId, bob))).code).toBe('NOT_PENDING');
    expect(harness.workflow.calls).toEqual([]);
    expect((await refusals(requestId)).map((refusal) => refusal.key).sort()).toEqual([
      'REFUSED#alice#EXPIRED',
      'REFUSED#bob#NOT_PENDING',
    ]);
  });
});

describe('who may vote', () => {
  it.each([
    ['the agent', { id: 'invoice-bot', type: 'agent', groups: ['security'] }, 'NOT_A_HUMAN'],
    ['a service principal', { id: 'ci-pipeline', type: 'service', groups: ['security'] }, 'NOT_A_HUMAN'],
    ['the person the agent acts for', { id: 'dave', type: 'user', groups: ['security'] }, 'REQUESTER'],
    ['the agent’s owner', { id: 'olga', type: 'user', groups: ['security'] }, 'REQUESTER'],
    [
      'someone outside the approver groups',
      { id: 'carol', type: 'user', groups: ['platform'] },
      'NOT_IN_GROUP',
    ],
  ] as const)('refuses %s', async (_who, principal, code) => {
    const requestId = await submit(harness);
    const error = await rejection(vote(requestId, { ...principal, groups: [...principal.groups] }));
    expect(error).toBeInstanceOf(ForbiddenError);
    expect(error.code).toBe(code);
    expect((await harness.store.get(requestId))?.votes).toEqual([]);
    // The vote did not count, and the trail says who tried and why.
    expect(await refusals(requestId)).toEqual([
      {
        actor: principal.id,
        key: `REFUSED#${principal.id}#${code}`,
        data: { channel: 'slack', code, reason: error.message, vote: 'approve' },
      },
    ]);
  });

  it('allows one vote per person', async () => {
    const requestId = await submit(harness, requireApproval({ quorum: 2 }));
    await vote(requestId, alice);
    const error = await rejection(vote(requestId, alice));
    expect([error.constructor, error.code]).toEqual([ConflictError, 'ALREADY_VOTED']);
    expect((await refusals(requestId)).map((refusal) => refusal.key)).toEqual([
      'REFUSED#alice#ALREADY_VOTED',
    ]);
  });

  it('records nothing for a malformed ballot: bad input changes nothing', async () => {
    const requestId = await submit(harness);
    await expect(vote(requestId, alice, { vote: 'maybe' })).rejects.toBeInstanceOf(ValidationError);
    expect(await refusals(requestId)).toEqual([]);
  });

  it('answers NotFoundError for an unknown request', async () => {
    await expect(vote('no-such-request', alice)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('failures around the decision', () => {
  it('keeps the decision when resuming fails, and heals on the next vote', async () => {
    const requestId = await submit(harness);
    await requestApproval(harness, { ...step(requestId), taskToken: 'token-heal' });
    harness.workflow.failure = new Error('states unavailable');
    const result = await vote(requestId, alice);
    expect(result).toMatchObject({ decided: true, resumed: false, resumeError: harness.workflow.failure });
    expect(await harness.store.getWaitState(requestId)).toMatchObject({ resumed: false });

    harness.workflow.failure = undefined;
    expect((await rejection(vote(requestId, bob))).code).toBe('NOT_PENDING');
    expect(harness.workflow.calls).toEqual([
      { kind: 'succeed', taskToken: 'token-heal', output: { decision: 'APPROVED', approvers: ['alice'] } },
    ]);
    expect(await harness.store.getWaitState(requestId)).toMatchObject({ resumed: true });
  });

  it('resumes at once when the request was decided before the wait began', async () => {
    const requestId = await submit(harness);
    const early = await vote(requestId, alice, { vote: 'deny', reason: 'not today' });
    expect(early).toMatchObject({ decided: true, resumed: false });
    expect(await requestApproval(harness, { ...step(requestId), taskToken: 'token-late' })).toEqual({
      requestId,
      notified: false,
      resumed: true,
    });
    expect(harness.workflow.calls).toMatchObject([
      { kind: 'fail', taskToken: 'token-late', error: 'Countersign.Denied' },
    ]);
    expect(harness.notifier.requested).toEqual([]);
    // A retry of that wait task with the same token finds it resumed and does nothing; a wait with
    // a fresh token (re-driven) is what the execution waits on now, so it gets the decision too.
    expect(await requestApproval(harness, { ...step(requestId), taskToken: 'token-late' })).toMatchObject({
      resumed: false,
    });
    expect(harness.workflow.calls).toHaveLength(1);
    expect(await requestApproval(harness, { ...step(requestId), taskToken: 'token-later' })).toMatchObject({
      resumed: true,
    });
    expect(harness.workflow.calls.map((call) => call.taskToken)).toEqual(['token-late', 'token-later']);
  });

  it('fails a waiting workflow with Countersign.Expired when the stored decision is EXPIRED', async () => {
    const requestId = await submit(harness);
    await harness.store.decide(requestId, {
      decision: 'EXPIRED',
      approvers: [],
      reason: 'timed out',
      at: NOW,
    });
    expect(await requestApproval(harness, { ...step(requestId), taskToken: 'token-expired' })).toMatchObject({
      resumed: true,
    });
    expect(harness.workflow.calls).toEqual([
      {
        kind: 'fail',
        taskToken: 'token-expired',
        error: 'Countersign.Expired',
        cause: JSON.stringify({ decision: 'EXPIRED', reason: 'timed out', voter: null }),
      },
    ]);
  });

  it('posts the review again when the first post failed (at least once)', async () => {
    const requestId = await submit(harness);
    harness.notifier.failure = new Error('slack down');
    await expect(requestApproval(harness, { ...step(requestId), taskToken: 'token-a' })).rejects.toThrow(
      'slack down',
    );
    harness.notifier.failure = undefined;
    expect(await requestApproval(harness, { ...step(requestId), taskToken: 'token-b' })).toMatchObject({
      notified: true,
    });
    expect(harness.notifier.requested).toHaveLength(1);
    // Only the first wait may skip looking for an earlier post: the retry looks (and, here, posts).
    expect(harness.notifier.firstAsks).toEqual([true, false]);
    // The number the failed attempt took for NOTIFIED is the one its fact is written under: no gap.
    expect((await harness.store.listAudit(requestId)).map((record) => [record.kind, record.seq])).toEqual([
      ['REQUESTED', 1],
      ['EVALUATED', 2],
      ['NOTIFIED', 3],
    ]);
  });

  it('leaves no hole in the trail when the review is never posted and the request is decided', async () => {
    const requestId = await submit(harness);
    harness.notifier.failure = new Error('invalid_auth');
    await expect(requestApproval(harness, { ...step(requestId), taskToken: 'token-a' })).rejects.toThrow(
      'invalid_auth',
    );
    harness.notifier.failure = undefined;
    // Decided by a vote before the wait task is retried: the retry asks nobody.
    expect((await vote(requestId, alice, { vote: 'deny', reason: 'not now' })).decided).toBe(true);
    await requestApproval(harness, { ...step(requestId), taskToken: 'token-b' });
    const trail = await harness.store.listAudit(requestId);
    expect(trail.map((record) => record.kind)).toContain('DECIDED');
    expect(trail.map((record) => record.kind)).not.toContain('NOTIFIED');
    const numbers = trail.map((record) => record.seq).sort((a, b) => a - b);
    expect(numbers).toEqual(numbers.map((_, index) => index + 1));
  });

  it('keeps a vote when updating the reviewers’ view fails', async () => {
    const requestId = await submit(harness, requireApproval({ quorum: 2 }));
    harness.notifier.failure = new Error('teams down');
    const result = await vote(requestId, alice);
    expect(result).toMatchObject({ decided: false, updateError: harness.notifier.failure });
    expect((await harness.store.get(requestId))?.votes.map((recorded) => recorded.voterId)).toEqual([
      'alice',
    ]);
  });

  it('refuses to publish an undecided request and to touch unknown ones', async () => {
    const requestId = await submit(harness);
    expect((await rejection(publishDecision(harness, step(requestId)))).code).toBe('NOT_DECIDED');
    const unknown = 'invoice-bot:nope';
    await expect(publishDecision(harness, step(unknown))).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      recordDecision(harness, { ...step(unknown), outcome: { decision: 'DENIED' } }),
    ).rejects.toBeInstanceOf(NotFoundError);
    await expect(requestApproval(harness, { ...step(unknown), taskToken: 't' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });
});

describe('concurrency', () => {
  const reviewers: Principal[] = Array.from({ length: 20 }, (_, n) => ({
    id: `reviewer-${n}`,
    type: 'user',
    groups: ['security'],
  }));

  it('records NOTIFIED once reviewers were asked, even when its first write failed after the posts', async () => {
    const requestId = await submit(harness, requireApproval({ quorum: 1 }));
    const append = harness.store.appendAudit.bind(harness.store);
    const failing = vi.spyOn(harness.store, 'appendAudit').mockImplementationOnce(async () => {
      throw new Error('ProvisionedThroughputExceededException');
    });
    try {
      await expect(requestApproval(harness, { ...step(requestId), taskToken: 'token-1' })).rejects.toThrow(
        'ProvisionedThroughputExceededException',
      );
      failing.mockImplementation(append);
      // The wait task is retried: reviewers are asked again (at least once), the fact is written.
      expect(await requestApproval(harness, { ...step(requestId), taskToken: 'token-2' })).toMatchObject({
        notified: true,
      });
    } finally {
      failing.mockRestore();
    }
    expect(harness.notifier.requested).toHaveLength(2);
    const notified = (await harness.store.listAudit(requestId)).filter(
      (record) => record.kind === 'NOTIFIED',
    );
    expect(notified).toHaveLength(1);
    expect((await harness.store.getWaitState(requestId)).notified).toBe(true);
  });

  it('20 concurrent approvals: one decision applied, one resume', async () => {
    const requestId = await submit(harness, requireApproval({ quorum: 2 }));
    await requestApproval(harness, { ...step(requestId), taskToken: 'token-race' });
    const results = await Promise.allSettled(reviewers.map((reviewer) => vote(requestId, reviewer)));
    // A vote that lost the race may settle (decide and resume) for the winner: at most one reports it.
    const resumed = results.filter((result) => result.status === 'fulfilled' && result.value.resumed);
    expect(resumed.length).toBeLessThanOrEqual(1);
    expect(harness.workflow.calls).toHaveLength(1);
    const stored = await harness.store.get(requestId);
    expect(stored?.status).toBe('APPROVED');
    expect(stored?.approvers).toHaveLength(2);
    for (const result of results) {
      if (result.status === 'rejected') expect((result.reason as ConflictError).code).toBe('NOT_PENDING');
    }
    const decided = (await harness.store.listAudit(requestId)).filter((record) => record.kind === 'DECIDED');
    expect(decided).toHaveLength(1);
  });

  it('the same person voting twice at once: one vote counts, the other is ALREADY_VOTED', async () => {
    const requestId = await submit(harness, requireApproval({ quorum: 2 }));
    const results = await Promise.allSettled([
      vote(requestId, alice),
      vote(requestId, alice),
      vote(requestId, alice),
    ]);
    const codes = results.map((result) =>
      result.status === 'fulfilled' ? 'ok' : (result.reason as ConflictError).code,
    );
    expect(codes.sort()).toEqual(['ALREADY_VOTED', 'ALREADY_VOTED', 'ok']);
    expect((await harness.store.get(requestId))?.votes).toHaveLength(1);
    expect((await refusals(requestId)).map((refusal) => refusal.key)).toEqual([
      'REFUSED#alice#ALREADY_VOTED',
    ]);
  });

  it('20 concurrent mixed votes: exactly one decision, matching what resumed the workflow', async () => {
    const requestId = await submit(harness, requireApproval({ quorum: 3 }));
    await requestApproval(harness, { ...step(requestId), taskToken: 'token-mixed' });
    const results = await Promise.allSettled(
      reviewers.map((reviewer, n) =>
        vote(requestId, reviewer, n % 4 === 3 ? { vote: 'deny', reason: 'no' } : undefined),
      ),
    );
    expect(results.filter((result) => result.status === 'fulfilled' && result.value.resumed)).toHaveLength(1);
    expect(harness.workflow.calls).toHaveLength(1);
    const stored = await harness.store.get(requestId);
    const call = harness.workflow.calls[0];
    expect(call?.kind).toBe(stored?.decision === 'APPROVED' ? 'succeed' : 'fail');
  });
});
