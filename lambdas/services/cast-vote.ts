/**
 * A reviewer's vote, from any channel. Eligibility is checked on the stored request, the vote is
 * recorded by one conditional write (the real guard under concurrency), and the vote that decides
 * resumes the paused workflow: of any number of concurrent deciding votes, only the one whose
 * decision the store applied resumes it. A vote that does not count (ineligible, already voted,
 * too late, a step-up approval without its confirmation) is audited as REFUSED with its reason
 * before the caller is told; a malformed ballot is bad input and records nothing.
 */
import { checkEligibility, type Eligibility, Ineligible, tally } from '../domain/approval.ts';
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
import { tryResume } from './resume-workflow.ts';

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

/** A vote that lost to a decision is the moment to heal a decided request whose resume crashed. */
async function refuse(
  deps: CastVoteDeps,
  command: CastVoteInput,
  ballot: VoteInput,
  record: RequestRecord,
  code: string,
  message: string,
): Promise<never> {
  await recordRefusal(deps, command, ballot, code, message);
  if (FORBIDDEN_CODES.has(code)) throw new ForbiddenError(code, message);
  if (code === Ineligible.notPending || code === Ineligible.expired) await tryResume(deps, record);
  throw new ConflictError(code, message);
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
    // Lost a race: someone decided, or the same person voted twice at once. Report it as the store saw it.
    await recordRefusal(deps, command, ballot, error.code, error.message);
    const latest = await deps.store.get(command.requestId);
    if (latest !== undefined) await tryResume(deps, latest);
    throw error;
  }
}

export async function castVote(deps: CastVoteDeps, command: CastVoteInput): Promise<CastVoteResult> {
  const ballot = parse(VoteInput, command.input, 'vote');
  const { requestId, principal } = command;
  const now = deps.clock.now();
  const record = await deps.store.get(requestId);
  if (record === undefined) throw new NotFoundError(`request ${requestId} does not exist`);

  const eligibility: Eligibility = checkEligibility(record, principal, now);
  if (!eligibility.eligible)
    return refuse(deps, command, ballot, record, eligibility.code, eligibility.message);
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

  let latest = voted;
  let resume: { resumed: boolean; error?: unknown } = { resumed: false };
  const { outcome, approvers } = tally(voted);
  if (outcome !== undefined) {
    // A denial carries the denier's reason (required to deny); an approval speaks through its approvers.
    const denial = voted.votes.find((recorded) => recorded.vote === 'deny');
    const decided = await deps.store.decide(requestId, {
      decision: outcome,
      approvers,
      ...(denial?.reason === undefined ? {} : { reason: denial.reason }),
      at: now,
    });
    latest = decided.record;
    if (decided.applied) {
      await recordFact(deps, {
        requestId,
        kind: AuditKind.decided,
        actor: principal.id,
        data: { decision: latest.decision, approvers: latest.approvers, reason: latest.reason },
      });
      resume = await tryResume(deps, latest);
    }
  }

  const update = await deps.notifier.updateReview(latest).then(
    () => ({}),
    (error: unknown) => ({ updateError: error }),
  );
  return {
    record: latest,
    decided: latest.status !== RequestStatus.pending,
    resumed: resume.resumed,
    ...('error' in resume ? { resumeError: resume.error } : {}),
    ...update,
  };
}
