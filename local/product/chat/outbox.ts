/**
 * Sinks for the chat platforms: the real Slack Web API client (`slackApiUrl`) and the Bot
 * Framework connector client are pointed at these routes, which answer as the platforms do and
 * record every call in `<dataDir>/outbox.jsonl`, listed by `GET /local/outbox`.
 */
import { randomBytes } from 'node:crypto';
import { appendFile, readFile } from 'node:fs/promises';
import * as z from 'zod';
import {
  type ChatFault,
  type FaultInjector,
  jsonResponse,
  parseBody,
  type TwinRequest,
  type TwinResponse,
} from '../../twin/index.ts';

export const OUTBOX_PATHS = {
  list: '/local/outbox',
  /** The Slack Web API base the twin gives the functions as `slackApiUrl` (a method is appended to it). */
  slackApiBase: '/local/sinks/slack/api/',
  /** The Bot Framework serviceUrl: the connector client appends `v3/conversations/…`. */
  teamsServiceUrl: '/local/sinks/teams/',
  /** The client-credentials token endpoint that stands in for login.microsoftonline.com. */
  teamsToken: '/local/sinks/teams/oauth2/v2.0/token',
} as const;

export const OUTBOX_FILE = 'outbox.jsonl';

/** One call a chat handler made to a platform, as `GET /local/outbox` lists it (and the console shows it). */
export const OutboxEntry = z.object({
  channel: z.enum(['slack', 'teams']),
  /** The platform's method (`chat.postMessage`, `conversations.updateActivity` …). */
  method: z.string(),
  body: z.unknown(),
  at: z.string(),
  /** Teams: the conversation and the activity (the one created, or the one updated or replied to). */
  conversationId: z.string().optional(),
  activityId: z.string().optional(),
  /** Slack: the message's `ts` (assigned by chat.postMessage, the edited one for chat.update). */
  ts: z.string().optional(),
});
export type OutboxEntry = z.infer<typeof OutboxEntry>;

