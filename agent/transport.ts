/**
 * Calls to Countersign's agent API, signed as API Gateway's IAM authorizer expects: AWS Signature
 * Version 4, service `execute-api`, with the agent's own credentials (the standard AWS credential
 * chain unless given). Transient failures (the network, 429, 5xx) are retried with jittered
 * backoff, which is safe: every call is idempotent (a POST by its requestId).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { EXECUTE_API_SIGNING_NAME } from '../lambdas/domain/agent-api.ts';
import { CountersignApiError } from './errors.ts';

/** Static credentials or a provider of them (`{accessKeyId, secretAccessKey, sessionToken?}`). */
export type AgentCredentials = ConstructorParameters<typeof SignatureV4>[0]['credentials'];

export interface TransportOptions {
  /** The HTTP API's base URL (the stack's `HttpApiUrl` output, or the twin's URL). */
  readonly endpoint: string;
  readonly region: string;
  /** @default the standard AWS credential chain (environment, profile, SSO, container, instance …) */
  readonly credentials?: AgentCredentials;
  /** Attempts per call, counting the first. @default 4 */
  readonly maxAttempts?: number;
}

export interface ApiAnswer {
  readonly status: number;
  readonly body: unknown;
}

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);
const BACKOFF_BASE_MS = 100;

/** The error body the API answers with: `{"error": {"code", "message", "issues"?}}`. */
function apiError(status: number, body: unknown): CountersignApiError {
  const error = (body as { error?: { code?: unknown; message?: unknown; issues?: unknown } } | undefined)
    ?.error;
  const gateway = (body as { message?: unknown } | undefined)?.message;
  const message =
    typeof error?.message === 'string'
      ? error.message
      : typeof gateway === 'string'
        ? gateway
        : `HTTP ${status}`;
  return new CountersignApiError(`Countersign answered ${status}: ${message}`, {
    status,
    code: typeof error?.code === 'string' ? error.code : status === 403 ? 'FORBIDDEN' : `HTTP_${status}`,
    issues: Array.isArray(error?.issues) ? error.issues.map(String) : [],
  });
}

export class SignedTransport {
  readonly #endpoint: URL;
  readonly #signer: SignatureV4;
  readonly #maxAttempts: number;

  constructor(options: TransportOptions) {
    this.#endpoint = new URL(options.endpoint.endsWith('/') ? options.endpoint : `${options.endpoint}/`);
    this.#signer = new SignatureV4({
      service: EXECUTE_API_SIGNING_NAME,
      region: options.region,
      credentials: options.credentials ?? fromNodeProviderChain(),
      sha256: Hash.bind(null, 'sha256'),
    });
    this.#maxAttempts = options.maxAttempts ?? 4;
  }

  get endpoint(): URL {
    return this.#endpoint;
  }

  /** One call: the answer of any status Countersign gives (2xx), or CountersignApiError. */
  async call(
    method: 'GET' | 'POST',
    path: string,
    options: {
      readonly body?: unknown;
      readonly query?: Record<string, string>;
      readonly signal?: AbortSignal;
    },
  ): Promise<ApiAnswer> {
    for (let attempt = 1; ; attempt += 1) {
      options.signal?.throwIfAborted();
      let answer: ApiAnswer;
      try {
        answer = await this.#send(method, path, options);
      } catch (error) {
        if (options.signal?.aborted || attempt >= this.#maxAttempts) throw error;
        await this.#backoff(attempt, options.signal);
        continue;
      }
      if (answer.status < 300) return answer;
      if (!RETRYABLE_STATUS.has(answer.status) || attempt >= this.#maxAttempts) {
        throw apiError(answer.status, answer.body);
      }
      await this.#backoff(attempt, options.signal);
    }
  }

  async #backoff(attempt: number, signal: AbortSignal | undefined): Promise<void> {
    const ceiling = BACKOFF_BASE_MS * 2 ** attempt;
    await sleep(Math.random() * ceiling, undefined, signal === undefined ? {} : { signal });
  }

  async #send(
    method: string,
    path: string,
    options: {
      readonly body?: unknown;
      readonly query?: Record<string, string>;
      readonly signal?: AbortSignal;
    },
  ): Promise<ApiAnswer> {
    const url = new URL(path.replace(/^\//, ''), this.#endpoint);
    for (const [name, value] of Object.entries(options.query ?? {})) url.searchParams.set(name, value);
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const signed = await this.#signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port === '' ? {} : { port: Number(url.port) }),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: {
        host: url.host,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body }),
    });
    // fetch sets Host itself, from the same URL.
    const { host: _host, ...headers } = signed.headers;
    const response = await fetch(url, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = { message: text };
    }
    return { status: response.status, body: parsed };
  }
}
