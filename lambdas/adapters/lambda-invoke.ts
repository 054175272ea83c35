/**
 * Lambda's Invoke API, for the one function of Countersign that calls another: the Slack function
 * hands a vote job to an asynchronous invocation of itself (InvocationType Event), and the
 * workflow's Finish step asks the executor function to run an approved action and waits for its
 * answer (RequestResponse). The twin serves the same Invoke API, so both paths are the same locally.
 *
 * The call is Lambda's documented Invoke REST API signed with the SDK's own SigV4 signer,
 * credentials provider and partition table, not `@aws-sdk/client-lambda`: that client brought the
 * schemas and error classes of every Lambda operation (~90 KB minified, which esbuild cannot
 * shake) into each bundle for this one request (issue 15). Endpoint resolution is the SDK's for a
 * plain regional call: `AWS_ENDPOINT_URL_LAMBDA`, else `AWS_ENDPOINT_URL`, else
 * `https://lambda.<region>.<partition's DNS suffix>`.
 */
import { partition } from '@aws-sdk/core/client';
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { CountersignError } from '../domain/errors.ts';

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

/**
 * The invoked function ran and failed (it threw, timed out or could not start): Lambda answered
 * 200 with `X-Amz-Function-Error` and the function's `errorType` and `errorMessage`.
 */
export class InvokedFunctionError extends CountersignError {
  readonly errorType: string;
  constructor(message: string, errorType: string) {
    super(message);
    this.errorType = errorType;
  }
}

/** As the SDK's standard retry mode: three attempts in all, for throttling, 5xx and network errors. */
const MAX_ATTEMPTS = 3;
const BACKOFF_BASE_MS = 100;

export const InvocationType = {
  /** Lambda queues the event and answers 202 at once; it retries a failed run itself. */
  event: 'Event',
  /** Lambda runs the function and answers 200 with its result, or with its error. */
  requestResponse: 'RequestResponse',
} as const;
export type InvocationType = (typeof InvocationType)[keyof typeof InvocationType];

const EXPECTED_STATUS: Readonly<Record<InvocationType, number>> = {
  [InvocationType.event]: 202,
  [InvocationType.requestResponse]: 200,
};

export interface LambdaInvokeTarget {
  /** AWS_REGION. */
  readonly region: string;
  /** An endpoint to use instead of Lambda's regional one (AWS_ENDPOINT_URL_LAMBDA or AWS_ENDPOINT_URL). */
  readonly endpoint?: string;
  /** @default the function's role credentials from the environment (fromEnv) */
  readonly credentials?: ReturnType<typeof fromEnv>;
}

export interface LambdaInvocation {
  /** The function's name or ARN. */
  readonly functionName: string;
  readonly invocationType: InvocationType;
  /** The event, sent as JSON. */
  readonly payload: unknown;
  /**
   * How long the invocation may take, retries included (no attempt starts or lasts past it): for
   * RequestResponse, longer than the function's own timeout and shorter than the caller's.
   */
  readonly timeoutMs: number;
}

/** Invokes a function; for RequestResponse answers the function's result (JSON), for Event undefined. */
export type LambdaInvoke = (invocation: LambdaInvocation) => Promise<unknown>;

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

function parseJson(text: string, what: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CountersignError(`${what} is not JSON`, { cause: error });
  }
}

/** What a function error's payload says: `{"errorType","errorMessage","trace"}`. */
function functionFailure(name: string, text: string): InvokedFunctionError {
  const payload = parseJson(text, `the error of ${name}`) as { errorType?: unknown; errorMessage?: unknown };
  const type = typeof payload?.errorType === 'string' ? payload.errorType : 'Unknown';
  const message = typeof payload?.errorMessage === 'string' ? payload.errorMessage : '';
  return new InvokedFunctionError(`${name} failed: ${type}: ${message.slice(0, 500)}`, type);
}

export function lambdaInvoker(target: LambdaInvokeTarget): LambdaInvoke {
  const base = new URL(
    target.endpoint ?? `https://lambda.${target.region}.${partition(target.region).dnsSuffix}`,
  );
  const signer = new SignatureV4({
    service: 'lambda',
    region: target.region,
    credentials: target.credentials ?? fromEnv(),
    sha256: Hash.bind(null, 'sha256'),
  });

  async function attempt(
    path: string,
    body: string,
    invocation: LambdaInvocation,
    timeoutMs: number,
  ): Promise<Response> {
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
        'x-amz-invocation-type': invocation.invocationType,
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
      signal: AbortSignal.timeout(timeoutMs),
    });
  }

  return async (invocation) => {
    const name = invocation.functionName;
    const body = JSON.stringify(invocation.payload);
    const path = `${base.pathname.replace(/\/$/, '')}/2015-03-31/functions/${encodeURIComponent(name)}/invocations`;
    const deadline = Date.now() + invocation.timeoutMs;
    for (let attemptNumber = 1; ; attemptNumber += 1) {
      const outcome = await attempt(path, body, invocation, Math.max(deadline - Date.now(), 1)).then(
        async (response) => ({ response, text: await response.text() }),
        (error: unknown) => ({ error }),
      );
      if ('response' in outcome && outcome.response.status === EXPECTED_STATUS[invocation.invocationType]) {
        if (outcome.response.headers.has('x-amz-function-error')) throw functionFailure(name, outcome.text);
        return parseJson(outcome.text, `the result of ${name}`);
      }
      const failure =
        'error' in outcome
          ? outcome.error
          : new LambdaInvokeError(
              `${invocation.invocationType} invoke of ${name} answered ${outcome.response.status} ${errorType(outcome.response)}: ${outcome.text.slice(0, 200)}`,
              outcome.response.status,
              errorType(outcome.response),
            );
      // Safe to ask again: a throttled call ran nothing, and both callers' functions are idempotent
      // (a second vote job is harmless; a second run of an action answers the first one's outcome).
      const again = 'error' in outcome || retryable(outcome.response.status);
      const backoffMs = Math.random() * BACKOFF_BASE_MS * 2 ** attemptNumber;
      if (!again || attemptNumber >= MAX_ATTEMPTS || Date.now() + backoffMs >= deadline) throw failure;
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
    }
  };
}
