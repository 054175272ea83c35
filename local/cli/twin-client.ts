/**
 * What the CLI needs to reach a running twin: its URL, the demo directory (countersign.local.json,
 * with the agents' keys), tokens from the dev issuer and calls to the REST API. Everything goes
 * through the twin's public front doors, as any other client would.
 */
import * as z from 'zod';
import { ApiError, UsageError } from './output.ts';

export const DEFAULT_PORT = 4710;

import { type LocalConfig, readLocalConfig } from '../product/config.ts';
import { AWS_EVENT_REPLAY_PATH } from '../twin/aws-event-replay.ts';
/** `--url`, else COUNTERSIGN_URL, else the local twin on COUNTERSIGN_PORT (default 4710). */
export function twinUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const url = flag ?? env.COUNTERSIGN_URL ?? `http://127.0.0.1:${env.COUNTERSIGN_PORT ?? DEFAULT_PORT}`;
  try {
    return new URL(url).toString().replace(/\/+$/, '');
  } catch (error) {
    throw new UsageError(`not a URL: ${url}`, { cause: error });
  }
}

/** `--as`, else COUNTERSIGN_USER, else the directory's first user: the identity read-only commands use. */
export function readerIdentity(flag: string | undefined, config: LocalConfig): string {
  const user = flag ?? process.env.COUNTERSIGN_USER ?? config.users[0]?.id;
  if (user === undefined) throw new UsageError('--as <user> is required (the directory has no users)');
  return user;
}

interface ErrorBody {
  error?: { code?: string; message?: string };
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    return { error: { message: text.slice(0, 200) } };
  }
}

export class TwinClient {
  readonly url: string;
  readonly #tokens = new Map<string, string>();

  constructor(url: string) {
    this.url = url;
  }

  async #call(method: string, path: string, init: { token?: string; body?: unknown } = {}): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.url}${path}`, {
        method,
        headers,
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      });
    } catch (error) {
      throw new ApiError(
        0,
        'UNREACHABLE',
        `cannot reach the twin at ${this.url}; is \`npm start\` running?`,
        {
          cause: error,
        },
      );
    }
    const body = await readJson(response);
    if (!response.ok) {
      const problem = (body as ErrorBody).error;
      throw new ApiError(
        response.status,
        problem?.code ?? `HTTP_${response.status}`,
        problem?.message ?? `${method} ${path} answered HTTP ${response.status}`,
      );
    }
    return body;
  }

  /** A bearer token for `user` from the twin's dev issuer, cached for this run. */
  async tokenFor(user: string): Promise<string> {
    const cached = this.#tokens.get(user);
    if (cached !== undefined) return cached;
    const { token } = z
      .object({ token: z.string() })
      .parse(await this.#call('POST', '/local/token', { body: { user } }));
    this.#tokens.set(user, token);
    return token;
  }

  /** Replays an AWS service's recorded event onto the twin's default bus (`POST /local/aws-events`). */
  async replayAwsEvent(event: unknown): Promise<void> {
    await this.#call('POST', AWS_EVENT_REPLAY_PATH, { body: event });
  }

  async api(method: string, path: string, as: string, body?: unknown): Promise<unknown> {
    const token = await this.tokenFor(as);
    return this.#call(method, path, body === undefined ? { token } : { token, body });
  }
}

/** The options of every command that reads through the API as a person: who, which twin, which directory, JSON. */
export const READER_OPTIONS = {
  as: { type: 'string' },
  json: { type: 'boolean', default: false },
  url: { type: 'string' },
  config: { type: 'string' },
} as const;

/** GETs an API path as the person the options name (`--as`, else the default reader); returns who asked too. */
export async function readAs(
  values: { readonly as?: string; readonly url?: string; readonly config?: string },
  path: string,
): Promise<{ readonly body: unknown; readonly viewer: string }> {
  const viewer = readerIdentity(values.as, await readLocalConfig(values.config));
  const body = await new TwinClient(twinUrl(values.url)).api('GET', path, viewer);
  return { body, viewer };
}
