/**
 * Reconciling privileged calls (real-format CloudTrail events from test/fixtures/cloudtrail) with
 * approvals, on the real DynamoDB adapters (dynalite): every status, redeliveries, a forged
 * eventID, one approval per call, and approvals recorded after the call's event arrived.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConflictError, ValidationError } from '../../../lambdas/domain/errors.ts';
import { grantOf } from '../../../lambdas/domain/privileged-calls.ts';
import type { RequestRecord } from '../../../lambdas/domain/schemas.ts';
import {
  type ReconcileDeps,
  reconcileDecision,
  reconcilePrivilegedCall,
} from '../../../lambdas/services/reconcile-privileged-call.ts';
import { cloudTrailEvent } from '../domain/cloudtrail-fixtures.ts';
import { aRecord, requireApproval } from '../domain/fixtures.ts';
import { RecordingAlerts } from './fakes.ts';
import { AGENT_ARN, type Harness, reconcileDepsOf, startHarness } from './harness.ts';

const DECIDED_AT = '2024-05-14T13:00:00.000Z';

let harness: Harness;
let alerts: RecordingAlerts;
let deps: ReconcileDeps;

beforeAll(async () => {
  harness = await startHarness();
});

afterAll(async () => {
  await harness.table.close();
});

beforeEach(() => {
  alerts = new RecordingAlerts();
  harness.policy.answer = requireApproval({
    groups: ['security'],
    policyIds: ['data-export-needs-security'],
  });
  deps = reconcileDepsOf(harness, alerts);
});

/** The recorded PutBucketPolicy, made by the agent's IAM user on `bucket` at `eventTime`, with a fresh eventID. */
function agentPutBucketPolicy(bucket: string, eventTime = '2024-05-14T13:05:09Z', policy?: unknown) {
  const event = cloudTrailEvent('s3-PutBucketPolicy');
  event.detail.userIdentity = {
    type: 'IAMUser',
    principalId: 'AIDAEXAMPLEINVOICEBOT',
    arn: AGENT_ARN,
    accountId: '111122223333',
    accessKeyId: 'AKIAEXAMPLEINVOICE01',
    userName: 'invoice-bot',
  };
  event.detail.eventID = randomUUID();
  event.detail.eventTime = eventTime;
  event.detail.requestParameters.bucketName = bucket;
  if (policy !== undefined) event.detail.requestParameters.bucketPolicy = policy;
  return event;
}

/** A request of the agent for PutBucketPolicy on `bucket`, decided (APPROVED unless said) and stored. */
async function decidedRequest(
  bucket: string,
  overrides: Partial<RequestRecord> = {},
): Promise<RequestRecord> {
  const clientRequestId = `req-${randomUUID()}`;
  const record = aRecord({
    requestId: `invoice-bot:${clientRequestId}`,
    clientRequestId,
    status: 'APPROVED',
    decision: 'APPROVED',
    approvers: ['alice'],
    action: 's3:PutBucketPolicy',
    resource: { arn: `arn:aws:s3:::${bucket}` },
    parameters: { bucket },
    requesters: ['invoice-bot', 'olga'],
    createdAt: '2024-05-14T12:59:00.000Z',
    decidedAt: DECIDED_AT,
    ...overrides,
  });
  await harness.store.claim(record);
  return record;
}

/** As the publish step does: the approval is stored before the decision is published. */
async function published(record: RequestRecord): Promise<void> {
  await harness.calls.putGrant(grantOf(record)!);
}

function bucketName(): string {
  return `exports-${randomUUID().slice(0, 8)}`;
}