/** Slack's form-encoded clients send nested fields (blocks, attachments) as JSON text. */
function slackBody(request: TwinRequest): Record<string, unknown> {
  const body = parseBody(request);
  return Object.fromEntries(
    Object.entries(body).map(([key, value]) => {
      if (typeof value === 'string' && /^\s*[[{]/.test(value)) {
        try {
          return [key, JSON.parse(value)];
        } catch {
          return [key, value];
        }
      }
      return [key, value];
    }),
  );
}

/** An injected fault as the platform answers it. */
function faultResponse(fault: ChatFault | undefined): TwinResponse | undefined {
  return fault === undefined ? undefined : jsonResponse(fault.status, fault.body, { ...fault.headers });
}

/** A person as the local Slack workspace knows them (from countersign.local.json). */
export interface SlackWorkspaceUser {
  readonly slackUserId?: string;
  readonly email?: string;
}

export class Outbox {
  readonly #file: string;
  readonly #slackUsers: readonly SlackWorkspaceUser[];
  readonly #faults: FaultInjector | undefined;
  #sequence = 0;
  #appends: Promise<void> = Promise.resolve();

  /**
   * `slackUsers` answer users.info and users.lookupByEmail, as the workspace's member list would;
   * `faults` makes chosen calls fail as the platforms do (nothing is recorded for a failed call).
   */
  constructor(file: string, slackUsers: readonly SlackWorkspaceUser[] = [], faults?: FaultInjector) {
    this.#file = file;
    this.#slackUsers = slackUsers;
    this.#faults = faults;
  }

  /** users.info / users.lookupByEmail / conversations.open, answered from the workspace's members. */
  #slackDirectory(method: string, body: Record<string, unknown>): TwinResponse | undefined {
    const member = (user: SlackWorkspaceUser) => ({
      ok: true,
      user: { id: user.slackUserId, profile: { email: user.email } },
    });
    if (method === 'users.info') {
      const user = this.#slackUsers.find((candidate) => candidate.slackUserId === body.user);
      return jsonResponse(200, user === undefined ? { ok: false, error: 'user_not_found' } : member(user));
    }
    if (method === 'users.lookupByEmail') {
      const email = String(body.email ?? '').toLowerCase();
      const user = this.#slackUsers.find((candidate) => candidate.email?.toLowerCase() === email);
      return jsonResponse(200, user === undefined ? { ok: false, error: 'users_not_found' } : member(user));
    }
    if (method === 'conversations.open' && typeof body.users === 'string') {
      // A DM channel id per user, stable like Slack's.
      return jsonResponse(200, { ok: true, channel: { id: `D${body.users.replace(/^U/, '')}` } });
    }
    return undefined;
  }

  async #record(entry: OutboxEntry): Promise<void> {
    const line = `${JSON.stringify(entry)}\n`;
    // Appends are chained so concurrent calls never interleave within a line.
    this.#appends = this.#appends.then(() => appendFile(this.#file, line));
    await this.#appends;
  }

  async list(): Promise<OutboxEntry[]> {
    await this.#appends;
    let text: string;
    try {
      text = await readFile(this.#file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return text
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => OutboxEntry.parse(JSON.parse(line)));
  }

  /** A Slack message timestamp: seconds, a dot, six digits, unique per message. */
  #slackTs(): string {
    this.#sequence = (this.#sequence + 1) % 1_000_000;
    return `${Math.floor(Date.now() / 1000)}.${String(this.#sequence).padStart(6, '0')}`;
  }

  /** Handles `/local/*` sink routes; undefined when the path is not one of them. */
  async handle(request: TwinRequest): Promise<TwinResponse | undefined> {
    if (request.path === OUTBOX_PATHS.list && request.method === 'GET') {
      return jsonResponse(200, { items: await this.list() });
    }
    if (request.path.startsWith(OUTBOX_PATHS.slackApiBase) && request.method === 'POST') {
      const method = request.path.slice(OUTBOX_PATHS.slackApiBase.length);
      return faultResponse(this.#faults?.slack(method)) ?? this.#slack(request, method);
    }
    if (request.path === OUTBOX_PATHS.teamsToken && request.method === 'POST') {
      const fault = faultResponse(this.#faults?.teamsToken());
      if (fault !== undefined) return fault;
      return jsonResponse(200, {
        token_type: 'Bearer',
        expires_in: 3599,
        ext_expires_in: 3599,
        access_token: randomBytes(32).toString('base64url'),
      });
    }
    if (request.path.startsWith(`${OUTBOX_PATHS.teamsServiceUrl}v3/conversations`)) {
      return this.#teams(request, request.path.slice(OUTBOX_PATHS.teamsServiceUrl.length));
    }
    return undefined;
  }

  async #slack(request: TwinRequest, method: string): Promise<TwinResponse> {
    const body = slackBody(request);
    const at = new Date().toISOString();
    const channel = typeof body.channel === 'string' ? body.channel : undefined;
    if (method === 'chat.postMessage' || method === 'chat.update') {
      const ts = method === 'chat.update' && typeof body.ts === 'string' ? body.ts : this.#slackTs();
      await this.#record({ channel: 'slack', method, body, at, ts });
      const { channel: _channel, ts: _ts, ...message } = body;
      return jsonResponse(200, { ok: true, channel, ts, message: { type: 'message', ...message, ts } });
    }
    await this.#record({ channel: 'slack', method, body, at });
    const member = this.#slackDirectory(method, body);
    if (member !== undefined) return member;
    if (method === 'chat.postEphemeral') return jsonResponse(200, { ok: true, message_ts: this.#slackTs() });
    return jsonResponse(200, { ok: true });
  }

  async #teams(request: TwinRequest, path: string): Promise<TwinResponse> {
    // v3/conversations[/<conversationId>/activities[/<activityId>]]
    const [, , conversation, activities, activity] = path.split('/').map(decodeURIComponent);
    const body = parseBody(request);
    const at = new Date().toISOString();
    const newId = `${Date.now()}${randomBytes(4).toString('hex')}`;
    if (conversation === undefined && request.method === 'POST') {
      const fault = faultResponse(this.#faults?.teams('conversations.create'));
      if (fault !== undefined) return fault;
      await this.#record({ channel: 'teams', method: 'conversations.create', body, at });
      return jsonResponse(201, { id: `a:${newId}`, activityId: newId });
    }
    if (conversation === undefined || activities !== 'activities') {
      return jsonResponse(404, { error: { code: 'NotFound', message: 'Unknown connector route' } });
    }
    const method =
      activity === undefined
        ? 'conversations.sendActivity'
        : request.method === 'PUT'
          ? 'conversations.updateActivity'
          : request.method === 'DELETE'
            ? 'conversations.deleteActivity'
            : 'conversations.replyToActivity';
    const fault = faultResponse(this.#faults?.teams(method));
    if (fault !== undefined) return fault;
    await this.#record({
      channel: 'teams',
      method,
      body,
      at,
      conversationId: conversation,
      activityId: activity ?? newId,
    });
    if (method === 'conversations.deleteActivity') return { statusCode: 200 };
    return jsonResponse(method === 'conversations.updateActivity' ? 200 : 201, {
      id: method === 'conversations.updateActivity' ? activity : newId,
    });
  }
}
