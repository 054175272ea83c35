/**
 * The Slack Web API calls Countersign makes, as Slack documents its HTTP API: a POST to
 * `<slackApiUrl><method>` with the bot token as a bearer token and the arguments form-encoded
 * (nested ones, like blocks and views, as JSON text), answered by JSON whose `ok: false` names the
 * error. Done here rather than through `@slack/web-api`, whose queue, retry and file-upload
 * machinery (~55 KB with their packages, CommonJS, nothing shaken) every chat handler would carry
 * for seven methods (issue 15). `slackApiUrl` is configurable so the twin's sink receives the very
 * same calls.
 */
import { CountersignError } from '../../domain/errors.ts';
import type { SlackMessage, SlackModal } from '../../domain/messages/slack-review.ts';
import * as z from '../../domain/zod.ts';

export const SLACK_API_URL = 'https://slack.com/api/';

/** Long enough for Slack, short enough to leave a 3 s acknowledgement or a workflow step its retry. */
const REQUEST_TIMEOUT_MS = 5000;

export interface PostedMessage {
  readonly channel: string;
  readonly ts: string;
}

/**
 * A call Slack refused (`code` is its `error`, such as `channel_not_found`), rate limited
 * (`ratelimited`, after waiting out its Retry-After) or answered with something other than its API.
 */
export class SlackApiError extends CountersignError {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Slack's answers that mean "no such user": an unknown person, not a failure to retry. */
const NOT_FOUND_ERRORS: ReadonlySet<string> = new Set(['user_not_found', 'users_not_found']);

const SlackAnswer = z.object({ ok: z.boolean(), error: z.optional(z.string()) });
const PostMessageResult = z.object({ channel: z.optional(z.string()), ts: z.string().check(z.minLength(1)) });
const UserInfoResult = z.object({
  user: z.optional(z.object({ profile: z.optional(z.object({ email: z.optional(z.string()) })) })),
});
const LookupByEmailResult = z.object({
  user: z.optional(z.object({ id: z.string().check(z.minLength(1)) })),
});
const OpenConversationResult = z.object({ channel: z.object({ id: z.string().check(z.minLength(1)) }) });

/** Slack's form encoding: strings as they are, nested values as JSON text, absent ones left out. */
function formBody(args: Readonly<Record<string, unknown>>): URLSearchParams {
  const body = new URLSearchParams();
  for (const [key, value] of Object.entries(args)) {
    if (value === undefined) continue;
    body.set(key, typeof value === 'string' ? value : JSON.stringify(value));
  }
  return body;
}

/** Retry-After in whole seconds, as Slack sends it; undefined when absent or not a number. */
function retryAfterSeconds(response: Response): number | undefined {
  const header = response.headers.get('retry-after');
  if (header === null || !/^\s*\d+\s*$/.test(header)) return undefined;
  return Number(header);
}

async function absentAs<T, F>(fallback: F, call: Promise<T>): Promise<T | F> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof SlackApiError && NOT_FOUND_ERRORS.has(error.code)) return fallback;
    throw error;
  }
}

export class SlackApi {
  readonly #token: string;
  readonly #slackApiUrl: string;

  constructor(token: string, slackApiUrl: string = SLACK_API_URL) {
    this.#token = token;
    this.#slackApiUrl = slackApiUrl;
  }

  /**
   * One call, not retried here: retries are the caller's business (Lambda retries async work, the
   * workflow retries its steps; each call here is idempotent or guarded). A 429 is waited out for
   * its Retry-After before it fails, so that the caller's retry is not refused again at once.
   */
  async #call<T extends z.ZodMiniType>(
    method: string,
    args: Record<string, unknown>,
    result: T,
  ): Promise<z.infer<T>> {
    const response = await fetch(`${this.#slackApiUrl}${method}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${this.#token}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: formBody(args),
      redirect: 'error',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    if (response.status === 429) {
      await response.body?.cancel();
      const seconds = retryAfterSeconds(response);
      if (seconds === undefined) {
        throw new SlackApiError('ratelimited', `Slack rate limited ${method} without a valid Retry-After`);
      }
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      throw new SlackApiError(
        'ratelimited',
        `Slack rate limit exceeded on ${method} (retry-after: ${seconds} s)`,
      );
    }
    const text = await response.text();
    if (response.status !== 200) {
      throw new SlackApiError(
        `http_${response.status}`,
        `Slack answered ${method} with HTTP ${response.status}`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw new SlackApiError('invalid_response', `Slack answered ${method} with something other than JSON`, {
        cause,
      });
    }
    const answer = SlackAnswer.safeParse(json);
    if (!answer.success) {
      throw new SlackApiError('invalid_response', `Slack's answer to ${method} has no ok field`);
    }
    if (!answer.data.ok) {
      const code = answer.data.error ?? 'unknown_error';
      throw new SlackApiError(code, `Slack refused ${method}: ${code}`);
    }
    const parsed = result.safeParse(json);
    if (!parsed.success) {
      throw new SlackApiError('invalid_response', `Slack's answer to ${method} lacks what it promises`);
    }
    return parsed.data;
  }

  async postMessage(channel: string, message: SlackMessage, threadTs?: string): Promise<PostedMessage> {
    const result = await this.#call(
      'chat.postMessage',
      { channel, text: message.text, blocks: message.blocks, thread_ts: threadTs, unfurl_links: false },
      PostMessageResult,
    );
    return { channel: result.channel ?? channel, ts: result.ts };
  }

  async updateMessage(channel: string, ts: string, message: SlackMessage): Promise<void> {
    await this.#call('chat.update', { channel, ts, text: message.text, blocks: message.blocks }, SlackAnswer);
  }

  async postEphemeral(channel: string, user: string, text: string): Promise<void> {
    await this.#call('chat.postEphemeral', { channel, user, text }, SlackAnswer);
  }

  async openView(triggerId: string, view: SlackModal): Promise<void> {
    await this.#call('views.open', { trigger_id: triggerId, view }, SlackAnswer);
  }

  /** The user's email (needs users:read.email), or undefined when Slack has none for them. */
  async userEmail(userId: string): Promise<string | undefined> {
    const result = await absentAs(undefined, this.#call('users.info', { user: userId }, UserInfoResult));
    return result?.user?.profile?.email;
  }

  async userIdByEmail(email: string): Promise<string | undefined> {
    const result = await absentAs(
      undefined,
      this.#call('users.lookupByEmail', { email }, LookupByEmailResult),
    );
    return result?.user?.id;
  }

  /** Opens (or finds) the DM with one user and returns its channel id. */
  async openDirectMessage(userId: string): Promise<string> {
    const result = await this.#call('conversations.open', { users: userId }, OpenConversationResult);
    return result.channel.id;
  }
}
