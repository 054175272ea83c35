/**
 * One AWS API request signed with the SDK's own SigV4 signer and sent with fetch, retried as the
 * SDK's standard retry mode retries (three attempts in all, jittered exponential backoff), within
 * one deadline for all attempts: what the adapters that speak an AWS API without its SDK client
 * share (lambda-invoke.ts for Lambda's Invoke, aws-query.ts for STS and IAM; issue 15). Each says
 * which answers are worth asking again and what an answer means.
 */
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';

/** As the SDK's standard retry mode: three attempts in all. */
const MAX_ATTEMPTS = 3;
const BACKOFF_BASE_MS = 100;

/** Credentials, or a provider of them (the SDK's `fromEnv()`). */
export type SigningCredentials = ConstructorParameters<typeof SignatureV4>[0]['credentials'];

export interface SignedRequestTarget {
  /** The service's endpoint; a path in it (a proxy's) prefixes every request's path. */
  readonly endpoint: URL;
  /** The SigV4 signing name (`lambda`, `sts`, `iam`). */
  readonly signingName: string;
  readonly signingRegion: string;
  readonly credentials: SigningCredentials;
}

export interface SignedRequest {
  /** The path under the endpoint, encoded. */
  readonly path: string;
  /** Headers to sign and send besides host and SigV4's own. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface AwsAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

export interface SendOptions {
  /** How long the request may take, retries included: no attempt starts or lasts past it. */
  readonly timeoutMs: number;
  /** Whether an answer may be asked for again (a request that got no answer always may). */
  readonly retryable: (answer: AwsAnswer) => boolean;
}

/** The answer a request ended with, and whether an attempt before it may have run the request. */
export interface SentAnswer extends AwsAnswer {
  /**
   * An earlier attempt got no answer or a server error (5xx): it may have run the request, so a
   * refusal of this attempt does not mean the request did not run.
   */
  readonly afterUnknownOutcome: boolean;
}

/**
 * Sends a request: the last answer (one not worth asking again, or the last attempt's), or the
 * error of the last attempt that got none (a network failure, the deadline).
 */
export type SendSignedRequest = (request: SignedRequest, options: SendOptions) => Promise<SentAnswer>;

/** Whether an attempt that ended so may have run the request. */
function outcomeUnknown(outcome: { answer: AwsAnswer } | { error: unknown }): boolean {
  return !('answer' in outcome) || outcome.answer.status >= 500;
}

/** Lambda's and most REST APIs' rule: throttled (429) or a server error (5xx). */
export function isThrottledOrServerError(answer: AwsAnswer): boolean {
  return answer.status === 429 || answer.status >= 500;
}

export function signedRequestSender(target: SignedRequestTarget): SendSignedRequest {
  const base = target.endpoint;
  const signer = new SignatureV4({
    service: target.signingName,
    region: target.signingRegion,
    credentials: target.credentials,
    sha256: Hash.bind(null, 'sha256'),
  });

  async function attempt(request: SignedRequest, path: string, timeoutMs: number): Promise<AwsAnswer> {
    const signed = await signer.sign({
      method: 'POST',
      protocol: base.protocol,
      hostname: base.hostname,
      ...(base.port === '' ? {} : { port: Number(base.port) }),
      path,
      query: {},
      headers: { ...request.headers, host: base.host },
      body: request.body,
    });
    // fetch sets host itself (and refuses one given).
    const headers = Object.fromEntries(
      Object.entries(signed.headers).filter(([name]) => name !== 'host'),
    ) as Record<string, string>;
    const response = await fetch(new URL(path, base), {
      method: 'POST',
      headers,
      body: request.body,
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: response.status, headers: response.headers, text: await response.text() };
  }

  return async (request, options) => {
    const path = `${base.pathname.replace(/\/$/, '')}${request.path}`;
    const deadline = Date.now() + options.timeoutMs;
    let afterUnknownOutcome = false;
    for (let attemptNumber = 1; ; attemptNumber += 1) {
      const outcome = await attempt(request, path, Math.max(deadline - Date.now(), 1)).then(
        (answer) => ({ answer }),
        (error: unknown) => ({ error }),
      );
      if ('answer' in outcome && !options.retryable(outcome.answer)) {
        return { ...outcome.answer, afterUnknownOutcome };
      }
      const backoffMs = Math.random() * BACKOFF_BASE_MS * 2 ** attemptNumber;
      if (attemptNumber >= MAX_ATTEMPTS || Date.now() + backoffMs >= deadline) {
        if ('answer' in outcome) return { ...outcome.answer, afterUnknownOutcome };
        throw outcome.error;
      }
      afterUnknownOutcome ||= outcomeUnknown(outcome);
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
    }
  };
}
