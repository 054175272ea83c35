import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDbClassificationStore } from '../../../lambdas/adapters/dynamodb/classification-store.ts';
import { DynamoDbPrivilegedCallStore } from '../../../lambdas/adapters/dynamodb/privileged-call-store.ts';
import { DynamoDbRequestStore } from '../../../lambdas/adapters/dynamodb/request-store.ts';
import { DynamoDbReviewStore } from '../../../lambdas/adapters/dynamodb/review-store.ts';
import { createJwtVerifier } from '../../../lambdas/adapters/jwt-verifier.ts';
import { StaticDirectory } from '../../../lambdas/adapters/static-directory.ts';
import type { Review } from '../../../lambdas/domain/after-the-fact-review.ts';
import {
  ConflictError,
  CountersignError,
  ForbiddenError,
  NotFoundError,
} from '../../../lambdas/domain/errors.ts';
import type { CallRecord } from '../../../lambdas/domain/privileged-calls.ts';
import type { RequestRecord } from '../../../lambdas/domain/schemas.ts';
import { type ApiApp, createApiApp } from '../../../lambdas/http/api-app.ts';
import { ClassificationDetailBody } from '../../../lambdas/http/bodies.ts';
import type { HttpRequest } from '../../../lambdas/http/request.ts';
import { buildOpenApiDocument } from '../../../lambdas/openapi.ts';
import type {
  AccessTokenVerifier,
  CastVote,
  CloseReview,
  SettleRequest,
} from '../../../lambdas/ports/index.ts';
import { closeReview as closeReviewService } from '../../../lambdas/services/close-review.ts';
import { type LocalTable, startDynalite } from '../../support/dynalite.ts';
import { AUDIT_DATA } from '../domain/fixtures.ts';
import { RecordingAlerts } from '../services/fakes.ts';

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'countersign-api';
const NOW = new Date('2026-11-22T10:00:00.000Z');

const directory = new StaticDirectory({
  users: [
    { id: 'carol', email: 'carol@example.com', groups: ['platform'] },
    { id: 'erin', email: 'erin@example.com', groups: ['platform'] },
    { id: 'alice', email: 'alice@example.com', groups: ['security'] },
    { id: 'dave', email: 'dave@example.com', groups: [] },
    { id: 'frank', email: 'frank@example.com', groups: ['finance'] },
  ],
  agents: [{ id: 'invoice-bot', owner: 'dave' }],
});

