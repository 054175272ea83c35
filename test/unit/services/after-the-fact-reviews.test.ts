/**
 * Closing after-the-fact reviews, reminding and escalating them, and the approvals the publish
 * step stores: the services on the real DynamoDB adapters (dynalite) with recording chat.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { callReviewId, type Review, requestReviewId } from '../../../lambdas/domain/after-the-fact-review.ts';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  ValidationError,
} from '../../../lambdas/domain/errors.ts';
import { grantOf } from '../../../lambdas/domain/privileged-calls.ts';
import { closeReview } from '../../../lambdas/services/close-review.ts';
import { publishDecision } from '../../../lambdas/services/publish-decision.ts';
import { sendReviewReminders } from '../../../lambdas/services/send-review-reminders.ts';
import { aRecord, aUser, NOW } from '../domain/fixtures.ts';
import { RecordingAlerts } from './fakes.ts';
import { type Harness, startHarness } from './harness.ts';

let harness: Harness;
let alerts: RecordingAlerts;

beforeAll(async () => {
  harness = await startHarness();
});

afterAll(async () => {
  await harness.table.close();
});

beforeEach(() => {
  alerts = new RecordingAlerts();
  harness.clock.set(NOW);
});

async function anOpenReview(overrides: Partial<Review> = {}): Promise<Review> {
  const eventId = randomUUID();
  const review: Review = {
    reviewId: callReviewId(eventId),
    kind: 'UNAPPROVED_CALL',
    status: 'OPEN',
    groups: ['security'],
    openedAt: NOW.toISOString(),
    requesters: ['invoice-bot', 'olga'],
    subject: { agentId: 'invoice-bot', action: 's3:PutBucketPolicy', eventId, policy: 'needs security' },
    ...overrides,
  };
  await harness.reviews.open(review);
  return review;
}

function close(
  review: Review,
  principal = aUser('alice'),
  input: unknown = { outcome: 'ACKNOWLEDGED', reason: 'planned' },
) {
  return closeReview(
    { reviews: harness.reviews, alerts, store: harness.store, clock: harness.clock },
    { reviewId: review.reviewId, principal, input, channel: 'console' },
  );
}

describe('closing a review', () => {
  it('records who closed it, how and why, and updates the alert', async () => {
    const review = await anOpenReview();
    const { review: closed } = await close(review);
    expect(closed).toMatchObject({
      status: 'ACKNOWLEDGED',
      closedBy: 'alice',
      reason: 'planned',
      channel: 'console',
      closedAt: NOW.toISOString(),
    });
    expect(alerts.updated).toEqual([closed]);
    // Beside the call's RECONCILED record, under the call's own audit id.
    const trail = await harness.store.listAudit(`invoice-bot:call.${review.subject.eventId}`);
    expect(trail.map(({ kind, actor, data }) => ({ kind, actor, data }))).toEqual([
      {
        kind: 'REVIEWED',
        actor: 'alice',
        data: { outcome: 'ACKNOWLEDGED', reason: 'planned', channel: 'console' },
      },
    ]);
  });

  it('refuses the ineligible, bad input, a second close and a review that does not exist', async () => {
    const review = await anOpenReview();
    await expect(close(review, aUser('olga'))).rejects.toMatchObject({ code: 'REQUESTER' });
    await expect(close(review, aUser('carol', ['platform']))).rejects.toBeInstanceOf(ForbiddenError);
    await expect(close(review, aUser('alice'), { outcome: 'ACKNOWLEDGED' })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await close(review, aUser('alice'), { outcome: 'ESCALATED' });
    await expect(close(review, aUser('bob'))).rejects.toMatchObject({ code: 'REVIEW_CLOSED' });
    await expect(close({ ...review, reviewId: 'call:nope' })).rejects.toBeInstanceOf(NotFoundError);
    expect(alerts.updated).toHaveLength(1);
  });

  it('lets one of two reviewers closing at once win; the other is told it is closed', async () => {
    const review = await anOpenReview();
    const results = await Promise.allSettled([close(review, aUser('alice')), close(review, aUser('bob'))]);
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((result) => result.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(ConflictError);
  });

  it('records a break-glass review’s outcome on its request, and keeps it closed if chat fails', async () => {
    const requestId = `invoice-bot:req-${randomUUID()}`;
    await harness.store.claim(aRecord({ requestId, clientRequestId: requestId.split(':')[1]! }));
    const review = await anOpenReview({
      reviewId: requestReviewId(requestId),
      kind: 'BREAK_GLASS',
      subject: { agentId: 'invoice-bot', action: 's3:PutBucketPolicy', requestId, policy: 'break-glass' },
    });
    alerts.failure = new Error('Teams is down');
    const { updateError } = await close(review, aUser('bob'), {
      outcome: 'ESCALATED',
      reason: 'not an incident',
    });
    expect(updateError).toBe(alerts.failure);
    const timeline = await harness.store.listAudit(requestId);
    expect(timeline.find((entry) => entry.kind === 'REVIEWED')).toMatchObject({
      actor: 'bob',
      data: { outcome: 'ESCALATED', reason: 'not an incident', channel: 'console' },
    });
  });
});

describe('review reminders and escalations', () => {
  it('sends each due step once, and releases a step that failed for the next run', async () => {
    const review = await anOpenReview({ openedAt: '2025-05-31T11:00:00.000Z' });
    const deps = { reviews: harness.reviews, alerts, clock: harness.clock };
    // A day and five minutes after opening: the first escalation is due.
    harness.clock.set(new Date('2025-06-01T11:05:00.000Z'));
    alerts.failure = new Error('Slack is down');
    const failed = await sendReviewReminders(deps, 900);
    expect(failed.failures).toEqual([alerts.failure]);
    alerts.failure = undefined;
    const sent = await sendReviewReminders(deps, 900);
    expect(sent).toMatchObject({ sent: 1, alreadySent: 0, failures: [] });
    expect(sent.open).toBeGreaterThanOrEqual(1);
    expect(
      alerts.reminded.map(({ review: reminded, reminder }) => [reminded.reviewId, reminder.step]),
    ).toEqual([[review.reviewId, 'escalation-1']]);
    const again = await sendReviewReminders(deps, 900);
    expect(again).toMatchObject({ sent: 0, alreadySent: 1 });
  });
});

describe('the approval the publish step stores', () => {
  it('is stored before the receipt, for approving decisions of watched actions only', async () => {
    const approvedAs = (action: string) =>
      aRecord({
        requestId: `invoice-bot:req-${randomUUID()}`,
        status: 'APPROVED',
        decision: 'APPROVED',
        decidedAt: NOW.toISOString(),
        approvers: ['alice'],
        action,
        resource: { arn: `arn:aws:s3:::exports-${randomUUID()}` },
      });
    const approved = approvedAs('s3:PutBucketPolicy');
    await harness.store.claim(approved);
    await publishDecision(harness, { requestId: approved.requestId, executionArn: approved.executionArn });
    await expect(harness.calls.grantsOf(grantOf(approved)!)).resolves.toEqual([grantOf(approved)]);

    // A copy is no privileged action (countersign:privilegedActions): none of its calls is reconciled.
    const unwatched = approvedAs('s3:CopyObject');
    await harness.store.claim(unwatched);
    await publishDecision(harness, { requestId: unwatched.requestId, executionArn: unwatched.executionArn });
    await expect(harness.calls.grantsOf(grantOf(unwatched)!)).resolves.toEqual([]);

    const denied = aRecord({
      requestId: `invoice-bot:req-${randomUUID()}`,
      status: 'DENIED',
      decision: 'DENIED',
      decidedAt: NOW.toISOString(),
      resource: { arn: `arn:aws:s3:::exports-${randomUUID()}` },
    });
    await harness.store.claim(denied);
    await publishDecision(harness, { requestId: denied.requestId, executionArn: denied.executionArn });
    const asIfApproved = grantOf({ ...denied, decision: 'APPROVED' })!;
    await expect(harness.calls.grantsOf(asIfApproved)).resolves.toEqual([]);
  });
});
