/**
 * Outbound Bot Connector REST calls (bot → Teams): a proactive post of the review card and its
 * update in place, authenticated with an OAuth client-credentials token that is cached until
 * shortly before it expires. The token URL and each conversation's serviceUrl are plain inputs,
 * so the twin's sinks receive exactly these requests.
 */
import { CountersignError } from '../../domain/errors.ts';
import * as z from '../../domain/zod.ts';
import type { CredentialSource, TeamsCredentials } from '../chat-credentials.ts';
import { BOT_FRAMEWORK } from './bot-framework-auth.ts';

/** Renew a minute early so a token never expires in flight. */
const EXPIRY_MARGIN_MS = 60_000;

const TokenResponse = z.object({
  access_token: z.string().check(z.minLength(1)),
  expires_in: z.coerce.number().check(z.positive()),
});
const ResourceResponse = z.object({ id: z.string().check(z.minLength(1)) });

export class BotConnectorError extends CountersignError {
  readonly status: number;
  constructor(message: string, status: number, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
  }
}

export interface BotConnectorOptions {
  readonly credentials: CredentialSource<TeamsCredentials>;
  /** @default BOT_FRAMEWORK.tokenUrl */
  readonly tokenUrl?: string;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default Date.now */
  readonly now?: () => number;
}

export class BotConnectorClient {
  readonly #options: BotConnectorOptions;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  #token: { value: string; until: number } | undefined;
  #inflight: Promise<string> | undefined;

  constructor(options: BotConnectorOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#now = options.now ?? Date.now;
  }

  async #fetchToken(): Promise<string> {
    const { appId, appPassword } = await this.#options.credentials();
    const response = await this.#fetch(this.#options.tokenUrl ?? BOT_FRAMEWORK.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: appId,
        client_secret: appPassword,
        scope: BOT_FRAMEWORK.tokenScope,
      }),
    });
    if (!response.ok) throw new BotConnectorError('Bot Framework token request failed', response.status);
    const token = TokenResponse.parse(await response.json());
    this.#token = {
      value: token.access_token,
      until: this.#now() + token.expires_in * 1000 - EXPIRY_MARGIN_MS,
    };
    return token.access_token;
  }

  /** The cached token, or a fresh one when it is missing or about to expire. */
  token(): Promise<string> {
    if (this.#token !== undefined && this.#now() < this.#token.until)
      return Promise.resolve(this.#token.value);
    this.#inflight ??= this.#fetchToken().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #send(method: 'POST' | 'PUT', url: string, activity: unknown): Promise<string> {
    const response = await this.#fetch(url, {
      method,
      headers: { authorization: `Bearer ${await this.token()}`, 'content-type': 'application/json' },
      body: JSON.stringify(activity),
    });
    if (!response.ok) throw new BotConnectorError(`Bot Connector ${method} failed`, response.status);
    return ResourceResponse.parse(await response.json()).id;
  }

  /** POST {serviceUrl}/v3/conversations/{id}/activities → the new activity id. */
  sendToConversation(serviceUrl: string, conversationId: string, activity: unknown): Promise<string> {
    return this.#send('POST', activitiesUrl(serviceUrl, conversationId), activity);
  }

  /** PUT {serviceUrl}/v3/conversations/{id}/activities/{activityId}: replaces the message in place. */
  async updateActivity(serviceUrl: string, conversationId: string, activityId: string, activity: unknown) {
    await this.#send(
      'PUT',
      `${activitiesUrl(serviceUrl, conversationId)}/${encodeURIComponent(activityId)}`,
      {
        ...(activity as object),
        id: activityId,
      },
    );
  }
}

function activitiesUrl(serviceUrl: string, conversationId: string): string {
  return `${serviceUrl.replace(/\/+$/, '')}/v3/conversations/${encodeURIComponent(conversationId)}/activities`;
}
