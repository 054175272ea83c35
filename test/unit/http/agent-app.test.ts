/**
 * The agents' HTTP API at its edge: who the caller is (only an agent's principal, by the ARN the IAM
 * authorizer names), what the body and query must be, and how the services' answers become HTTP.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AgentApp, type AgentHttpRequest, createAgentApp } from '../../../lambdas/http/agent-app.ts';
import { requireApproval } from '../domain/fixtures.ts';
import { ALLOWED_READ, RecordingWorkflows } from '../services/fakes.ts';
import { type Harness, nextEventId, startHarness } from '../services/harness.ts';

const AGENT_ROLE = 'arn:aws:iam::123456789012:role/invoice-bot';
const AGENT_SESSION = 'arn:aws:sts::123456789012:assumed-role/invoice-bot/i-0abc';

let harness: Harness;
let app: AgentApp;
let workflows: RecordingWorkflows;
const errors: unknown[] = [];

beforeAll(async () => {
  harness = await startHarness();
});

afterAll(async () => {
  await harness.table.close();
});

beforeEach(() => {
  workflows = new RecordingWorkflows();
  harness.policy.answer = { ...ALLOWED_READ, reason: 'reads only' };
  app = createAgentApp({
    decisions: {
      ...harness,
      classifyBeforeApproval: false,
      workflows,
      // Waiting moves the test's clock on, so a long poll ends when its time is up.
      sleep: async (ms) => harness.clock.set(new Date(harness.clock.now().getTime() + ms)),
      region: 'us-east-1',
      account: '123456789012',
    },
    agents: [{ id: 'invoice-bot', principalArn: AGENT_ROLE }],
    logger: { error: (...args: unknown[]) => errors.push(args) },
  });
});

function detail(overrides: Record<string, unknown> = {}) {
  return {
    requestId: `app-${nextEventId()}`,
    agent: { id: 'invoice-bot' },
    action: 's3:GetObject',
    resource: { arn: 'arn:aws:s3:::finance-invoices/INV-1.pdf' },
    justification: 'a customer asked',
    ...overrides,
  };
}

function request(overrides: Partial<AgentHttpRequest>): AgentHttpRequest {
  return {
    method: 'POST',
    path: '/api/agent/decisions',
    headers: { 'content-type': 'application/json' },
    query: {},
    body: JSON.stringify(detail()),
    callerArn: AGENT_SESSION,
    ...overrides,
  };
}

const body = (result: { body: string }) => JSON.parse(result.body);

describe('POST /api/agent/decisions', () => {
  it('answers what policy decides with 200 and the receipt, what people decide with 202', async () => {
    const decided = await app(request({}));
    expect(decided.statusCode).toBe(200);
    expect(body(decided)).toMatchObject({
      status: 'DECIDED',
      decision: 'AUTO_APPROVED',
      receipt: expect.any(String),
    });
    expect(decided.headers).toMatchObject({ 'cache-control': 'no-store' });

    harness.policy.answer = requireApproval();
    const asked = detail();
    const pending = await app(request({ body: JSON.stringify(asked) }));
    expect(pending.statusCode).toBe(202);
    expect(body(pending)).toEqual({ status: 'PENDING', requestId: `invoice-bot:${asked.requestId}` });
  });

  it('refuses whoever is not an agent, before reading anything', async () => {
    for (const callerArn of [
      undefined,
      'arn:aws:iam::123456789012:user/alice',
      'arn:aws:sts::123456789012:assumed-role/admin/x',
    ]) {
      const refused = await app(request({ callerArn, body: 'not json' }));
      expect(refused.statusCode).toBe(403);
      expect(body(refused).error.code).toBe('NOT_AN_AGENT');
    }
  });

  it('refuses an agent asking in another agent’s name (403), and invalid bodies (400)', async () => {
    const other = await app(request({ body: JSON.stringify(detail({ agent: { id: 'report-bot' } })) }));
    expect([other.statusCode, body(other).error.code]).toEqual([403, 'NOT_THIS_AGENT']);
    const { requestId: _id, ...withoutId } = detail();
    for (const invalid of [
      undefined,
      '',
      '{',
      JSON.stringify(withoutId),
      JSON.stringify(detail({ action: 'copy' })),
    ]) {
      const refused = await app(request({ body: invalid }));
      expect(refused.statusCode).toBe(400);
      expect(body(refused).error.code).toBe('INVALID_REQUEST');
    }
  });

  it('answers 409 for a request id reused for another action', async () => {
    const asked = detail();
    await app(request({ body: JSON.stringify(asked) }));
    const reused = await app(
      request({ body: JSON.stringify({ ...asked, resource: { arn: 'arn:aws:s3:::other/x' } }) }),
    );
    expect([reused.statusCode, body(reused).error.code]).toEqual([409, 'REQUEST_ID_REUSED']);
  });
});

describe('GET /api/agent/decisions/{requestId}', () => {
  it('answers the decision, PENDING while waiting, 404 for nothing, 403 for another agent’s', async () => {
    const asked = detail();
    const decided = body(await app(request({ body: JSON.stringify(asked) })));
    const get = (requestId: string, query: Record<string, string> = {}) =>
      app(
        request({
          method: 'GET',
          path: `/api/agent/decisions/${encodeURIComponent(requestId)}`,
          query,
          body: undefined,
        }),
      );
    const answer = await get(decided.requestId, { wait: '20' });
    expect([answer.statusCode, body(answer)]).toEqual([200, decided]);

    harness.policy.answer = requireApproval();
    const pending = body(await app(request({ body: JSON.stringify(detail()) })));
    expect((await get(pending.requestId, { wait: '1' })).statusCode).toBe(202);
    expect((await get('invoice-bot:never-asked')).statusCode).toBe(404);
    expect((await get('report-bot:req-1')).statusCode).toBe(403);
  });

  it('refuses a malformed id or wait (400)', async () => {
    const get = (path: string, query: Record<string, string> = {}) =>
      app(request({ method: 'GET', path, query, body: undefined }));
    expect((await get('/api/agent/decisions/no-colon')).statusCode).toBe(400);
    for (const wait of ['21', '-1', 'later']) {
      expect((await get('/api/agent/decisions/invoice-bot%3Areq-1', { wait })).statusCode).toBe(400);
    }
  });
});

it('answers 404 and 405 for what it does not serve', async () => {
  expect((await app(request({ path: '/api/agent/other' }))).statusCode).toBe(404);
  const wrongMethod = await app(request({ method: 'DELETE' }));
  expect([wrongMethod.statusCode, wrongMethod.headers?.allow]).toEqual([405, 'POST']);
});
