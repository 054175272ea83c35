/**
 * The stores of privileged calls, approvals and after-the-fact reviews on dynalite: each write's
 * condition is the guard, so these tests race and repeat them.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbPrivilegedCallStore } from '../../../../lambdas/adapters/dynamodb/privileged-call-store.ts';
import { DynamoDbReviewStore } from '../../../../lambdas/adapters/dynamodb/review-store.ts';
import type { Review } from '../../../../lambdas/domain/after-the-fact-review.ts';
import { NotFoundError } from '../../../../lambdas/domain/errors.ts';
import type { ApprovalGrant, CallRecord } from '../../../../lambdas/domain/privileged-calls.ts';
import { type LocalTable, startDynalite } from '../../../support/dynalite.ts';

let table: LocalTable;
let calls: DynamoDbPrivilegedCallStore;
let reviews: DynamoDbReviewStore;

beforeAll(async () => {
  table = await startDynalite();
  calls = new DynamoDbPrivilegedCallStore({ client: table.client, tableName: table.tableName });
  reviews = new DynamoDbReviewStore({ client: table.client, tableName: table.tableName });
});

afterAll(async () => {
  await table.close();
});

function aCall(overrides: Partial<CallRecord> = {}): CallRecord {
  return {
    eventId: randomUUID(),
    eventName: 'PutBucketPolicy',
    eventSource: 's3.amazonaws.com',
    action: 's3:PutBucketPolicy',
    principalArn: 'arn:aws:iam::000000000000:user/agents/invoice-bot',
    agentId: 'invoice-bot',
    resourceArn: 'arn:aws:s3:::exports',
    eventTime: '2025-06-01T12:00:05Z',
    status: 'UNAPPROVED',
    readers: ['security'],
    fingerprint: 'a'.repeat(64),
    recordedAt: '2025-06-01T12:00:06.000Z',
    awsRegion: 'us-east-1',
    requestParameters: { bucketName: 'exports' },
    ...overrides,
  };
}

function aGrant(overrides: Partial<ApprovalGrant> = {}): ApprovalGrant {
  return {
    requestId: `invoice-bot:req-${randomUUID()}`,
    agentId: 'invoice-bot',
    action: 's3:PutBucketPolicy',
    resourceArn: `arn:aws:s3:::exports-${randomUUID()}`,
    decision: 'APPROVED',
    decidedAt: '2025-06-01T12:00:00.000Z',
    expiresAt: '2025-06-01T13:00:00.000Z',
    parameters: {},
    groups: ['security'],
    ...overrides,
  };
}

function aReview(overrides: Partial<Review> = {}): Review {
  const eventId = randomUUID();
  return {
    reviewId: `call:${eventId}`,
    kind: 'UNAPPROVED_CALL',
    status: 'OPEN',
    groups: ['security'],
    openedAt: new Date().toISOString(),
    requesters: ['invoice-bot'],
    subject: { agentId: 'invoice-bot', action: 's3:PutBucketPolicy', eventId, policy: 'needs security' },
    ...overrides,
  };
}

describe('privileged calls', () => {
  it('stores a call once by its eventID', async () => {
    const call = aCall();
    await expect(calls.putCall(call)).resolves.toEqual({ created: true, call });
    await expect(calls.putCall({ ...call, status: 'MATCHED' })).resolves.toEqual({ created: false, call });
    await expect(calls.getCall(call.eventId)).resolves.toEqual(call);
    await expect(calls.getCall(randomUUID())).resolves.toBeUndefined();
  });

  it('lists calls newest first, by status, only those the caller may read', async () => {
    const agentId = 'list-bot';
    const older = aCall({ agentId, eventTime: '2030-01-01T00:00:00Z', status: 'NOT_AN_AGENT', readers: [] });
    const newer = aCall({ agentId, eventTime: '2030-01-01T00:00:01Z', status: 'UNAPPROVED' });
    await calls.putCall(older);
    await calls.putCall(newer);
    const mine = (call: CallRecord) => call.agentId === agentId;
    const all = await calls.listCalls({ visible: mine });
    expect(all.items.map((call) => call.eventId)).toEqual([newer.eventId, older.eventId]);
    const unapproved = await calls.listCalls({ status: 'UNAPPROVED', visible: mine });
    expect(unapproved.items.map((call) => call.eventId)).toEqual([newer.eventId]);
    const first = await calls.listCalls({ limit: 1, visible: mine });
    expect(first.items).toEqual([newer]);
    const next = await calls.listCalls({ limit: 1, visible: mine, cursor: first.cursor! });
    expect(next.items).toEqual([older]);
  });

  it('covers an UNAPPROVED call once, moving it in the index, and nothing else', async () => {
    const call = aCall();
    await calls.putCall(call);
    const cover = {
      status: 'BREAK_GLASS' as const,
      requestId: 'invoice-bot:req-9',
      readers: ['platform'],
      reviewId: 'request:invoice-bot:req-9',
    };
    await expect(calls.coverCall(call.eventId, cover)).resolves.toBe(true);
    await expect(calls.getCall(call.eventId)).resolves.toMatchObject(cover);
    await expect(calls.coverCall(call.eventId, { ...cover, status: 'MATCHED' })).resolves.toBe(false);
    const matched = aCall({ reviewId: 'call:x' });
    await calls.putCall(matched);
    await calls.coverCall(matched.eventId, {
      status: 'MATCHED',
      requestId: 'invoice-bot:req-8',
      readers: [],
    });
    expect(await calls.getCall(matched.eventId)).not.toHaveProperty('reviewId');
    const page = await calls.listCalls({ status: 'BREAK_GLASS', limit: 100 });
    expect(page.items.map((item) => item.eventId)).toContain(call.eventId);
  });
});

describe('approvals', () => {
  it('keeps the first write of an approval, consumed by one call at a time', async () => {
    const grant = aGrant();
    await calls.putGrant(grant);
    await calls.putGrant({ ...grant, groups: ['someone-else'] });
    await expect(calls.grantsOf(grant)).resolves.toEqual([grant]);

    const [first, second] = await Promise.all([
      calls.consumeGrant(grant, 'e-1'),
      calls.consumeGrant(grant, 'e-2'),
    ]);
    expect([first, second].sort()).toEqual([false, true]);
    const winner = first ? 'e-1' : 'e-2';
    const loser = first ? 'e-2' : 'e-1';
    // The call that consumed it may consume it again (a redelivery); the other may not, nor free it.
    await expect(calls.consumeGrant(grant, winner)).resolves.toBe(true);
    await calls.releaseGrant(grant, loser);
    await expect(calls.grantsOf(grant)).resolves.toEqual([{ ...grant, consumedBy: winner }]);
    await calls.releaseGrant(grant, winner);
    await expect(calls.consumeGrant(grant, loser)).resolves.toBe(true);
    await expect(calls.consumeGrant(aGrant(), 'e-3')).resolves.toBe(false);
  });

  it('lists the approvals of a subject oldest decision first, reads one by its request, and the calls noted under it', async () => {
    const resourceArn = `arn:aws:s3:::${randomUUID()}`;
    const newer = aGrant({ resourceArn, decidedAt: '2025-06-01T12:00:02.000Z' });
    const older = aGrant({ resourceArn, decidedAt: '2025-06-01T12:00:01.000Z' });
    await calls.putGrant(newer);
    await calls.putGrant(older);
    await expect(calls.grantsOf(newer)).resolves.toEqual([older, newer]);
    await expect(calls.getGrant(newer, older.requestId)).resolves.toEqual(older);
    await expect(
      calls.getGrant({ ...newer, agentId: 'other-bot' }, older.requestId),
    ).resolves.toBeUndefined();
    await expect(calls.getGrant(newer, 'invoice-bot:none')).resolves.toBeUndefined();
    await calls.noteCall(newer, 'e-noted', '2025-06-01T12:00:05Z');
    await calls.noteCall(newer, 'e-noted', '2025-06-01T12:00:05Z');
    await expect(calls.callsOf(newer)).resolves.toEqual(['e-noted']);
    await expect(calls.callsOf({ ...newer, agentId: 'other-bot' })).resolves.toEqual([]);
  });
});

describe('after-the-fact reviews', () => {
  it('opens a review once and closes it once', async () => {
    const review = aReview();
    await expect(reviews.open(review)).resolves.toEqual({ created: true, review });
    await expect(reviews.open({ ...review, groups: ['x'] })).resolves.toEqual({ created: false, review });
    const at = new Date('2025-06-01T13:00:00.000Z');
    const closing = {
      status: 'ACKNOWLEDGED' as const,
      by: 'alice',
      reason: 'planned',
      channel: 'console' as const,
      at,
    };
    const [one, two] = await Promise.all([
      reviews.close(review.reviewId, closing),
      reviews.close(review.reviewId, { ...closing, status: 'ESCALATED', by: 'bob' }),
    ]);
    expect([one.applied, two.applied].sort()).toEqual([false, true]);
    const closed = one.applied ? one.review : two.review;
    expect(one.review).toEqual(closed);
    expect(two.review).toEqual(closed);
    expect(closed).toMatchObject({
      status: expect.stringMatching(/ACKNOWLEDGED|ESCALATED/),
      closedAt: at.toISOString(),
    });
    const withdrawn = aReview();
    await reviews.open(withdrawn);
    const { review: bare } = await reviews.close(withdrawn.reviewId, {
      status: 'WITHDRAWN',
      by: 'countersign',
      at,
    });
    expect(bare).not.toHaveProperty('reason');
    expect(bare).not.toHaveProperty('channel');
    await expect(reviews.close('call:missing', closing)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('lists open reviews only, reads many at once, and claims each reminder step once', async () => {
    const open = aReview({ openedAt: '2099-01-01T00:00:00.000Z' });
    const closed = aReview({ openedAt: '2099-01-01T00:00:01.000Z' });
    await reviews.open(open);
    await reviews.open(closed);
    await reviews.close(closed.reviewId, { status: 'ESCALATED', by: 'alice', at: new Date() });
    const page = await reviews.listOpen({ limit: 100 });
    expect(page.items.map((review) => review.reviewId)).toContain(open.reviewId);
    expect(page.items.map((review) => review.reviewId)).not.toContain(closed.reviewId);
    const many = await reviews.getMany([open.reviewId, closed.reviewId, open.reviewId, 'call:none']);
    expect(many.map((review) => review.reviewId).sort()).toEqual([open.reviewId, closed.reviewId].sort());
    await expect(reviews.getMany([])).resolves.toEqual([]);

    const at = new Date();
    await expect(reviews.claimReminder(open.reviewId, 'reminder-3600', at)).resolves.toBe(true);
    await expect(reviews.claimReminder(open.reviewId, 'reminder-3600', at)).resolves.toBe(false);
    await reviews.releaseReminder(open.reviewId, 'reminder-3600');
    await expect(reviews.claimReminder(open.reviewId, 'reminder-3600', at)).resolves.toBe(true);
  });

  it('reads more reviews than one batch holds', async () => {
    const many = Array.from({ length: 120 }, () => aReview());
    await Promise.all(many.map((review) => reviews.open(review)));
    const read = await reviews.getMany(many.map((review) => review.reviewId));
    expect(read).toHaveLength(120);
  });
});
