/**
 * A reviewer closes an after-the-fact review, from any channel: ACKNOWLEDGED (with a reason) or
 * ESCALATED. Eligibility is checked on the stored review and the close is one conditional write,
 * so of two reviewers closing at once one wins and the other is told it is closed. A break-glass
 * review's outcome is also an audit record of its request.
 */
import {
  describeReviewIneligibility,
  type Review,
  ReviewIneligible,
  ReviewInput,
  reviewAuditRequestId,
  reviewIneligibility,
} from '../domain/after-the-fact-review.ts';
import { AuditKind } from '../domain/audit-record.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../domain/errors.ts';
import { type ChannelValue, type Principal, parse } from '../domain/schemas.ts';
import type { Clock, RequestStore, ReviewAlerts, ReviewStore } from '../ports/index.ts';
import { recordFact } from './audit-trail.ts';

export interface CloseReviewDeps {
  readonly reviews: Pick<ReviewStore, 'get' | 'close'>;
  readonly alerts: Pick<ReviewAlerts, 'update'>;
  readonly store: Pick<RequestStore, 'appendAudit'>;
  readonly clock: Clock;
}

export interface CloseReviewInput {
  readonly reviewId: string;
  /** The reviewer, already authenticated and resolved by the channel. */
  readonly principal: Principal;
  /** Untrusted: validated here. */
  readonly input: unknown;
  readonly channel: ChannelValue;
}

export interface CloseReviewResult {
  readonly review: Review;
  /** Why updating the alert in chat failed; the review is closed either way. */
  readonly updateError?: unknown;
}

export async function closeReview(
  deps: CloseReviewDeps,
  command: CloseReviewInput,
): Promise<CloseReviewResult> {
  const input = parse(ReviewInput, command.input, 'review');
  const { reviewId, principal } = command;
  const review = await deps.reviews.get(reviewId);
  if (review === undefined) throw new NotFoundError(`no review ${reviewId}`);
  const ineligible = reviewIneligibility(review, principal);
  if (ineligible === ReviewIneligible.closed) {
    throw new ConflictError(ineligible, describeReviewIneligibility(ineligible));
  }
  if (ineligible !== undefined) throw new ForbiddenError(ineligible, describeReviewIneligibility(ineligible));

  const at = deps.clock.now();
  const closed = await deps.reviews.close(reviewId, {
    status: input.outcome,
    by: principal.id,
    ...(input.reason === undefined || input.reason === '' ? {} : { reason: input.reason }),
    channel: command.channel,
    at,
  });
  if (!closed.applied) {
    throw new ConflictError(ReviewIneligible.closed, describeReviewIneligibility(ReviewIneligible.closed));
  }
  const requestId = reviewAuditRequestId(closed.review);
  if (requestId !== undefined) {
    await recordFact(deps, {
      requestId,
      kind: AuditKind.reviewed,
      actor: principal.id,
      data: { outcome: input.outcome, reason: input.reason, channel: command.channel },
    });
  }
  const update = await deps.alerts.update(closed.review).then(
    () => ({}),
    (error: unknown) => ({ updateError: error }),
  );
  return { review: closed.review, ...update };
}
