import { describe, expect, it } from 'vitest';
import {
  assertTransition,
  checkEligibility,
  decidedRecord,
  describeIneligibility,
  expiresAtFor,
  Ineligible,
  type IneligibleCode,
  policyOutcomeOf,
  tally,
  terminalStatusFor,
} from '../../../lambdas/domain/approval.ts';
import { ConflictError } from '../../../lambdas/domain/errors.ts';
import { aRecord, aUser, aVote, NOW, requireApproval } from './fixtures.ts';

function ineligibleCode(...args: Parameters<typeof checkEligibility>): string | undefined {
  const result = checkEligibility(...args);
  return result.eligible ? undefined : result.code;
}

describe('checkEligibility', () => {
  it('lets a person from an approver group vote on a pending, unexpired request', () => {
    expect(checkEligibility(aRecord(), aUser('alice'), NOW)).toEqual({ eligible: true });
  });

  it('accepts a member of any one of several approver groups', () => {
    const record = aRecord({ policy: requireApproval({ groups: ['platform', 'security'] }) });
    expect(checkEligibility(record, aUser('carol', ['platform']), NOW).eligible).toBe(true);
  });

  it.each(['agent', 'service'] as const)('never lets a %s principal vote, even in the group', (type) => {
    const result = checkEligibility(aRecord(), { id: 'robot', type, groups: ['security'] }, NOW);
    expect(result).toEqual({
      eligible: false,
      code: 'NOT_A_HUMAN',
      message: describeIneligibility(Ineligible.notAHuman),
    });
  });

  it.each(['invoice-bot', 'dave', 'owner-olga'])('refuses self-approval by requester %s', (id) => {
    expect(ineligibleCode(aRecord(), aUser(id), NOW)).toBe('REQUESTER');
  });

  it('refuses someone in none of the approver groups', () => {
    expect(ineligibleCode(aRecord(), aUser('carol', ['platform']), NOW)).toBe('NOT_IN_GROUP');
    expect(ineligibleCode(aRecord(), aUser('nobody', []), NOW)).toBe('NOT_IN_GROUP');
  });

  it('refuses votes once the request is decided', () => {
    const record = aRecord({ status: 'APPROVED', decision: 'APPROVED' });
    expect(ineligibleCode(record, aUser('alice'), NOW)).toBe('NOT_PENDING');
  });

  it('refuses votes on a request that policy decided alone (not awaiting approval)', () => {
    const record = aRecord({ policy: requireApproval({ decision: 'ALLOW' }) });
    expect(ineligibleCode(record, aUser('alice'), NOW)).toBe('NOT_PENDING');
  });

  it('refuses votes at and after the expiry instant, and accepts them just before', () => {
    const record = aRecord({ expiresAt: NOW.toISOString() });
    expect(ineligibleCode(record, aUser('alice'), NOW)).toBe('EXPIRED');
    expect(ineligibleCode(record, aUser('alice'), new Date(NOW.getTime() + 1))).toBe('EXPIRED');
    expect(ineligibleCode(record, aUser('alice'), new Date(NOW.getTime() - 1))).toBeUndefined();
  });

  it('treats a pending approval without an expiry as closed (fail closed)', () => {
    const { expiresAt: _omitted, ...withoutExpiry } = aRecord();
    expect(ineligibleCode(withoutExpiry, aUser('alice'), NOW)).toBe('EXPIRED');
  });

  it('allows one vote per person', () => {
    const record = aRecord({ votes: [aVote('alice')] });
    expect(ineligibleCode(record, aUser('alice'), NOW)).toBe('ALREADY_VOTED');
    expect(ineligibleCode(record, aUser('bob'), NOW)).toBeUndefined();
  });

  it('checks who the caller is before the state of the request', () => {
    const decidedAndExpired = aRecord({
      status: 'DENIED',
      expiresAt: NOW.toISOString(),
      votes: [aVote('dave')],
    });
    expect(ineligibleCode(decidedAndExpired, { id: 'dave', type: 'agent', groups: [] }, NOW)).toBe(
      'NOT_A_HUMAN',
    );
    expect(ineligibleCode(decidedAndExpired, aUser('dave'), NOW)).toBe('REQUESTER');
    expect(ineligibleCode(decidedAndExpired, aUser('carol', ['platform']), NOW)).toBe('NOT_IN_GROUP');
    expect(ineligibleCode(decidedAndExpired, aUser('alice'), NOW)).toBe('NOT_PENDING');
    const expiredWithVote = aRecord({ expiresAt: NOW.toISOString(), votes: [aVote('alice')] });
    expect(ineligibleCode(expiredWithVote, aUser('alice'), NOW)).toBe('EXPIRED');
  });

  it('has a human-readable message for every code', () => {
    for (const code of Object.values(Ineligible) as IneligibleCode[]) {
      expect(describeIneligibility(code)).toMatch(/^[A-Z].{20,}\.$/);
    }
  });
});