function pendingRecord(clientRequestId: string, createdAt: string): RequestRecord {
  const requestId = `invoice-bot:${clientRequestId}`;
  return {
    requestId,
    clientRequestId,
    status: 'PENDING',
    agent: { id: 'invoice-bot', onBehalfOf: 'dave' },
    requesters: ['invoice-bot', 'dave'],
    action: 'iam:AttachRolePolicy',
    resource: { arn: 'arn:aws:iam::123456789012:role/invoice-exporter' },
    parameters: { policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' },
    justification: 'repair the export',
    actionHash: 'b'.repeat(64),
    policy: {
      decision: 'REQUIRE_APPROVAL',
      groups: ['platform'],
      quorum: 2,
      timeoutSeconds: 3600,
      stepUp: false,
      policyIds: ['admin-attach'],
      reason: 'attaching AdministratorAccess needs two platform approvers',
    },
    votes: [],
    approvers: [],
    executionArn: `arn:aws:states:us-east-1:123456789012:execution:approval:${requestId}`,
    sourceEventId: `event-${requestId}`,
    createdAt,
    expiresAt: '2026-11-22T11:00:00.000Z',
  };
}

let table: LocalTable;
let classifications: DynamoDbClassificationStore;
let store: DynamoDbRequestStore;
let calls: DynamoDbPrivilegedCallStore;
let reviews: DynamoDbReviewStore;
let closeReview: CloseReview;
const alerts = new RecordingAlerts();
let signingKey: CryptoKey;
let verifier: AccessTokenVerifier;
let app: ApiApp;
const castVote = vi.fn<CastVote>();
/** Settles nothing unless a test says otherwise. */
const settle = vi.fn<SettleRequest>(async (record) => record);
const logger = { error: vi.fn() };

beforeAll(async () => {
  table = await startDynalite();
  store = new DynamoDbRequestStore({ client: table.client, tableName: table.tableName });
  calls = new DynamoDbPrivilegedCallStore({ client: table.client, tableName: table.tableName });
  reviews = new DynamoDbReviewStore({ client: table.client, tableName: table.tableName });
  closeReview = (command) =>
    closeReviewService({ reviews, alerts, store, clock: { now: () => NOW } }, command);
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  signingKey = privateKey;
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] };
  verifier = createJwtVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUrl: `${ISSUER}/jwks.json`,
    fetch: async () => Response.json(jwks),
  });
  classifications = new DynamoDbClassificationStore({ client: table.client, tableName: table.tableName });
  app = createApiApp({
    store,
    classifications,
    calls,
    reviews,
    directory,
    auditorGroups: ['security'],
    verifier,
    castVote,
    closeReview,
    settle,
    clock: { now: () => NOW },
    logger,
    openApiDocument: buildOpenApiDocument,
  });
  await store.claim(pendingRecord('req-old', '2026-11-22T09:00:00.000Z'));
  await store.claim(pendingRecord('req-new', '2026-11-22T09:30:00.000Z'));
  await store.appendAudit({
    requestId: 'invoice-bot:req-new',
    kind: 'REQUESTED',
    key: 'REQUESTED',
    at: '2026-11-22T09:30:00.000Z',
    actor: 'invoice-bot',
    data: AUDIT_DATA.REQUESTED,
  });
});

afterAll(async () => {
  await table.close();
});

async function tokenFor(subject: string, claims: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(subject)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(signingKey);
}

async function call(
  method: string,
  path: string,
  options: { as?: string; token?: string; body?: string; query?: Record<string, string> } = {},
) {
  const token = options.token ?? (options.as === undefined ? undefined : await tokenFor(options.as));
  const request: HttpRequest = {
    method,
    path,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    query: options.query ?? {},
    body: options.body,
  };
  const response = await app(request);
  return { status: response.statusCode, headers: response.headers ?? {}, body: JSON.parse(response.body) };
}

describe('classifications', () => {
  it('shows an auditor what Macie found in an object: its classification, verdicts and history', async () => {
    const verdict = {
      bucket: 'finance-exports',
      key: '2026/11/cards.csv',
      severity: 'High' as const,
      categories: ['FINANCIAL_INFORMATION'],
      types: ['CREDIT_CARD_NUMBER'],
      typeCounts: { CREDIT_CARD_NUMBER: 4 },
      findingIds: ['f-1'],
      findingType: 'SensitiveData:S3Object/Financial',
      updatedAt: '2026-11-22T08:00:00.000Z',
    };
    const { recordObjectVerdict } = await import('../../../lambdas/services/classification.ts');
    await recordObjectVerdict({ store: classifications, clock: { now: () => NOW } }, verdict, 'macie');
    const resource = 'arn:aws:s3:::finance-exports/2026/11/cards.csv';
    const response = await call('GET', '/api/classifications', { as: 'alice', query: { resource } });
    expect(response.status).toBe(200);
    expect(ClassificationDetailBody.parse(response.body)).toMatchObject({
      resource,
      subject: 's3://finance-exports/2026/11/cards.csv',
      classification: { status: 'CLASSIFIED', severity: 'High', findingIds: ['f-1'] },
      object: verdict,
      bucket: { severity: 'High', objects: 1 },
      bucketFindings: [],
      history: [expect.objectContaining({ kind: 'CLASSIFICATION_CHANGED', actor: 'macie' })],
    });
    const bucket = await call('GET', '/api/classifications', {
      as: 'alice',
      query: { resource: 'arn:aws:s3:::finance-exports' },
    });
    expect(bucket.body).toMatchObject({
      subject: 's3://finance-exports',
      classification: { severity: 'High' },
    });
    expect(bucket.body.object).toBeUndefined();
    const unknown = await call('GET', '/api/classifications', {
      as: 'alice',
      query: { resource: 'arn:aws:s3:::empty/x' },
    });
    expect(unknown.body).toMatchObject({ classification: { status: 'UNCLASSIFIED' }, history: [] });
  });

  it('is for auditors only, and only about S3 buckets and objects', async () => {
    const resource = 'arn:aws:s3:::finance-exports/2026/11/cards.csv';
    expect(await call('GET', '/api/classifications', { as: 'carol', query: { resource } })).toMatchObject({
      status: 403,
      body: { error: { code: 'NOT_AN_AUDITOR' } },
    });
    expect(
      await call('GET', '/api/classifications', {
        as: 'alice',
        query: { resource: 'arn:aws:iam::123456789012:role/x' },
      }),
    ).toMatchObject({ status: 400 });
    expect((await call('GET', '/api/classifications', { as: 'alice' })).status).toBe(400);
  });
});

