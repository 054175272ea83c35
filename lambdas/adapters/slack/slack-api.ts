/**
 * The Slack Web API calls Countersign makes, through the official `@slack/web-api` WebClient.
 * `slackApiUrl` is configurable so the twin's sink receives the very same client calls.
 */
import { WebClient } from '@slack/web-api';
import type { SlackMessage, SlackModal } from '../../domain/messages/slack-review.ts';

export const SLACK_API_URL = 'https://slack.com/api/';

export interface PostedMessage {
  readonly channel: string;
  readonly ts: string;
}

/** Slack's answers that mean "no such user": an unknown person, not a failure to retry. */
const NOT_FOUND_ERRORS: ReadonlySet<string> = new Set(['user_not_found', 'users_not_found']);

async function absentAs<T, F>(fallback: F, call: Promise<T>): Promise<T | F> {
  try {
    return await call;
  } catch (error) {
    const code = (error as { code?: unknown; data?: { error?: unknown } }).data?.error;
    if (typeof code === 'string' && NOT_FOUND_ERRORS.has(code)) return fallback;
    throw error;
  }
}

export class SlackApi {
  readonly #client: WebClient;

  constructor(token: string, slackApiUrl: string = SLACK_API_URL) {
    // Retries are the caller's business (Lambda retries async work; each call here is idempotent
    // or guarded), so the client fails fast instead of sleeping through a 3 s acknowledgement.
    this.#client = new WebClient(token, { slackApiUrl, retryConfig: { retries: 0 }, timeout: 5000 });
  }

  async postMessage(channel: string, message: SlackMessage, threadTs?: string): Promise<PostedMessage> {
    const result = await this.#client.chat.postMessage({
      channel,
      text: message.text,
      blocks: [...message.blocks] as never,
      ...(threadTs === undefined ? {} : { thread_ts: threadTs }),
      unfurl_links: false,
    });
    return { channel: result.channel ?? channel, ts: String(result.ts) };
  }

  async updateMessage(channel: string, ts: string, message: SlackMessage): Promise<void> {
    await this.#client.chat.update({ channel, ts, text: message.text, blocks: [...message.blocks] as never });
  }

  async postEphemeral(channel: string, user: string, text: string): Promise<void> {
    await this.#client.chat.postEphemeral({ channel, user, text });
  }

  async openView(triggerId: string, view: SlackModal): Promise<void> {
    await this.#client.views.open({ trigger_id: triggerId, view: view as never });
  }

  /** The user's email (needs users:read.email), or undefined when Slack has none for them. */
  async userEmail(userId: string): Promise<string | undefined> {
    const result = await absentAs(undefined, this.#client.users.info({ user: userId }));
    return result?.user?.profile?.email;
  }

  async userIdByEmail(email: string): Promise<string | undefined> {
    const result = await absentAs(undefined, this.#client.users.lookupByEmail({ email }));
    return result?.user?.id;
  }

  /** Opens (or finds) the DM with one user and returns its channel id. */
  async openDirectMessage(userId: string): Promise<string> {
    const result = await this.#client.conversations.open({ users: userId });
    const id = result.channel?.id;
    if (id === undefined) throw new Error('conversations.open returned no channel');
    return id;
  }
}
