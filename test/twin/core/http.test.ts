import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OUTBOX_PATHS } from '../../../local/product/chat/outbox.ts';
import { jsonResponse, type RunningTwin } from '../../../local/twin/index.ts';
import { removeDir, startFixtureTwin, tempDataDir } from './helpers.ts';

let twin: RunningTwin;
let dataDir: string;

beforeAll(async () => {
  dataDir = await tempDataDir();
  twin = await startFixtureTwin(dataDir, {
    extend: (context) => ({
      routes: [
        {
          method: 'GET',
          path: '/local/whoami',
          handle: async () => jsonResponse(200, { dataDir: context.dataDir, url: context.url }),
        },
      ],
      jwtAuthorizer: (token) =>
        token === 'good-token' ? { claims: { sub: 'alice', aud: 'countersign' }, scopes: [] } : undefined,
    }),
  });
});

afterAll(async () => {
  await twin.stop();
  await removeDir(dataDir);
});

describe('the outbox sinks', () => {
  it('answers the real Slack client like Slack and records the call', async () => {
    const slack = new WebClient('xoxb-local', { slackApiUrl: `${twin.url}${OUTBOX_PATHS.slackApiBase}` });
    const posted = await slack.chat.postMessage({
      channel: 'C0COUNTERSIGN',
      text: 'Approval needed',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*invoice-bot* asks' } }],
    });
    expect(posted).toMatchObject({
      ok: true,
      channel: 'C0COUNTERSIGN',
      ts: expect.stringMatching(/^\d+\.\d{6}$/),
    });
    const updated = await slack.chat.update({ channel: 'C0COUNTERSIGN', ts: posted.ts!, text: 'Approved' });
    expect(updated).toMatchObject({ ok: true, ts: posted.ts });

    const outbox = (await (await fetch(`${twin.url}${OUTBOX_PATHS.list}`)).json()) as { items: unknown[] };
    expect(outbox.items).toEqual([
      {
        channel: 'slack',
        method: 'chat.postMessage',
        at: expect.any(String),
        ts: posted.ts,
        body: expect.objectContaining({
          channel: 'C0COUNTERSIGN',
          text: 'Approval needed',
          blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*invoice-bot* asks' } }],
        }),
      },
      expect.objectContaining({ channel: 'slack', method: 'chat.update', ts: posted.ts }),
    ]);
  });

  it('answers Bot Connector calls and the client-credentials token request', async () => {
    const token = await fetch(`${twin.url}${OUTBOX_PATHS.teamsToken}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=app&client_secret=s&scope=https%3A%2F%2Fapi.botframework.com%2F.default',
    });
    expect(await token.json()).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String) });

    const conversation = encodeURIComponent('19:countersign-approvals@thread.tacv2');
    const base = `${twin.url}${OUTBOX_PATHS.teamsServiceUrl}v3/conversations/${conversation}/activities`;
    const sent = await fetch(base, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'message', text: 'Approval needed' }),
    });
    expect(sent.status).toBe(201);
    const { id } = (await sent.json()) as { id: string };
    const updated = await fetch(`${base}/${id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'message', text: 'Approved' }),
    });
    expect(await updated.json()).toEqual({ id });

    const outbox = (await (await fetch(`${twin.url}${OUTBOX_PATHS.list}`)).json()) as {
      items: { channel: string; method: string; conversationId?: string; activityId?: string }[];
    };
    expect(outbox.items.filter((item) => item.channel === 'teams')).toEqual([
      expect.objectContaining({
        method: 'conversations.sendActivity',
        conversationId: '19:countersign-approvals@thread.tacv2',
      }),
      expect.objectContaining({ method: 'conversations.updateActivity', activityId: id }),
    ]);
  });
});

describe('HTTP API routes of the template', () => {
  it('serves a route with its function and an API Gateway v2 event', async () => {
    const response = await fetch(`${twin.url}/echo/req%2D42?status=PENDING&status=APPROVED`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ vote: 'approve' }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      routeKey: 'POST /echo/{id}',
      rawPath: '/echo/req%2D42',
      rawQueryString: 'status=PENDING&status=APPROVED',
      method: 'POST',
      pathParameters: { id: 'req-42' },
      body: '{"vote":"approve"}',
      isBase64Encoded: false,
      claims: null,
      policyDir: expect.stringMatching(/\/policies$/),
      // A template synthesized for Identity Center still resolves people from the local directory.
      identityStoreId: null,
      directoryUsers: 5,
    });
  });

  it('answers 404 off the routes and for another method', async () => {
    expect((await fetch(`${twin.url}/nowhere`)).status).toBe(404);
    expect((await fetch(`${twin.url}/echo/1`)).status).toBe(404);
  });

  it('guards JWT routes with the authorizer and hands the claims to the function', async () => {
    expect((await fetch(`${twin.url}/secure/a/b`)).status).toBe(401);
    const refused = await fetch(`${twin.url}/secure/a/b`, { headers: { authorization: 'Bearer bad' } });
    expect(refused.status).toBe(401);
    const allowed = await fetch(`${twin.url}/secure/a/b`, {
      headers: { authorization: 'Bearer good-token' },
    });
    expect(await allowed.json()).toMatchObject({
      routeKey: 'GET /secure/{proxy+}',
      pathParameters: { proxy: 'a/b' },
      claims: { sub: 'alice' },
    });
  });

  it('serves the routes an extension adds', async () => {
    const response = await fetch(`${twin.url}/local/whoami`);
    expect(await response.json()).toEqual({ dataDir: twin.dataDir, url: twin.url });
  });
});