describe('tally', () => {
  it('is undecided with no votes', () => {
    expect(tally(aRecord())).toEqual({ approvals: 0, denials: 0, approvers: [] });
  });

  it('approves when distinct approvers reach the quorum', () => {
    const record = aRecord({ policy: requireApproval({ quorum: 2 }), votes: [aVote('alice')] });
    expect(tally(record).outcome).toBeUndefined();
    const result = tally({ ...record, votes: [aVote('alice'), aVote('bob')] });
    expect(result).toEqual({ approvals: 2, denials: 0, approvers: ['alice', 'bob'], outcome: 'APPROVED' });
  });

  it('counts people, not votes: the same person twice is one approval', () => {
    const record = aRecord({
      policy: requireApproval({ quorum: 2 }),
      votes: [aVote('alice'), aVote('alice')],
    });
    expect(tally(record)).toEqual({ approvals: 1, denials: 0, approvers: ['alice'] });
  });

  it('denies on any deny, even when the approvals already reach the quorum', () => {
    const record = aRecord({ votes: [aVote('alice'), aVote('bob', 'deny', 'not this bucket')] });
    expect(tally(record)).toEqual({ approvals: 1, denials: 1, approvers: ['alice'], outcome: 'DENIED' });
  });

  it('needs at least one approver even when the quorum is zero', () => {
    const record = aRecord({ policy: requireApproval({ quorum: 0 }) });
    expect(tally(record).outcome).toBeUndefined();
    expect(tally({ ...record, votes: [aVote('alice')] }).outcome).toBe('APPROVED');
  });
});

describe('terminalStatusFor', () => {
  it.each([
    ['APPROVED', 'APPROVED'],
    ['AUTO_APPROVED', 'APPROVED'],
    ['DENIED', 'DENIED'],
    ['POLICY_DENIED', 'DENIED'],
    ['EXPIRED', 'EXPIRED'],
  ] as const)('maps %s to %s', (decision, status) => {
    expect(terminalStatusFor(decision)).toBe(status);
  });
});

describe('decidedRecord', () => {
  it('reads as the store leaves a request it decided: status, decision, approvers, reason and time', () => {
    const at = new Date(NOW.getTime() + 1000);
    const decided = decidedRecord(aRecord(), {
      decision: 'APPROVED',
      approvers: ['alice'],
      reason: 'ok',
      at,
    });
    expect(decided).toMatchObject({
      status: 'APPROVED',
      decision: 'APPROVED',
      approvers: ['alice'],
      reason: 'ok',
      decidedAt: at.toISOString(),
    });
  });

  it('leaves the stored reason when the decision gives none, as the store’s write does', () => {
    const decided = decidedRecord(
      { ...aRecord(), reason: 'earlier' },
      { decision: 'POLICY_DENIED', approvers: [], at: NOW },
    );
    expect(decided).toMatchObject({ status: 'DENIED', decision: 'POLICY_DENIED', reason: 'earlier' });
  });
});

describe('assertTransition', () => {
  it.each(['APPROVED', 'DENIED', 'EXPIRED'] as const)('allows PENDING → %s', (to) => {
    expect(() => assertTransition('PENDING', to)).not.toThrow();
  });

  it.each([
    ['PENDING', 'PENDING'],
    ['APPROVED', 'DENIED'],
    ['DENIED', 'APPROVED'],
    ['EXPIRED', 'PENDING'],
    ['APPROVED', 'APPROVED'],
  ] as const)('refuses %s → %s', (from, to) => {
    let thrown: unknown;
    try {
      assertTransition(from, to);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConflictError);
    expect((thrown as ConflictError).code).toBe('INVALID_TRANSITION');
    expect((thrown as ConflictError).message).toBe(`a request cannot move from ${from} to ${to}`);
  });
});

describe('expiresAtFor', () => {
  it('adds the policy timeout to now for requests awaiting approval', () => {
    expect(expiresAtFor(requireApproval({ timeoutSeconds: 900 }), NOW)).toBe('2025-06-01T12:15:00.000Z');
  });

  it.each(['ALLOW', 'DENY'] as const)('gives %s decisions no expiry', (decision) => {
    expect(expiresAtFor(requireApproval({ decision }), NOW)).toBeUndefined();
  });
});

describe('policyOutcomeOf', () => {
  it('decides ALLOW, DENY and BREAK_GLASS alone, and leaves anything else to people', () => {
    const policy = requireApproval();
    expect(policyOutcomeOf({ ...policy, decision: 'ALLOW' })).toEqual({ decision: 'AUTO_APPROVED' });
    expect(policyOutcomeOf({ ...policy, decision: 'DENY', reason: 'forbidden' })).toEqual({
      decision: 'POLICY_DENIED',
      reason: 'forbidden',
    });
    expect(policyOutcomeOf({ ...policy, decision: 'BREAK_GLASS' })).toEqual({ decision: 'BREAK_GLASS' });
    expect(policyOutcomeOf(policy)).toBeUndefined();
    // A decision the schema does not know (a newer policy engine) is for people too.
    expect(policyOutcomeOf({ ...policy, decision: 'MAYBE' } as never)).toBeUndefined();
  });
});
