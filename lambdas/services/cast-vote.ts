/**
/**
 * A reviewer's vote, from any channel. The stored request is settled first (its stored votes may
 * already decide it), eligibility is checked on it, the vote is recorded by one conditional write
 * (the real guard under concurrency), and the request is settled again: the decision its votes
 * make is stored once, and the paused workflow resumed once per task token. A vote that does not
 * count (ineligible, already voted, too late, a step-up approval without its confirmation) is
 * audited as REFUSED with its reason before the caller is told; a malformed ballot is bad input and
 * records nothing.
 */
import { checkEligibility, type Eligibility, Ineligible } from '../domain/approval.ts';
import { AuditKind } from '../domain/audit-record.ts';
import { ConflictError, ForbiddenError, NotFoundError, StepUpRequiredError } from '../domain/errors.ts';
import {
  type ChannelValue,
  type Principal,
  parse,
  type RequestRecord,
  RequestStatus,
  type Vote,
  VoteInput,
} from '../domain/schemas.ts';
import { assertStepUp } from '../domain/step-up.ts';
import type { Clock, RequestStore, ReviewNotifier, Workflow } from '../ports/index.ts';
import { recordFact } from './audit-trail.ts';
import { settleVotes } from './settle-votes.ts';

export interface CastVoteDeps {
  readonly store: RequestStore;
  readonly workflow: Workflow;
  readonly notifier: ReviewNotifier;
  readonly clock: Clock;
}

export interface CastVoteInput {
  readonly requestId: string;
  /** The reviewer, already authenticated and resolved by the channel. */
  readonly principal: Principal;
  /** Untrusted: validated here. */
  readonly input: unknown;
  readonly channel: ChannelValue;
}

export interface CastVoteResult {
  /** The request after this vote (and the decision, if it decided). */
  readonly record: RequestRecord;
  /** The request is decided. */
  readonly decided: boolean;
  /** This call resumed the paused workflow. */
  readonly resumed: boolean;
  /** Why resuming failed; the decision stands and the next call retries. */
  readonly resumeError?: unknown;
  /** Why updating reviewers' view failed; the vote stands. */
  readonly updateError?: unknown;
}

const FORBIDDEN_CODES: ReadonlySet<string> = new Set([
  Ineligible.notAHuman,
  Ineligible.requester,
  Ineligible.notInGroup,
]);

/**
 * Audits a refused vote: one record per voter and reason (a repeated attempt is the same fact, so
 * nobody grows a request's trail by retrying).
 */
async function recordRefusal(
  deps: CastVoteDeps,
  command: CastVoteInput,
  ballot: VoteInput,
  code: string,
  reason: string,
): Promise<void> {
  await recordFact(deps, {
    requestId: command.requestId,
    kind: AuditKind.refused,
    key: `${AuditKind.refused}#${command.principal.id}#${code}`,
    actor: command.principal.id,
    data: { channel: command.channel, code, reason, vote: ballot.vote },
  });
}

async function addVote(
  deps: CastVoteDeps,
  command: CastVoteInput,
  ballot: VoteInput,
  vote: Vote,
  now: Date,
): Promise<RequestRecord> {
  try {
    return await deps.store.addVote(command.requestId, vote, now);
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
    // Lost a race: someone decided, or the same person voted twice at once. Report it as the store
    // saw it, after settling what the stored votes decide.
    await recordRefusal(deps, command, ballot, error.code, error.message);
    const latest = await deps.store.get(command.requestId);
    if (latest !== undefined) await settleVotes(deps, latest);
    throw error;
  }
}

/** Updating reviewers' view of the request; a failure is reported, the vote and decision stand. */
function updateReview(deps: CastVoteDeps, record: RequestRecord): Promise<{ updateError?: unknown }> {
  return deps.notifier.updateReview(record).then(
    () => ({}),
    (error: unknown) => ({ updateError: error }),
  );
}

export async function castVote(deps: CastVoteDeps, command: CastVoteInput): Promise<CastVoteResult> {
  const ballot = parse(VoteInput, command.input, 'vote');
  const { requestId, principal } = command;
  const now = deps.clock.now();
  const stored = await deps.store.get(requestId);
  if (stored === undefined) throw new NotFoundError(`request ${requestId} does not exist`);
  // The stored votes may already decide it (a crash after an earlier vote's write): decide it first.
  const settled = await settleVotes(deps, stored);
  const record = settled.record;

  const eligibility: Eligibility = checkEligibility(record, principal, now);
  if (!eligibility.eligible) {
    const { code, message } = eligibility;
    await recordRefusal(deps, command, ballot, code, message);
    if (settled.decided) await updateReview(deps, record);
    throw FORBIDDEN_CODES.has(code) ? new ForbiddenError(code, message) : new ConflictError(code, message);
  }
  try {
    assertStepUp(record, ballot);
  } catch (error) {
    if (error instanceof StepUpRequiredError)
      await recordRefusal(deps, command, ballot, error.code, error.message);
    throw error;
  }

  const vote: Vote = {
    voterId: principal.id,
    vote: ballot.vote,
    ...(ballot.reason ? { reason: ballot.reason } : {}),
    channel: command.channel,
    at: now.toISOString(),
  };
  const voted = await addVote(deps, command, ballot, vote, now);
  await recordFact(deps, {
    requestId,
    kind: AuditKind.voted,
    key: `${AuditKind.voted}#${principal.id}`,
    actor: principal.id,
    data: { vote: vote.vote, reason: vote.reason, channel: vote.channel },
  });

  const after = await settleVotes(deps, voted);
  const { resume } = after;
  return {
    record: after.record,
    decided: after.record.status !== RequestStatus.pending,
    resumed: resume.resumed,
    ...('error' in resume ? { resumeError: resume.error } : {}),
    ...(await updateReview(deps, after.record)),
  };
}