describe('authentication', () => {
  it('answers 401 without a token or with an invalid one, and never reaches the store', async () => {
    expect(await call('GET', '/api/requests')).toMatchObject({
      status: 401,
      body: { error: { code: 'UNAUTHENTICATED' } },
    });
    const forged = `${(await tokenFor('carol')).slice(0, -4)}AAAA`;
    expect((await call('GET', '/api/requests', { token: forged })).status).toBe(401);
  });

  it('refuses a valid token whose holder is not in the directory (fail closed)', async () => {
    const response = await call('GET', '/api/me', { as: 'mallory' });
    expect(response).toMatchObject({ status: 403, body: { error: { code: 'UNKNOWN_IDENTITY' } } });
  });

  it("resolves the caller by verified email when the issuer's subject is opaque", async () => {
    const token = await tokenFor('3f1c-opaque-sub', { email: 'Erin@Example.com' });
    const response = await call('GET', '/api/me', { token });
    expect(response).toMatchObject({
      status: 200,
      body: { principal: { id: 'erin', groups: ['platform'] } },
    });
  });

  it('refuses a token whose subject and email name different people', async () => {
    const token = await tokenFor('carol', { email: 'erin@example.com' });
    expect(await call('GET', '/api/me', { token })).toMatchObject({
      status: 403,
      body: { error: { code: 'AMBIGUOUS_IDENTITY' } },
    });
  });

  it('serves the OpenAPI document without a token', async () => {
    const response = await call('GET', '/api/openapi.json');
    expect(response.status).toBe(200);
    expect(response.body.openapi).toBe('3.1.0');
    expect(Object.keys(response.body.paths)).toContain('/api/requests/{id}/votes');
  });
});

