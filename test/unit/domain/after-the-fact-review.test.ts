import { describe, expect, it } from 'vitest';
import {
  callAuditRequestId,
  callReviewId,
  describeReviewIneligibility,
  dueReviewReminders,
  type Review,
  ReviewId,
  ReviewInput,
  requestReviewId,
  reviewAuditRequestId,
  reviewIneligibility,
  reviewView,
} from '../../../lambdas/domain/after-the-fact-review.ts';
import { RequestId } from '../../../lambdas/domain/schemas.ts';
import { aUser, NOW } from './fixtures.ts';

const HOUR = 3600_000;

function aReview(overrides: Partial<Review> = {}): Review {
  return {
    reviewId: callReviewId('3f2e1d0c-9b8a-4776-a5b4-c3d2e1f0a9b8'),
    kind: 'UNAPPROVED_CALL',
    status: 'OPEN',
    groups: ['security'],
    openedAt: NOW.toISOString(),
    requesters: ['invoice-bot', 'dave'],
    subject: {
      agentId: 'invoice-bot',
      action: 's3:PutBucketPolicy',
      resourceArn: 'arn:aws:s3:::exports',
      principalArn: 'arn:aws:iam::000000000000:user/agents/invoice-bot',
      policy: 'needs 1 approval from security',
    },
    ...overrides,
  };
}

describe('after-the-fact reviews', () => {
  it('names reviews by what they review', () => {
    expect(ReviewId.safeParse(callReviewId('3f2e1d0c-9b8a')).success).toBe(true);
    expect(ReviewId.safeParse(requestReviewId('invoice-bot:req-1')).success).toBe(true);
    expect(ReviewId.safeParse('call:../../x').success).toBe(false);
  });

  it('audits a call and its review under the call’s own request id, in the agent’s namespace', () => {
    const eventId = '3f2e1d0c-9b8a-4776-a5b4-c3d2e1f0a9b8';
    expect(callAuditRequestId('invoice-bot', eventId)).toBe(`invoice-bot:call.${eventId}`);
    // CloudTrail's ids are UUIDs; one too long for a request id is replaced by its SHA-256.
    const long = callAuditRequestId('invoice-bot', 'e'.repeat(124));
    expect(long).toMatch(/^invoice-bot:call\.[0-9a-f]{64}$/);
    expect(RequestId.safeParse(long).success).toBe(true);
    expect(RequestId.safeParse(callAuditRequestId('invoice-bot', 'e'.repeat(123))).success).toBe(true);

    const call = aReview({ subject: { ...aReview().subject, eventId } });
    expect(reviewAuditRequestId(call)).toBe(`invoice-bot:call.${eventId}`);
    expect(reviewAuditRequestId(aReview())).toBeUndefined();
    const requestId = 'invoice-bot:req-1';
    const breakGlass = aReview({
      reviewId: requestReviewId(requestId),
      kind: 'BREAK_GLASS',
      subject: { ...aReview().subject, requestId },
    });
    expect(reviewAuditRequestId(breakGlass)).toBe(requestId);
  });

  it('shows reviewers the review without who may never close it', () => {
    expect(reviewView(aReview())).toEqual({
      reviewId: 'call:3f2e1d0c-9b8a-4776-a5b4-c3d2e1f0a9b8',
      kind: 'UNAPPROVED_CALL',
      status: 'OPEN',
      groups: ['security'],
      openedAt: NOW.toISOString(),
    });
  });

  it('needs a reason to acknowledge, not to escalate', () => {
    expect(ReviewInput.safeParse({ outcome: 'ACKNOWLEDGED' }).error?.issues[0]?.message).toBe(
      'a reason is required to acknowledge',
    );
    expect(ReviewInput.safeParse({ outcome: 'ACKNOWLEDGED', reason: '  ' }).success).toBe(false);
    expect(ReviewInput.parse({ outcome: 'ACKNOWLEDGED', reason: 'planned change' }).reason).toBe(
      'planned change',
    );
    expect(ReviewInput.parse({ outcome: 'ESCALATED' })).toEqual({ outcome: 'ESCALATED' });
    expect(ReviewInput.safeParse({ outcome: 'WITHDRAWN' }).success).toBe(false);
  });

  it('lets a person of the review’s groups close it, never the agent or its people, once', () => {
    const review = aReview();
    expect(reviewIneligibility(review, aUser('alice'))).toBeUndefined();
    expect(reviewIneligibility(review, { id: 'invoice-bot', type: 'agent', groups: ['security'] })).toBe(
      'NOT_A_HUMAN',
    );
    expect(reviewIneligibility(review, aUser('dave'))).toBe('REQUESTER');
    expect(reviewIneligibility(review, aUser('carol', ['platform']))).toBe('NOT_IN_GROUP');
    expect(reviewIneligibility({ ...review, status: 'ACKNOWLEDGED' }, aUser('alice'))).toBe('REVIEW_CLOSED');
    expect(describeReviewIneligibility('REVIEW_CLOSED')).toBe('This review is already closed.');
  });

  it('reminds after one and four hours, then escalates every day until it is closed', () => {
    const review = aReview();
    const at = (hours: number) => new Date(NOW.getTime() + hours * HOUR);
    const due = (from: number, to: number, reviews: Review[] = [review]) =>
      dueReviewReminders(reviews, { after: at(from), upTo: at(to) }).map((reminder) => reminder.step);
    expect(due(0, 0.9)).toEqual([]);
    expect(due(0.9, 1)).toEqual(['reminder-3600']);
    expect(due(1, 3.9)).toEqual([]);
    expect(due(3.9, 4.1)).toEqual(['reminder-14400']);
    // A run that missed both reminders sends the later one only.
    expect(due(0.5, 4.5)).toEqual(['reminder-14400']);
    expect(due(23.9, 24.1)).toEqual(['escalation-1']);
    expect(due(24.1, 47)).toEqual([]);
    expect(due(47.9, 48.2)).toEqual(['escalation-2']);
    expect(dueReviewReminders([review], { after: at(0.9), upTo: at(1) })[0]).toEqual({
      reviewId: review.reviewId,
      step: 'reminder-3600',
      escalation: false,
      dueAt: at(1).toISOString(),
    });
    expect(dueReviewReminders([review], { after: at(23), upTo: at(25) })[0]?.escalation).toBe(true);
    expect(due(0.9, 1, [{ ...review, status: 'ESCALATED' }])).toEqual([]);
  });
});
