/**
 * The approval rulebook: who may vote, when a request is decided, and which lifecycle moves
 * exist. Pure functions over the stored record; the store's conditional writes enforce the same
 * rules again under concurrency.
 */
import { ConflictError } from './errors.ts';
import {
  Decision,
  type DecisionValue,
  type PolicyDecision,
  PolicyOutcome,
  type Principal,
  PrincipalType,
  type RequestRecord,
  RequestStatus,
  type RequestStatusValue,
} from './schemas.ts';
import * as z from './zod.ts';

export const Ineligible = {
  notAHuman: 'NOT_A_HUMAN',
  requester: 'REQUESTER',
  notInGroup: 'NOT_IN_GROUP',
  notPending: 'NOT_PENDING',
  expired: 'EXPIRED',
  alreadyVoted: 'ALREADY_VOTED',
} as const;
export type IneligibleCode = (typeof Ineligible)[keyof typeof Ineligible];

/** Shown to reviewers as is, so each says what happened and why in plain words. */
const INELIGIBLE_MESSAGES: Record<IneligibleCode, string> = {
  NOT_A_HUMAN: 'Only people can approve or deny requests; agents and service principals cannot vote.',
  REQUESTER:
    'You cannot vote on this request: you are the agent, the person it acts for, or its owner (no self-approval).',
  NOT_IN_GROUP: 'You are not in any of the approver groups for this request.',
  NOT_PENDING: 'This request is no longer waiting for approval.',
  EXPIRED: 'This request expired before your vote arrived.',
  ALREADY_VOTED: 'You have already voted on this request; each person votes once.',
};

export function describeIneligibility(code: IneligibleCode): string {
  return INELIGIBLE_MESSAGES[code];
}

/** Whether a principal may vote on a request now and, if not, why (the API's `canVote`). */
export const Eligibility = z.union([
  z.strictObject({ eligible: z.literal(true) }),
  z.strictObject({
    eligible: z.literal(false),
    code: z.enum(Object.values(Ineligible)),
    message: z.string(),
  }),
]);
export type Eligibility = z.infer<typeof Eligibility>;

function ineligible(code: IneligibleCode): Eligibility {
  return { eligible: false, code, message: describeIneligibility(code) };
}

/** Whether the request is still open for votes at `now` (pending, awaiting approval, unexpired). */
function isOpen(record: RequestRecord): boolean {
  return record.status === RequestStatus.pending && record.policy.decision === PolicyOutcome.requireApproval;
}

function isExpired(record: RequestRecord, now: Date): boolean {
  // A request awaiting approval always has an expiry; one without is treated as closed (fail closed).
  return record.expiresAt === undefined || now.getTime() >= Date.parse(record.expiresAt);
}

/**
 * Whether `principal` may vote on `record` at `now`. The order is deliberate: first who the
 * caller is (facts about the person that no amount of waiting changes, so a non-reviewer never
 * learns the request's state), then the request's state (decided, expired), and last the
 * caller's own history (already voted), which only matters while a vote could still count.
 */
export function checkEligibility(record: RequestRecord, principal: Principal, now: Date): Eligibility {
  if (principal.type !== PrincipalType.user) return ineligible(Ineligible.notAHuman);
  if (record.requesters.includes(principal.id)) return ineligible(Ineligible.requester);
  if (!principal.groups.some((group) => record.policy.groups.includes(group))) {
    return ineligible(Ineligible.notInGroup);
  }
  if (!isOpen(record)) return ineligible(Ineligible.notPending);
  if (isExpired(record, now)) return ineligible(Ineligible.expired);
  if (record.votes.some((vote) => vote.voterId === principal.id)) return ineligible(Ineligible.alreadyVoted);
  return { eligible: true };
}

/**
 * Who may read a request (list it, see its detail and timeline): its requesters, the members of
 * its approver groups and the members of the auditor groups. Everyone else is told it does not exist.
 */
export function canRead(
  record: RequestRecord,
  principal: Principal,
  auditorGroups: readonly string[],
): boolean {
  if (record.requesters.includes(principal.id)) return true;
  return principal.groups.some(
    (group) => record.policy.groups.includes(group) || auditorGroups.includes(group),
  );
}

export interface Tally {
  readonly approvals: number;
  readonly denials: number;
  /** Distinct people who approved, in the order they voted. */
  readonly approvers: string[];
  readonly outcome?: typeof Decision.approved | typeof Decision.denied;
}

/**
 * Counts distinct people. Any recorded deny decides at once (votes are recorded only after the
 * eligibility check, so every recorded deny is an eligible one); otherwise the quorum of distinct
 * approvers decides. A quorum below one is raised to one: approval always needs a person.
 */
