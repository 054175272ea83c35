/**
 * The `.waitForTaskToken` task: remembers how to resume the paused workflow and asks reviewers.
 * Step Functions may run it more than once for one wait (retries), so each step is idempotent.
 */
import { AuditKind } from '../domain/audit-record.ts';
import { RequestStatus } from '../domain/schemas.ts';
import type { Clock, RequestStore, ReviewNotifier, Workflow } from '../ports/index.ts';
import { recordFact, SYSTEM_ACTOR } from './audit-trail.ts';
import { resumeIfWaiting } from './resume-workflow.ts';

export interface RequestApprovalDeps {
  readonly store: RequestStore;
  readonly notifier: ReviewNotifier;
  readonly workflow: Workflow;
  readonly clock: Clock;
}

export interface RequestApprovalInput {
  readonly requestId: string;
  readonly taskToken: string;
  /** The execution waiting; the token is stored only on a request it owns. */
  readonly executionArn: string;
}

export interface RequestApprovalResult {
  readonly requestId: string;
  /** Reviewers were asked by this call. */
  readonly notified: boolean;
  /** The request was already decided, and this call resumed the workflow with the decision. */
  readonly resumed: boolean;
}

export async function requestApproval(
  deps: RequestApprovalDeps,
  input: RequestApprovalInput,
): Promise<RequestApprovalResult> {
  const { requestId, taskToken, executionArn } = input;
  // The request is read in the write that saves the token: a vote that decides after it finds the
  // token, and a decision made before it is seen here, so a decision is never left unsent; when both
  // send it, Step Functions takes one and refuses the other (see resumeIfWaiting). The save is
  // conditional on the execution owning the request (and throws NotFoundError for none), so nobody
  // can point a request's decision at another execution's token.
  const { record, waitState, firstWait } = await deps.store.saveTaskToken(requestId, taskToken, executionArn);

  if (record.status !== RequestStatus.pending) {
    return { requestId, notified: false, resumed: await resumeIfWaiting(deps, record, waitState) };
  }
  if (waitState.notified) return { requestId, notified: false, resumed: false };

  // Reviewers are asked before the mark is set: if posting fails, the retry asks again, so a review
  // is posted at least once (a duplicate post beats a request that silently expires unseen). The
  // NOTIFIED fact comes before the mark, which is what a retry stops at: a fact that failed is
  // written by the retry (keyed: once, however many wait tasks race), never left out for good. It
  // is numbered only once the review is posted: a number taken for a post that never succeeds
  // would be a hole in the trail before the decision's facts, which the archive's check reports.
  // The first wait of a request knows that no earlier one posted: the channels need no lookup.
  await deps.notifier.requestReview(record, { firstAsk: firstWait });
  await recordFact(deps, {
    requestId,
    kind: AuditKind.notified,
    actor: SYSTEM_ACTOR,
    data: { groups: record.policy.groups, quorum: record.policy.quorum, expiresAt: record.expiresAt },
  });
  await deps.store.markNotified(requestId, deps.clock.now());
  return { requestId, notified: true, resumed: false };
}