describe('reading requests', () => {
  it('lists newest first, filtered by status, paging with a cursor', async () => {
    const first = await call('GET', '/api/requests', {
      as: 'carol',
      query: { status: 'PENDING', limit: '1' },
    });
    expect(first.status).toBe(200);
    expect(first.body.items.map((r: RequestRecord) => r.requestId)).toEqual(['invoice-bot:req-new']);
    const second = await call('GET', '/api/requests', {
      as: 'carol',
      query: { limit: '1', cursor: first.body.cursor },
    });
    expect(second.body.items.map((r: RequestRecord) => r.requestId)).toEqual(['invoice-bot:req-old']);
    const approved = await call('GET', '/api/requests', { as: 'carol', query: { status: 'APPROVED' } });
    expect(approved.body).toEqual({ items: [] });
  });

  it('answers 400 for a bad status, limit or cursor', async () => {
    const queries: Record<string, string>[] = [
      { status: 'MAYBE' },
      { limit: '0' },
      { limit: 'ten' },
      { cursor: 'not-a-cursor' },
    ];
    for (const query of queries) {
      const response = await call('GET', '/api/requests', { as: 'carol', query });
      expect(response.status, JSON.stringify(query)).toBe(400);
      expect(response.body.error.code).toBe('INVALID_REQUEST');
    }
  });

  it('shows a request with its timeline and says the caller may vote', async () => {
    const response = await call('GET', '/api/requests/invoice-bot:req-new', { as: 'carol' });
    expect(response.status).toBe(200);
    expect(response.body.request).toMatchObject({
      requestId: 'invoice-bot:req-new',
      status: 'PENDING',
      actionHash: 'b'.repeat(64),
    });
    expect(response.body.timeline).toEqual([
      expect.objectContaining({ kind: 'REQUESTED', actor: 'invoice-bot' }),
    ]);
    expect(response.body.canVote).toEqual({ eligible: true });
  });

  it('settles a request before showing it: a decision its stored votes make is shown, with no vote offered', async () => {
    settle.mockImplementationOnce(async (record) => ({
      ...record,
      status: 'APPROVED',
      decision: 'APPROVED',
      approvers: ['alice'],
    }));
    const response = await call('GET', '/api/requests/invoice-bot:req-new', { as: 'carol' });
    expect(settle).toHaveBeenLastCalledWith(expect.objectContaining({ requestId: 'invoice-bot:req-new' }));
    expect(response.body.request).toMatchObject({ status: 'APPROVED', decision: 'APPROVED' });
    expect(response.body.canVote).toMatchObject({ eligible: false, code: 'NOT_PENDING' });
  });

  it('tells the person the agent acts for, and an outsider, why they cannot vote', async () => {
    const dave = await call('GET', '/api/requests/invoice-bot:req-new', { as: 'dave' });
    expect(dave.body.canVote).toMatchObject({ eligible: false, code: 'REQUESTER' });
    const alice = await call('GET', '/api/requests/invoice-bot:req-new', { as: 'alice' });
    expect(alice.body.canVote).toMatchObject({
      eligible: false,
      code: 'NOT_IN_GROUP',
      message: expect.any(String),
    });
  });

  it('answers someone who may not read a request exactly as if it did not exist, and lists nothing for them', async () => {
    const hidden = await call('GET', '/api/requests/invoice-bot:req-new', { as: 'frank' });
    const missing = await call('GET', '/api/requests/invoice-bot:nope', { as: 'frank' });
    expect(hidden).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    expect(hidden.body.error.message).toBe('no request with id invoice-bot:req-new');
    expect(missing.body.error.message).toBe('no request with id invoice-bot:nope');
    expect((await call('GET', '/api/requests', { as: 'frank' })).body).toEqual({ items: [] });
    castVote.mockClear();
    const voted = await call('POST', '/api/requests/invoice-bot:req-new/votes', {
      as: 'frank',
      body: '{"vote":"approve"}',
    });
    expect(voted).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    expect(castVote).not.toHaveBeenCalled();
  });

  it('lets requesters, approver groups and auditor groups read: dave asked, carol approves, alice audits', async () => {
    for (const reader of ['dave', 'carol', 'alice']) {
      expect((await call('GET', '/api/requests/invoice-bot:req-new', { as: reader })).status, reader).toBe(
        200,
      );
      const listed = (await call('GET', '/api/requests', { as: reader })).body.items;
      expect(
        listed.map((r: RequestRecord) => r.requestId),
        reader,
      ).toContain('invoice-bot:req-new');
    }
  });

  it('answers 404 for an unknown request and for unknown routes, 405 for a wrong method', async () => {
    expect((await call('GET', '/api/requests/nope', { as: 'carol' })).status).toBe(404);
    expect((await call('GET', '/api/elsewhere', { as: 'carol' })).status).toBe(404);
    const wrong = await call('DELETE', '/api/requests/invoice-bot:req-new', { as: 'carol' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('GET');
  });
});

describe('reading requests through a filter', () => {
  let scoped: LocalTable;
  let scopedApp: ApiApp;

  beforeAll(async () => {
    scoped = await startDynalite();
    const scopedStore = new DynamoDbRequestStore({ client: scoped.client, tableName: scoped.tableName });
    scopedApp = createApiApp({
      store: scopedStore,
      classifications: new DynamoDbClassificationStore({
        client: scoped.client,
        tableName: scoped.tableName,
      }),
      calls,
      reviews,
      directory,
      auditorGroups: [],
      verifier,
      castVote,
      closeReview,
      settle,
      clock: { now: () => NOW },
      logger,
      openApiDocument: () => ({}),
    });
    // 40 requests, one in eight for finance to approve: frank's pages must still be full and in order.
    for (let n = 0; n < 40; n += 1) {
      const record = pendingRecord(
        `r-${String(n).padStart(2, '0')}`,
        new Date(Date.UTC(2026, 10, 22, 9, n)).toISOString(),
      );
      const groups = n % 8 === 3 ? ['finance'] : ['platform'];
      await scopedStore.claim({ ...record, policy: { ...record.policy, groups } });
    }
  });
  afterAll(() => scoped.close());

  it('pages through only what the caller may read, newest first, every page full but the last', async () => {
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const token = await tokenFor('frank');
      const response = await scopedApp({
        method: 'GET',
        path: '/api/requests',
        headers: { authorization: `Bearer ${token}` },
        query: { limit: '2', ...(cursor === undefined ? {} : { cursor }) },
        body: undefined,
      });
      const body = JSON.parse(response.body) as { items: RequestRecord[]; cursor?: string };
      pages.push(body.items.map((record) => record.clientRequestId));
      cursor = body.cursor;
    } while (cursor !== undefined);
    expect(pages.flat()).toEqual(['r-35', 'r-27', 'r-19', 'r-11', 'r-03']);
    expect(pages.slice(0, 2)).toEqual([
      ['r-35', 'r-27'],
      ['r-19', 'r-11'],
    ]);
  });
});

describe('voting', () => {
  it('validates the body before calling the service', async () => {
    castVote.mockClear();
    for (const body of [
      undefined,
      '{',
      '{"vote":"maybe"}',
      '{"vote":"deny"}',
      '{"vote":"approve","extra":1}',
    ]) {
      const response = await call('POST', '/api/requests/invoice-bot:req-new/votes', {
        as: 'carol',
        ...(body ? { body } : {}),
      });
      expect(response.status, String(body)).toBe(400);
    }
    expect(castVote).not.toHaveBeenCalled();
  });

  it('records an accepted vote through the service as the caller, on the api channel: 201', async () => {
    const record = { ...pendingRecord('req-new', '2026-11-22T09:30:00.000Z') };
    castVote.mockResolvedValueOnce({ record, decided: false });
    const response = await call('POST', '/api/requests/invoice-bot:req-new/votes', {
      as: 'carol',
      body: JSON.stringify({ vote: 'approve', reason: 'looks right' }),
    });
    expect(response).toMatchObject({
      status: 201,
      body: { decided: false, request: { requestId: 'invoice-bot:req-new' } },
    });
    expect(castVote).toHaveBeenCalledWith({
      requestId: 'invoice-bot:req-new',
      principal: expect.objectContaining({ id: 'carol', type: 'user' }),
      input: { vote: 'approve', reason: 'looks right' },
      channel: 'api',
    });
  });

  it.each([
    [new ForbiddenError('REQUESTER', 'no self-approval'), 403, 'REQUESTER'],
    [new ConflictError('ALREADY_VOTED', 'you already voted'), 409, 'ALREADY_VOTED'],
    [new ConflictError('NOT_PENDING', 'already decided'), 409, 'NOT_PENDING'],
    [new ConflictError('EXPIRED', 'expired'), 409, 'EXPIRED'],
    [new NotFoundError('no such request'), 404, 'NOT_FOUND'],
  ])('maps the service refusal %s to %i', async (error, status, code) => {
    castVote.mockRejectedValueOnce(error);
    const response = await call('POST', '/api/requests/invoice-bot:req-new/votes', {
      as: 'dave',
      body: '{"vote":"approve"}',
    });
    expect(response).toMatchObject({ status, body: { error: { code, message: error.message } } });
  });

  it('hides the details of a server fault', async () => {
    castVote.mockRejectedValueOnce(new CountersignError('SendTaskSuccess failed: arn:aws:states:secret'));
    const response = await call('POST', '/api/requests/invoice-bot:req-new/votes', {
      as: 'carol',
      body: '{"vote":"approve"}',
    });
    expect(response).toEqual({
      status: 500,
      headers: expect.any(Object),
      body: { error: { code: 'INTERNAL_ERROR', message: 'internal error' } },
    });
  });
});

describe('privileged calls and after-the-fact reviews', () => {
  const eventId = 'c2a4e6f8-0000-4000-8000-000000000001';
  const unapproved: CallRecord = {
    eventId,
    eventName: 'PutBucketPolicy',
    eventSource: 's3.amazonaws.com',
    action: 's3:PutBucketPolicy',
    principalArn: 'arn:aws:iam::000000000000:user/agents/invoice-bot',
    agentId: 'invoice-bot',
    resourceArn: 'arn:aws:s3:::exports',
    eventTime: '2026-11-22T09:40:00Z',
    status: 'UNAPPROVED',
    reviewId: `call:${eventId}`,
    readers: ['platform'],
    fingerprint: 'c'.repeat(64),
    recordedAt: '2026-11-22T09:40:01.000Z',
    awsRegion: 'us-east-1',
    requestParameters: { bucketName: 'exports' },
  };
  const review: Review = {
    reviewId: `call:${eventId}`,
    kind: 'UNAPPROVED_CALL',
    status: 'OPEN',
    groups: ['platform'],
    openedAt: '2026-11-22T09:40:01.000Z',
    requesters: ['invoice-bot', 'dave'],
    subject: { agentId: 'invoice-bot', action: 's3:PutBucketPolicy', eventId, policy: 'needs platform' },
  };
  const notAnAgent: CallRecord = {
    ...unapproved,
    eventId: 'c2a4e6f8-0000-4000-8000-000000000002',
    status: 'NOT_AN_AGENT',
    readers: [],
    eventTime: '2026-11-22T09:41:00Z',
  };
  const { agentId: _agent, reviewId: _review, ...humanCall } = notAnAgent;

  beforeAll(async () => {
    await calls.putCall(unapproved);
    await calls.putCall(humanCall);
    await reviews.open(review);
  });

  it('lists calls with their reviews, newest first, by status, to auditors and the call’s reviewers only', async () => {
    const audited = await call('GET', '/api/privileged-calls', { as: 'alice' });
    expect(audited.status).toBe(200);
    expect(audited.body.items.map((item: { eventId: string }) => item.eventId)).toEqual([
      notAnAgent.eventId,
      eventId,
    ]);
    expect(audited.body.items[1]).toEqual({
      eventId,
      eventName: 'PutBucketPolicy',
      eventSource: 's3.amazonaws.com',
      action: 's3:PutBucketPolicy',
      principalArn: 'arn:aws:iam::000000000000:user/agents/invoice-bot',
      agentId: 'invoice-bot',
      resourceArn: 'arn:aws:s3:::exports',
      eventTime: '2026-11-22T09:40:00Z',
      status: 'UNAPPROVED',
      review: {
        reviewId: `call:${eventId}`,
        kind: 'UNAPPROVED_CALL',
        status: 'OPEN',
        groups: ['platform'],
        openedAt: '2026-11-22T09:40:01.000Z',
      },
    });
    const reviewer = await call('GET', '/api/privileged-calls', {
      as: 'carol',
      query: { status: 'UNAPPROVED' },
    });
    expect(reviewer.body.items.map((item: { eventId: string }) => item.eventId)).toEqual([eventId]);
    expect((await call('GET', '/api/privileged-calls', { as: 'frank' })).body).toEqual({ items: [] });
    expect(
      (await call('GET', '/api/privileged-calls', { as: 'carol', query: { status: 'ODD' } })).status,
    ).toBe(400);
  });

  it('shows one call to those who may read it, and to nobody else', async () => {
    const shown = await call('GET', `/api/privileged-calls/${eventId}`, { as: 'carol' });
    expect(shown).toMatchObject({
      status: 200,
      body: { eventId, status: 'UNAPPROVED', review: { status: 'OPEN' } },
    });
    const hidden = await call('GET', `/api/privileged-calls/${eventId}`, { as: 'frank' });
    expect(hidden).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    expect(
      (await call('GET', `/api/privileged-calls/${notAnAgent.eventId}`, { as: 'alice' })).body,
    ).not.toHaveProperty('review');
  });

  it('closes a call’s review for an eligible reviewer, and refuses everyone else with the reason', async () => {
    const path = `/api/privileged-calls/${eventId}/review`;
    expect((await call('POST', path, { as: 'carol', body: '{"outcome":"ACKNOWLEDGED"}' })).status).toBe(400);
    expect((await call('POST', path, { as: 'carol', body: 'nope' })).status).toBe(400);
    expect(await call('POST', path, { as: 'dave', body: '{"outcome":"ESCALATED"}' })).toMatchObject({
      status: 404,
    });
    // alice audits, so she reads it, but platform reviews it.
    expect(await call('POST', path, { as: 'alice', body: '{"outcome":"ESCALATED"}' })).toMatchObject({
      status: 403,
      body: { error: { code: 'NOT_IN_GROUP' } },
    });
    const closed = await call('POST', path, {
      as: 'carol',
      body: '{"outcome":"ACKNOWLEDGED","reason":"planned maintenance"}',
    });
    expect(closed).toMatchObject({
      status: 200,
      body: {
        review: { status: 'ACKNOWLEDGED', closedBy: 'carol', reason: 'planned maintenance', channel: 'api' },
      },
    });
    expect(await call('POST', path, { as: 'erin', body: '{"outcome":"ESCALATED"}' })).toMatchObject({
      status: 409,
      body: { error: { code: 'REVIEW_CLOSED' } },
    });
    expect(
      await call('POST', `/api/privileged-calls/${notAnAgent.eventId}/review`, {
        as: 'alice',
        body: '{"outcome":"ESCALATED"}',
      }),
    ).toMatchObject({ status: 409, body: { error: { code: 'NO_REVIEW' } } });
  });

  it('shows and closes the review of a break-glass request; other requests have none', async () => {
    const record = {
      ...pendingRecord('req-glass', '2026-11-22T09:50:00.000Z'),
      status: 'APPROVED' as const,
      decision: 'BREAK_GLASS' as const,
      decidedAt: '2026-11-22T09:50:00.000Z',
      breakGlass: { reason: 'the export is stuck', incident: 'INC-9' },
    };
    await store.claim(record);
    await reviews.open({
      ...review,
      reviewId: 'request:invoice-bot:req-glass',
      kind: 'BREAK_GLASS',
      subject: {
        agentId: 'invoice-bot',
        action: record.action,
        requestId: record.requestId,
        policy: 'break-glass',
      },
    });
    const shown = await call('GET', '/api/requests/invoice-bot:req-glass', { as: 'carol' });
    expect(shown.body.review).toMatchObject({ kind: 'BREAK_GLASS', status: 'OPEN' });
    const closed = await call('POST', '/api/requests/invoice-bot:req-glass/review', {
      as: 'erin',
      body: '{"outcome":"ESCALATED"}',
    });
    expect(closed).toMatchObject({
      status: 200,
      body: { review: { status: 'ESCALATED', closedBy: 'erin' } },
    });
    expect(
      await call('POST', '/api/requests/invoice-bot:req-new/review', {
        as: 'carol',
        body: '{"outcome":"ESCALATED"}',
      }),
    ).toMatchObject({ status: 409, body: { error: { code: 'NO_REVIEW' } } });
    expect((await call('GET', '/api/requests/invoice-bot:req-new', { as: 'carol' })).body).not.toHaveProperty(
      'review',
    );
  });
});