export function tally(record: RequestRecord): Tally {
  const approvers = [
    ...new Set(record.votes.filter((vote) => vote.vote === 'approve').map((vote) => vote.voterId)),
  ];
  const denials = new Set(record.votes.filter((vote) => vote.vote === 'deny').map((vote) => vote.voterId))
    .size;
  const counts = { approvals: approvers.length, denials, approvers };
  if (denials > 0) return { ...counts, outcome: Decision.denied };
  if (approvers.length >= Math.max(1, record.policy.quorum)) return { ...counts, outcome: Decision.approved };
  return counts;
}

/** A decision the stored votes make: who approved, and a denial's reason (required to deny). */
export interface VotedDecision {
  readonly decision: typeof Decision.approved | typeof Decision.denied;
  readonly approvers: string[];
  readonly reason?: string;
}

/**
 * The decision a request's stored votes make, or undefined while they make none. Recomputed from
 * the votes alone, so a decision lost between the vote write and the decision write (a crash) is
 * made again, identically, by whoever reads the request next.
 */
export function decisionByVotes(record: RequestRecord): VotedDecision | undefined {
  const { outcome, approvers } = tally(record);
  if (outcome === undefined) return undefined;
  const reason = record.votes.find((vote) => vote.vote === 'deny')?.reason;
  return { decision: outcome, approvers, ...(reason === undefined ? {} : { reason }) };
}

type TerminalStatus = Exclude<RequestStatusValue, typeof RequestStatus.pending>;

const TERMINAL_STATUS: Record<DecisionValue, TerminalStatus> = {
  APPROVED: RequestStatus.approved,
  AUTO_APPROVED: RequestStatus.approved,
  // The agent may act at once; the review that follows does not reopen the request.
  BREAK_GLASS: RequestStatus.approved,
  DENIED: RequestStatus.denied,
  POLICY_DENIED: RequestStatus.denied,
  EXPIRED: RequestStatus.expired,
};

export function terminalStatusFor(decision: DecisionValue): TerminalStatus {
  return TERMINAL_STATUS[decision];
}

/** How a request is decided: the decision, who approved it, why, and when. */
export interface DecisionMade {
  readonly decision: DecisionValue;
  readonly approvers: readonly string[];
  readonly reason?: string;
  readonly at: Date;
}

/**
 * A pending request as it reads once `made` is stored (a reason it gives replaces the stored one):
 * what a receipt is signed over before the decision is written with it; the store's conditional
 * write still decides whether it stands.
 */
export function decidedRecord(record: RequestRecord, made: DecisionMade): RequestRecord {
  return {
    ...record,
    status: terminalStatusFor(made.decision),
    decision: made.decision,
    approvers: [...made.approvers],
    ...(made.reason === undefined ? {} : { reason: made.reason }),
    decidedAt: made.at.toISOString(),
  };
}

/** The only lifecycle moves: PENDING → APPROVED | DENIED | EXPIRED. A request is decided once. */
export function assertTransition(from: RequestStatusValue, to: RequestStatusValue): void {
  if (from !== RequestStatus.pending || to === RequestStatus.pending) {
    throw new ConflictError('INVALID_TRANSITION', `a request cannot move from ${from} to ${to}`);
  }
}

/** When a request awaiting approval expires; requests decided by policy alone never expire. */
export function expiresAtFor(policy: PolicyDecision, now: Date): string | undefined {
  if (policy.decision !== PolicyOutcome.requireApproval) return undefined;
  return new Date(now.getTime() + policy.timeoutSeconds * 1000).toISOString();
}

/** How the policy alone decided a request, as the workflow records it; undefined when people decide. */
export interface PolicyOutcomeDecision {
  readonly decision: DecisionValue;
  readonly reason?: string;
}

/**
 * The outcome of a request the policy decides alone: ALLOW is AUTO_APPROVED, DENY is POLICY_DENIED
 * with the policy's reason, BREAK_GLASS runs at once (its review opens when it is published).
 * Anything else, REQUIRE_APPROVAL included, is for people: never an automatic allow.
 */
export function policyOutcomeOf(policy: PolicyDecision): PolicyOutcomeDecision | undefined {
  switch (policy.decision) {
    case PolicyOutcome.allow:
      return { decision: Decision.autoApproved };
    case PolicyOutcome.deny:
      return { decision: Decision.policyDenied, reason: policy.reason };
    case PolicyOutcome.breakGlass:
      return { decision: Decision.breakGlass };
    default:
      return undefined;
  }
}

/** Error names a paused workflow is failed with, so the state machine can tell them apart. */
export const WorkflowError = {
  denied: 'Countersign.Denied',
  expired: 'Countersign.Expired',
} as const;

/**
 * Error names the workflow's Finish step fails with, one a part, so the state machine can tell
 * which part failed (an execution that keeps failing is still published; a record or a publish
 * that keeps failing fails the execution).
 */
export const FinishStepError = {
  record: 'Countersign.RecordStepFailed',
  execute: 'Countersign.ExecuteStepFailed',
  publish: 'Countersign.PublishStepFailed',
} as const;
export type FinishStepErrorName = (typeof FinishStepError)[keyof typeof FinishStepError];
