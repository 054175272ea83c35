import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDbClassificationStore } from '../../../lambdas/adapters/dynamodb/classification-store.ts';
import { DynamoDbRequestStore } from '../../../lambdas/adapters/dynamodb/request-store.ts';
import { createJwtVerifier } from '../../../lambdas/adapters/jwt-verifier.ts';
import { StaticDirectory } from '../../../lambdas/adapters/static-directory.ts';
import {
  ConflictError,
  CountersignError,
  ForbiddenError,
  NotFoundError,
} from '../../../lambdas/domain/errors.ts';
import type { RequestRecord } from '../../../lambdas/domain/schemas.ts';
import { type ApiApp, createApiApp } from '../../../lambdas/http/api-app.ts';
import { ClassificationDetailBody } from '../../../lambdas/http/bodies.ts';
import type { HttpRequest } from '../../../lambdas/http/request.ts';
import { buildOpenApiDocument } from '../../../lambdas/openapi.ts';
import type { AccessTokenVerifier, CastVote, SettleRequest } from '../../../lambdas/ports/index.ts';
import { type LocalTable, startDynalite } from '../../support/dynalite.ts';
import { AUDIT_DATA } from '../domain/fixtures.ts';

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
    directory,
    auditorGroups: ['security'],
    verifier,
    castVote,
    settle,
    clock: { now: () => NOW },
    logger,
    openApiDocument: buildOpenApiDocument(),
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
      directory,
      auditorGroups: [],
      verifier,
      castVote,
      settle,
      clock: { now: () => NOW },
      logger,
      openApiDocument: {},
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
