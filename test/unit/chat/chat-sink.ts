/**
 * A local stand-in for Slack's Web API and the Bot Connector, started by the tests on 127.0.0.1
 * and a free port: it records every call and answers like the real services do.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SinkCall {
  readonly service: 'slack' | 'teams' | 'token';
  readonly method: string;
  readonly path: string;
  readonly body: Record<string, unknown>;
  readonly authorization?: string;
}

export interface ChatSink {
  readonly origin: string;
  readonly slackApiUrl: string;
  readonly teamsServiceUrl: string;
  readonly tokenUrl: string;
  readonly calls: SinkCall[];
  /** Slack user id → email answered by users.info (and reversed by users.lookupByEmail). */
  readonly slackEmails: Map<string, string>;
  slack(method: string): SinkCall[];
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseSlackBody(contentType: string, raw: string): Record<string, unknown> {
  if (contentType.includes('application/json')) return JSON.parse(raw) as Record<string, unknown>;
  const body: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    body[key] = /^[[{]/.test(value) ? JSON.parse(value) : value;
  }
  return body;
}

export async function startChatSink(): Promise<ChatSink> {
  const calls: SinkCall[] = [];
  const slackEmails = new Map<string, string>();
  let sequence = 0;
  const server: Server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://sink');
    const raw = await readBody(request);
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (url.pathname.startsWith('/slack/api/')) {
      const method = url.pathname.slice('/slack/api/'.length);
      const body = parseSlackBody(request.headers['content-type'] ?? '', raw);
      calls.push({
        service: 'slack',
        method,
        path: url.pathname,
        body,
        authorization: request.headers.authorization,
      });
      sequence += 1;
      const answers: Record<string, () => unknown> = {
        'chat.postMessage': () => ({
          ok: true,
          channel: body.channel,
          ts: `1715697000.${String(sequence).padStart(6, '0')}`,
        }),
        'chat.update': () => ({ ok: true, channel: body.channel, ts: body.ts }),
        'chat.postEphemeral': () => ({ ok: true, message_ts: `1715697001.${sequence}` }),
        'views.open': () => ({ ok: true, view: { id: `V${sequence}` } }),
        'users.info': () => {
          const email = slackEmails.get(String(body.user));
          return email === undefined
            ? { ok: false, error: 'user_not_found' }
            : { ok: true, user: { id: body.user, profile: { email } } };
        },
        'users.lookupByEmail': () => {
          const id = [...slackEmails].find(([, email]) => email === body.email)?.[0];
          return id === undefined ? { ok: false, error: 'users_not_found' } : { ok: true, user: { id } };
        },
        'conversations.open': () => ({ ok: true, channel: { id: `D${body.users}` } }),
      };
      const answer = answers[method];
      reply(200, answer === undefined ? { ok: false, error: 'unknown_method' } : answer());
      return;
    }
    if (url.pathname === '/token') {
      calls.push({
        service: 'token',
        method: 'POST',
        path: url.pathname,
        body: Object.fromEntries(new URLSearchParams(raw)),
      });
      reply(200, {
        token_type: 'Bearer',
        expires_in: 3599,
        ext_expires_in: 3599,
        access_token: 'bf-token-1',
      });
      return;
    }
    if (url.pathname.startsWith('/teams/v3/conversations/')) {
      const body = JSON.parse(raw) as Record<string, unknown>;
      calls.push({
        service: 'teams',
        method: request.method ?? '',
        path: url.pathname,
        body,
        authorization: request.headers.authorization,
      });
      sequence += 1;
      reply(request.method === 'POST' ? 201 : 200, {
        id: request.method === 'POST' ? `1715697${sequence}` : String(body.id),
      });
      return;
    }
    reply(404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    slackApiUrl: `${origin}/slack/api/`,
    teamsServiceUrl: `${origin}/teams/`,
    tokenUrl: `${origin}/token`,
    calls,
    slackEmails,
    slack: (method) => calls.filter((call) => call.service === 'slack' && call.method === method),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
