/**
 * The Slack Web API client against a local server answering as Slack's HTTP API does: the request
 * it sends (bearer token, form encoding, nested arguments as JSON text) and every way an answer
 * fails (ok: false, 429 with and without Retry-After, other statuses, not JSON, missing fields).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SlackApi, SlackApiError } from '../../../lambdas/adapters/slack/slack-api.ts';

interface Received {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

type Answer = (response: ServerResponse) => void;

const json =
  (body: unknown, status = 200, headers: Record<string, string> = {}): Answer =>
  (response) => {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(JSON.stringify(body));
  };

let server: Server;
let slackApiUrl: string;
const received: Received[] = [];
let answer: Answer = json({ ok: true });

beforeAll(async () => {
  server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    received.push({
      path: request.url ?? '',
      headers: request.headers,
      body: Buffer.concat(chunks).toString(),
    });
    answer(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  slackApiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  received.length = 0;
  answer = json({ ok: true });
});

const api = () => new SlackApi('xoxb-test-token', slackApiUrl);
const message = {
  text: 'Review needed',
  blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*x*' } }],
};

async function refusal(call: Promise<unknown>): Promise<SlackApiError> {
  const error = await call.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(SlackApiError);
  return error as SlackApiError;
}

describe('SlackApi', () => {
  it('posts the method form-encoded with the bot token as a bearer token', async () => {
    answer = json({ ok: true, channel: 'C1', ts: '1715697000.000100' });
    const posted = await api().postMessage('C1', message as never, '1715696000.000001');
    expect(posted).toEqual({ channel: 'C1', ts: '1715697000.000100' });
    const [call] = received;
    expect(call?.path).toBe('/api/chat.postMessage');
    expect(call?.headers.authorization).toBe('Bearer xoxb-test-token');
    expect(call?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const form = new URLSearchParams(call?.body);
    expect(form.get('channel')).toBe('C1');
    expect(form.get('text')).toBe('Review needed');
    expect(JSON.parse(form.get('blocks') ?? '')).toEqual(message.blocks);
    expect(form.get('thread_ts')).toBe('1715696000.000001');
    expect(form.get('unfurl_links')).toBe('false');
    expect(form.has('token')).toBe(false);
  });

  it('leaves absent arguments out and sends views as JSON text', async () => {
    answer = json({ ok: true, channel: 'C1', ts: '1.2' });
    await api().postMessage('C1', message as never);
    expect(new URLSearchParams(received[0]?.body).has('thread_ts')).toBe(false);
    answer = json({ ok: true, view: { id: 'V1' } });
    await api().openView('trigger-1', { type: 'modal', title: { type: 'plain_text', text: 'T' } } as never);
    const form = new URLSearchParams(received[1]?.body);
    expect(form.get('trigger_id')).toBe('trigger-1');
    expect(JSON.parse(form.get('view') ?? '')).toMatchObject({ type: 'modal' });
  });

  it('fails with Slack’s error code when it answers ok: false', async () => {
    answer = json({ ok: false, error: 'channel_not_found' });
    const error = await refusal(api().updateMessage('C404', '1.2', message as never));
    expect(error.code).toBe('channel_not_found');
    expect(error.message).toContain('chat.update');
  });

  it('answers undefined for an unknown user, and fails on any other refusal', async () => {
    answer = json({ ok: false, error: 'user_not_found' });
    await expect(api().userEmail('U404')).resolves.toBeUndefined();
    answer = json({ ok: false, error: 'users_not_found' });
    await expect(api().userIdByEmail('nobody@example.com')).resolves.toBeUndefined();
    answer = json({ ok: false, error: 'missing_scope' });
    expect((await refusal(api().userEmail('U1'))).code).toBe('missing_scope');
  });

  it('reads users and DM channels from their answers', async () => {
    answer = json({ ok: true, user: { id: 'U1', profile: { email: 'alice@example.com' } } });
    await expect(api().userEmail('U1')).resolves.toBe('alice@example.com');
    answer = json({ ok: true, user: { id: 'U1', profile: {} } });
    await expect(api().userEmail('U1')).resolves.toBeUndefined();
    answer = json({ ok: true, user: { id: 'U2' } });
    await expect(api().userIdByEmail('bob@example.com')).resolves.toBe('U2');
    answer = json({ ok: true, channel: { id: 'D1' } });
    await expect(api().openDirectMessage('U1')).resolves.toBe('D1');
    expect(new URLSearchParams(received.at(-1)?.body).get('users')).toBe('U1');
  });

  it('waits out a 429’s Retry-After, then fails as rate limited (the caller retries)', async () => {
    answer = json({ ok: false, error: 'ratelimited' }, 429, { 'retry-after': '1' });
    const started = Date.now();
    const error = await refusal(api().postMessage('C1', message as never));
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(error.code).toBe('ratelimited');
    expect(error.message).toContain('rate limit');
    expect(received).toHaveLength(1);
  });

  it('fails at once on a 429 without a usable Retry-After', async () => {
    answer = json({ ok: false, error: 'ratelimited' }, 429, { 'retry-after': 'soon' });
    expect((await refusal(api().postEphemeral('C1', 'U1', 'hi'))).code).toBe('ratelimited');
  });

  it('fails on any other status, on a body that is not JSON and on an answer that lacks its fields', async () => {
    answer = json({ ok: true }, 503);
    expect((await refusal(api().postEphemeral('C1', 'U1', 'hi'))).code).toBe('http_503');
    answer = (response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html>gateway</html>');
    };
    expect((await refusal(api().postEphemeral('C1', 'U1', 'hi'))).code).toBe('invalid_response');
    answer = json({ status: 'fine' });
    expect((await refusal(api().postEphemeral('C1', 'U1', 'hi'))).code).toBe('invalid_response');
    answer = json({ ok: true, channel: 'C1' });
    expect((await refusal(api().postMessage('C1', message as never))).code).toBe('invalid_response');
    answer = json({ ok: true });
    expect((await refusal(api().openDirectMessage('U1'))).code).toBe('invalid_response');
  });
});