describe('reconciling a privileged call', () => {
  it('records a failed call as FAILED_CALL, with no alert and no review', async () => {
    const event = cloudTrailEvent('s3-DeleteBucketPublicAccessBlock-denied');
    event.detail.eventID = randomUUID();
    const { call, created } = await reconcilePrivilegedCall(deps, event);
    expect(created).toBe(true);
    expect(call).toMatchObject({
      status: 'FAILED_CALL',
      action: 's3:DeleteBucketPublicAccessBlock',
      principalArn: 'arn:aws:iam::111122223333:user/testuser',
      resourceArn: 'arn:aws:s3:::corporate-documents',
      errorCode: 'AccessDenied',
      readers: [],
    });
    expect(alerts.alerted).toEqual([]);
    await expect(harness.calls.getCall(call.eventId)).resolves.toEqual(call);
  });

  it('records an agent’s failed call as FAILED_CALL too: nothing happened, its approval stays unused', async () => {
    const bucket = bucketName();
    const record = await decidedRequest(bucket);
    await published(record);
    const event = agentPutBucketPolicy(bucket);
    event.detail.errorCode = 'NoSuchBucket';
    event.detail.errorMessage = 'The specified bucket does not exist';
    const { call } = await reconcilePrivilegedCall(deps, event);
    expect(call).toMatchObject({ status: 'FAILED_CALL', agentId: 'invoice-bot' });
    expect((await harness.calls.grantsOf(grantOf(record)!))[0]?.consumedBy).toBeUndefined();
    // Audited under the call's own id, not under the approval it did not use.
    const own = await harness.store.listAudit(`invoice-bot:call.${call.eventId}`);
    expect(own.map((fact) => [fact.kind, fact.data])).toEqual([
      ['RECONCILED', expect.objectContaining({ eventId: call.eventId, status: 'FAILED_CALL' })],
    ]);
    expect((await harness.store.listAudit(record.requestId)).map((fact) => fact.kind)).not.toContain(
      'RECONCILED',
    );
  });

  it('records a principal that is no agent as NOT_AN_AGENT (an assumed role by its issuer)', async () => {
    const event = cloudTrailEvent('iam-AttachRolePolicy');
    event.detail.eventID = randomUUID();
    const { call } = await reconcilePrivilegedCall(deps, event);
    expect(call).toMatchObject({
      status: 'NOT_AN_AGENT',
      action: 'iam:AttachRolePolicy',
      principalArn: 'arn:aws:iam::111122223333:role/PlatformAdmin',
      resourceArn: 'arn:aws:iam::111122223333:role/ci-deployer',
    });
    expect(call).not.toHaveProperty('agentId');
    expect(alerts.alerted).toEqual([]);
    // Humans are out of scope: listed as a call, audited under no request.
    expect(await harness.store.listAudit(`invoice-bot:call.${call.eventId}`)).toEqual([]);
  });

  it('records an agent’s call no approval covers as UNAPPROVED, opens its review and alerts', async () => {
    harness.policy.answer = requireApproval({
      groups: ['platform'],
      reason: 'Approval required by policy "iam-privilege-change-needs-platform".',
    });
    const event = cloudTrailEvent('iam-AttachRolePolicy');
    event.detail.eventID = randomUUID();
    // The agent runs as the PlatformAdmin role: its sessions are named by the role.
    deps = {
      ...deps,
      agents: [{ id: 'invoice-bot', principalArn: 'arn:aws:iam::111122223333:role/PlatformAdmin' }],
    };
    const { call } = await reconcilePrivilegedCall(deps, event);
    expect(call).toMatchObject({
      status: 'UNAPPROVED',
      agentId: 'invoice-bot',
      readers: ['platform'],
      reviewId: `call:${event.detail.eventID}`,
    });
    expect(call).not.toHaveProperty('requestId');
    expect(harness.policy.requests.at(-1)).toMatchObject({
      agent: { id: 'invoice-bot' },
      action: 'iam:AttachRolePolicy',
      resource: { arn: 'arn:aws:iam::111122223333:role/ci-deployer' },
      parameters: { roleName: 'ci-deployer', policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' },
    });
    const review = await harness.reviews.get(`call:${event.detail.eventID}`);
    expect(review).toMatchObject({
      kind: 'UNAPPROVED_CALL',
      status: 'OPEN',
      groups: ['platform'],
      requesters: ['invoice-bot', 'olga'],
      subject: {
        agentId: 'invoice-bot',
        action: 'iam:AttachRolePolicy',
        resourceArn: 'arn:aws:iam::111122223333:role/ci-deployer',
        principalArn: 'arn:aws:iam::111122223333:role/PlatformAdmin',
        sourceIPAddress: '203.0.113.25',
        policy: 'Approval required by policy "iam-privilege-change-needs-platform".',
      },
    });
    expect(alerts.alerted).toEqual([review]);
    // The call's own audit trail, where Athena's unapproved-calls query finds it and its review.
    const [reconciled, ...rest] = await harness.store.listAudit(`invoice-bot:call.${event.detail.eventID}`);
    expect(rest).toEqual([]);
    expect(reconciled).toMatchObject({
      kind: 'RECONCILED',
      key: `RECONCILED#${event.detail.eventID}`,
      actor: 'countersign',
      data: {
        eventId: event.detail.eventID,
        status: 'UNAPPROVED',
        action: 'iam:AttachRolePolicy',
        principalArn: 'arn:aws:iam::111122223333:role/PlatformAdmin',
        resourceArn: 'arn:aws:iam::111122223333:role/ci-deployer',
      },
    });
  });

  it('has the default group review a call whose policies name no approvers, or whose resource cannot be told', async () => {
    harness.policy.answer = {
      ...requireApproval(),
      decision: 'ALLOW',
      groups: [],
      reason: 'Allowed by policy "read".',
    };
    const allowed = await reconcilePrivilegedCall(deps, agentPutBucketPolicy(bucketName()));
    expect(allowed.call.readers).toEqual(['security']);
    expect(alerts.alerted[0]?.subject.policy).toBe('Allowed by policy "read".');

    const unknown = agentPutBucketPolicy(bucketName());
    unknown.detail.requestParameters = null;
    const { call } = await reconcilePrivilegedCall(deps, unknown);
    expect(call).toMatchObject({ status: 'UNAPPROVED', readers: ['security'] });
    expect(call).not.toHaveProperty('resourceArn');
    expect(alerts.alerted[1]?.subject.policy).toMatch(/^The resource could not be told/);
  });

  it('matches a call to the approval that covers it, links the request and shows the call on its timeline', async () => {
    const bucket = bucketName();
    const record = await decidedRequest(bucket);
    await published(record);
    const { call } = await reconcilePrivilegedCall(deps, agentPutBucketPolicy(bucket));
    expect(call).toMatchObject({ status: 'MATCHED', requestId: record.requestId, readers: ['security'] });
    expect(call).not.toHaveProperty('reviewId');
    expect(alerts.alerted).toEqual([]);
    const timeline = await harness.store.listAudit(record.requestId);
    expect(timeline.find((entry) => entry.kind === 'RECONCILED')).toMatchObject({
      key: `RECONCILED#${call.eventId}`,
      data: { eventId: call.eventId, status: 'MATCHED', action: 's3:PutBucketPolicy' },
    });
  });

  it('covers one call per approval: the same call again is UNAPPROVED', async () => {
    const bucket = bucketName();
    await published(await decidedRequest(bucket));
    const first = await reconcilePrivilegedCall(deps, agentPutBucketPolicy(bucket, '2024-05-14T13:05:09Z'));
    const second = await reconcilePrivilegedCall(deps, agentPutBucketPolicy(bucket, '2024-05-14T13:06:00Z'));
    expect([first.call.status, second.call.status]).toEqual(['MATCHED', 'UNAPPROVED']);
    expect(alerts.alerted.map((review) => review.subject.eventId)).toEqual([second.call.eventId]);
  });

  it('gives one approval to exactly one of two calls reconciled at once', async () => {
    const bucket = bucketName();
    await published(await decidedRequest(bucket));
    const results = await Promise.all([
      reconcilePrivilegedCall(deps, agentPutBucketPolicy(bucket, '2024-05-14T13:05:09Z')),
      reconcilePrivilegedCall(deps, agentPutBucketPolicy(bucket, '2024-05-14T13:05:10Z')),
    ]);
    expect(results.map(({ call }) => call.status).sort()).toEqual(['MATCHED', 'UNAPPROVED']);
  });

  it('does not match an approval decided after the call, expired before it, or for other parameter values', async () => {
    const late = bucketName();
    await published(await decidedRequest(late, { decidedAt: '2024-05-14T13:05:10.000Z' }));
    expect((await reconcilePrivilegedCall(deps, agentPutBucketPolicy(late))).call.status).toBe('UNAPPROVED');

    const expired = bucketName();
    await published(
      await decidedRequest(expired, { policy: requireApproval({ approvalValidForSeconds: 60 }) }),
    );
    expect((await reconcilePrivilegedCall(deps, agentPutBucketPolicy(expired))).call.status).toBe(
      'UNAPPROVED',
    );

    const other = bucketName();
    await published(
      await decidedRequest(other, { parameters: { bucket: other, policy: '{"Statement":[]}' } }),
    );
    expect((await reconcilePrivilegedCall(deps, agentPutBucketPolicy(other))).call.status).toBe('UNAPPROVED');

    const same = bucketName();
    const document = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:*' }],
    };
    await published(
      await decidedRequest(same, { parameters: { bucket: same, policy: JSON.stringify(document) } }),
    );
    expect(
      (await reconcilePrivilegedCall(deps, agentPutBucketPolicy(same, undefined, document))).call.status,
    ).toBe('MATCHED');
  });

  it('records a redelivered event once and finishes what the first delivery left undone', async () => {
    const event = agentPutBucketPolicy(bucketName());
    alerts.failure = new Error('Slack is down');
    await expect(reconcilePrivilegedCall(deps, event)).rejects.toThrow('Slack is down');
    alerts.failure = undefined;
    const again = await reconcilePrivilegedCall(deps, event);
    expect(again.created).toBe(false);
    expect(again.call.status).toBe('UNAPPROVED');
    expect(alerts.alerted.map((review) => review.reviewId)).toEqual([`call:${event.detail.eventID}`]);
    const page = await harness.calls.listCalls({ status: 'UNAPPROVED', limit: 100 });
    expect(page.items.filter((call) => call.eventId === event.detail.eventID)).toHaveLength(1);
  });

  it('refuses a different record claiming a recorded eventID, and keeps the first', async () => {
    const event = agentPutBucketPolicy(bucketName());
    const { call } = await reconcilePrivilegedCall(deps, event);
    const forged = structuredClone(event);
    forged.detail.errorCode = 'AccessDenied';
    const refusal = reconcilePrivilegedCall(deps, forged);
    await expect(refusal).rejects.toBeInstanceOf(ConflictError);
    await expect(refusal).rejects.toMatchObject({ code: 'EVENT_ID_CONFLICT' });
    await expect(harness.calls.getCall(call.eventId)).resolves.toEqual(call);
  });

  it('refuses what is not a CloudTrail API call', async () => {
    await expect(reconcilePrivilegedCall(deps, { 'detail-type': 'Action Requested' })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });
});

describe('approvals recorded after the call’s event arrived', () => {
  it('covers a call made after the decision, withdraws its review and updates the alert', async () => {
    const bucket = bucketName();
    const record = await decidedRequest(bucket);
    // The call arrives before the publish step stored the approval.
    const { call } = await reconcilePrivilegedCall(deps, agentPutBucketPolicy(bucket));
    expect(call.status).toBe('UNAPPROVED');
    await published(record);
    const covered = await reconcileDecision(deps, record.requestId);
    expect(covered).toMatchObject({ eventId: call.eventId, status: 'MATCHED', requestId: record.requestId });
    await expect(harness.calls.getCall(call.eventId)).resolves.toMatchObject({ status: 'MATCHED' });
    const review = await harness.reviews.get(`call:${call.eventId}`);
    expect(review).toMatchObject({ status: 'WITHDRAWN', closedBy: 'countersign' });
    expect(review?.reason).toMatch(/^covered by request invoice-bot:req-/);
    expect(alerts.updated).toEqual([review]);
    // Both facts stand: UNAPPROVED when it arrived (with the withdrawal beside it), MATCHED under the request.
    const own = await harness.store.listAudit(`invoice-bot:call.${call.eventId}`);
    expect(own.map((fact) => [fact.kind, fact.data])).toEqual([
      ['RECONCILED', expect.objectContaining({ status: 'UNAPPROVED' })],
      ['REVIEWED', { outcome: 'WITHDRAWN', reason: review?.reason }],
    ]);
    const timeline = await harness.store.listAudit(record.requestId);
    expect(timeline.filter((fact) => fact.kind === 'RECONCILED').map((fact) => fact.data)).toEqual([
      expect.objectContaining({ eventId: call.eventId, status: 'MATCHED' }),
    ]);
    // Published again (a retried publish): nothing more to cover.
    await expect(reconcileDecision(deps, record.requestId)).resolves.toBeUndefined();
  });

  it('reads the approval the publish step stored, alone, and does not write it again', async () => {
    const bucket = bucketName();
    // Earlier approvals of the same action on the same resource are not read for this decision.
    await published(await decidedRequest(bucket));
    const record = await decidedRequest(bucket);
    await published(record);
    const putGrant = vi.spyOn(harness.calls, 'putGrant');
    const grantsOf = vi.spyOn(harness.calls, 'grantsOf');
    try {
      await expect(reconcileDecision(deps, record.requestId)).resolves.toBeUndefined();
      expect(putGrant).not.toHaveBeenCalled();
      expect(grantsOf).not.toHaveBeenCalled();
    } finally {
      putGrant.mockRestore();
      grantsOf.mockRestore();
    }
  });

  it('stores the approval itself when the publish step has not, and covers the oldest waiting call only', async () => {
    const bucket = bucketName();
    const record = await decidedRequest(bucket);
    const later = await reconcilePrivilegedCall(deps, agentPutBucketPolicy(bucket, '2024-05-14T13:07:00Z'));
    const earlier = await reconcilePrivilegedCall(deps, agentPutBucketPolicy(bucket, '2024-05-14T13:06:00Z'));
    const covered = await reconcileDecision(deps, record.requestId);
    expect(covered?.eventId).toBe(earlier.call.eventId);
    await expect(harness.calls.getCall(later.call.eventId)).resolves.toMatchObject({ status: 'UNAPPROVED' });
  });

  it('leaves a call made before the decision UNAPPROVED', async () => {
    const bucket = bucketName();
    const record = await decidedRequest(bucket, { decidedAt: '2024-05-14T13:10:00.000Z' });
    const { call } = await reconcilePrivilegedCall(deps, agentPutBucketPolicy(bucket));
    await expect(reconcileDecision(deps, record.requestId)).resolves.toBeUndefined();
    await expect(harness.calls.getCall(call.eventId)).resolves.toMatchObject({ status: 'UNAPPROVED' });
  });

  it('looks up nothing for an approval of an action it does not watch, which no reconciled call can be', async () => {
    const bucket = bucketName();
    const read = await decidedRequest(bucket, {
      action: 's3:GetObject',
      parameters: { bucket, key: 'a.csv' },
    });
    await published(read);
    const spies = (['getGrant', 'putGrant', 'callsOf'] as const).map((method) =>
      vi.spyOn(harness.calls, method),
    );
    try {
      await expect(reconcileDecision(deps, read.requestId)).resolves.toBeUndefined();
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
      // Watched once more, the same approval is looked up.
      await expect(
        reconcileDecision({ ...deps, watchedActions: new Set(['s3:GetObject']) }, read.requestId),
      ).resolves.toBeUndefined();
      expect(spies[0]).toHaveBeenCalled();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });

  it('ignores decisions that approve nothing, and requests that do not exist', async () => {
    const denied = await decidedRequest(bucketName(), {
      status: 'DENIED',
      decision: 'DENIED',
      approvers: [],
    });
    await expect(reconcileDecision(deps, denied.requestId)).resolves.toBeUndefined();
    await expect(reconcileDecision(deps, 'invoice-bot:nothing')).resolves.toBeUndefined();
  });

  it('finds each other when the call and the approval race', async () => {
    for (let round = 0; round < 5; round += 1) {
      const bucket = bucketName();
      const record = await decidedRequest(bucket);
      const [reconciled] = await Promise.all([
        reconcilePrivilegedCall(deps, agentPutBucketPolicy(bucket)),
        published(record).then(() => reconcileDecision(deps, record.requestId)),
      ]);
      await expect(harness.calls.getCall(reconciled.call.eventId)).resolves.toMatchObject({
        status: 'MATCHED',
        requestId: record.requestId,
      });
    }
  });
});

describe('break-glass', () => {
  it('opens the request’s review when the decision is published and marks the call BREAK_GLASS, linked', async () => {
    const bucket = bucketName();
    const record = await decidedRequest(bucket, {
      decision: 'BREAK_GLASS',
      approvers: [],
      policy: requireApproval({ decision: 'BREAK_GLASS', groups: ['security'] }),
      breakGlass: { reason: 'customers cannot download invoices', incident: 'INC-7' },
    });
    await published(record);
    await reconcileDecision(deps, record.requestId);
    const reviewId = `request:${record.requestId}`;
    const review = await harness.reviews.get(reviewId);
    expect(review).toMatchObject({
      kind: 'BREAK_GLASS',
      status: 'OPEN',
      groups: ['security'],
      requesters: ['invoice-bot', 'olga'],
      subject: {
        requestId: record.requestId,
        breakGlass: { reason: 'customers cannot download invoices', incident: 'INC-7' },
      },
    });
    expect(alerts.alerted).toEqual([review]);
    const { call } = await reconcilePrivilegedCall(deps, agentPutBucketPolicy(bucket));
    expect(call).toMatchObject({ status: 'BREAK_GLASS', requestId: record.requestId, reviewId });
    // Published again: the review is opened once, and alerting again edits nothing new.
    await reconcileDecision(deps, record.requestId);
    await expect(harness.reviews.get(reviewId)).resolves.toEqual(review);
  });
});
