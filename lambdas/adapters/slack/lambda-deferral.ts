/**
 * Hands a sealed Slack vote job to an asynchronous invocation of the same function
 * (InvocationType Event): Lambda answers Slack at once and runs the vote in a second invocation,
 * retried by Lambda on failure (the vote is idempotent per person). The worker opens the seal
 * before it believes anything in the job (vote-job.ts). The twin serves the Lambda Invoke API for
 * the same request, so this path is the same locally.
 *
 * The one call is Lambda's documented Invoke REST API signed with the SDK's own SigV4 signer,
 * credentials provider and partition table, not `@aws-sdk/client-lambda`: that client brought the
 * schemas and error classes of every Lambda operation (~90 KB minified, which esbuild cannot
 * shake) into the Slack bundle for this one request (issue 15). Endpoint resolution is the SDK's
 * for a plain regional call: `AWS_ENDPOINT_URL_LAMBDA`, else `AWS_ENDPOINT_URL`, else
 * `https://lambda.<region>.<partition's DNS suffix>`.
 */
import { partition } from '@aws-sdk/core/client';
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { CountersignError } from '../../domain/errors.ts';
import type { SealedVoteJob } from './vote-job.ts';

/** The self-invocation event: distinct from an API Gateway event by this one key. */
export interface DeferredSlackVote {
  readonly countersignSlackVote: unknown;
}

export function isDeferredSlackVote(event: unknown): event is DeferredSlackVote {
  return typeof event === 'object' && event !== null && 'countersignSlackVote' in event;
}

/** Lambda refused the invocation (`type` is its error type, such as ResourceNotFoundException). */
export class LambdaInvokeError extends CountersignError {
  readonly status: number;
  readonly type: string;
  constructor(message: string, status: number, type: string, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
    this.type = type;
  }
}

/** As the SDK's standard retry mode: three attempts in all, for throttling, 5xx and network errors. */
const MAX_ATTEMPTS = 3;
const BACKOFF_BASE_MS = 100;
/** Each attempt, so that three of them still answer inside Slack's 3 s acknowledgement. */
const ATTEMPT_TIMEOUT_MS = 800;

export interface LambdaInvokeTarget {
  /** AWS_REGION. */
  readonly region: string;
  /** An endpoint to use instead of Lambda's regional one (AWS_ENDPOINT_URL_LAMBDA or AWS_ENDPOINT_URL). */
  readonly endpoint?: string;
  /** @default the function's role credentials from the environment (fromEnv) */
  readonly credentials?: ReturnType<typeof fromEnv>;
}

/** The endpoint and region the SDK would use for Lambda in this process. */
export function lambdaInvokeTargetFromEnvironment(env: NodeJS.ProcessEnv = process.env): LambdaInvokeTarget {
  const region = env.AWS_REGION;
  if (region === undefined || region === '') throw new CountersignError('AWS_REGION is not set');
  const endpoint = env.AWS_ENDPOINT_URL_LAMBDA ?? env.AWS_ENDPOINT_URL;
  return endpoint === undefined || endpoint === '' ? { region } : { region, endpoint };
}

function retryable(status: number): boolean {
  return status === 429 || status >= 500;
}

/** `x-amzn-ErrorType: ResourceNotFoundException:http://internal.amazon.com/…` → the type. */
function errorType(response: Response): string {
  return (response.headers.get('x-amzn-errortype') ?? `HTTP ${response.status}`).split(':')[0] ?? '';
}

export function lambdaSelfInvoke(target: LambdaInvokeTarget, functionName: () => string) {
  const base = new URL(
    target.endpoint ?? `https://lambda.${target.region}.${partition(target.region).dnsSuffix}`,
  );
  const signer = new SignatureV4({
    service: 'lambda',
    region: target.region,
    credentials: target.credentials ?? fromEnv(),
    sha256: Hash.bind(null, 'sha256'),
  });

  async function attempt(path: string, body: string): Promise<Response> {
    const signed = await signer.sign({
      method: 'POST',
      protocol: base.protocol,
      hostname: base.hostname,
      ...(base.port === '' ? {} : { port: Number(base.port) }),
      path,
      query: {},
      headers: {
        host: base.host,
        'content-type': 'application/octet-stream',
        'x-amz-invocation-type': 'Event',
      },
      body,
    });
    const headers = Object.fromEntries(
      Object.entries(signed.headers).filter(([name]) => name !== 'host'),
    ) as Record<string, string>;
    return fetch(new URL(path, base), {
      method: 'POST',
      headers,
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
    });
  }

  return async (job: SealedVoteJob): Promise<void> => {
    const name = functionName();
    const event: DeferredSlackVote = { countersignSlackVote: job };
    const body = JSON.stringify(event);
    const path = `${base.pathname.replace(/\/$/, '')}/2015-03-31/functions/${encodeURIComponent(name)}/invocations`;
    for (let attemptNumber = 1; ; attemptNumber += 1) {
      const outcome = await attempt(path, body).then(
        async (response) => ({ response, text: await response.text() }),
        (error: unknown) => ({ error }),
      );
      if ('response' in outcome && outcome.response.status === 202) return;
      const failure =
        'error' in outcome
          ? outcome.error
          : new LambdaInvokeError(
              `asynchronous invoke of ${name} answered ${outcome.response.status} ${errorType(outcome.response)}: ${outcome.text.slice(0, 200)}`,
              outcome.response.status,
              errorType(outcome.response),
            );
      // A network error or a timeout may be retried too: a second job for the same vote is harmless.
      const again = 'error' in outcome || retryable(outcome.response.status);
      if (!again || attemptNumber >= MAX_ATTEMPTS) throw failure;
      await new Promise((resolve) =>
        setTimeout(resolve, Math.random() * BACKOFF_BASE_MS * 2 ** attemptNumber),
      );
    }
  };
}
