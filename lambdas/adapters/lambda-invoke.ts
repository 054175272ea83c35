/**
 * Lambda's Invoke API, for the one function of Countersign that calls another: the Slack function
 * hands a vote job to an asynchronous invocation of itself (InvocationType Event), and the
 * workflow's Finish step asks the executor function to run an approved action and waits for its
 * answer (RequestResponse). The twin serves the same Invoke API, so both paths are the same locally.
 *
 * The call is Lambda's documented Invoke REST API signed with the SDK's own SigV4 signer,
 * credentials provider and partition table (aws-signed-request.ts, retries as the SDK's), not `@aws-sdk/client-lambda`: that client brought the
 * schemas and error classes of every Lambda operation (~90 KB minified, which esbuild cannot
 * shake) into each bundle for this one request (issue 15). Endpoint resolution is the SDK's for a
 * plain regional call: `AWS_ENDPOINT_URL_LAMBDA`, else `AWS_ENDPOINT_URL`, else
 * `https://lambda.<region>.<partition's DNS suffix>`.
 */
import { partition } from '@aws-sdk/core/client';
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { CountersignError } from '../domain/errors.ts';
import {
  type AwsAnswer,
  isThrottledOrServerError,
  type SigningCredentials,
  signedRequestSender,
} from './aws-signed-request.ts';

/**
 * Lambda refused the invocation (`type` is its error type, such as ResourceNotFoundException). It
 * does not say the function did not run (an earlier attempt that got a 5xx or no answer may have run
 * it): both callers fail and are retried, the function being idempotent, and never record otherwise.
 */
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
  readonly credentials?: SigningCredentials;
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

/** `x-amzn-ErrorType: ResourceNotFoundException:http://internal.amazon.com/…` → the type. */
function errorType(answer: AwsAnswer): string {
  return (answer.headers.get('x-amzn-errortype') ?? `HTTP ${answer.status}`).split(':')[0] ?? '';
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
  const send = signedRequestSender({
    endpoint: new URL(
      target.endpoint ?? `https://lambda.${target.region}.${partition(target.region).dnsSuffix}`,
    ),
    signingName: 'lambda',
    signingRegion: target.region,
    credentials: target.credentials ?? fromEnv(),
  });

  return async (invocation) => {
    const name = invocation.functionName;
    const answer = await send(
      {
        path: `/2015-03-31/functions/${encodeURIComponent(name)}/invocations`,
        headers: {
          'content-type': 'application/octet-stream',
          'x-amz-invocation-type': invocation.invocationType,
        },
        body: JSON.stringify(invocation.payload),
      },
      // Safe to ask again: a throttled call ran nothing, and both callers' functions are idempotent
      // (a second vote job is harmless; a second run of an action answers the first one's outcome).
      { timeoutMs: invocation.timeoutMs, retryable: isThrottledOrServerError },
    );
    if (answer.status !== EXPECTED_STATUS[invocation.invocationType]) {
      const type = errorType(answer);
      throw new LambdaInvokeError(
        `${invocation.invocationType} invoke of ${name} answered ${answer.status} ${type}: ${answer.text.slice(0, 200)}`,
        answer.status,
        type,
      );
    }
    if (answer.headers.has('x-amz-function-error')) throw functionFailure(name, answer.text);
    return parseJson(answer.text, `the result of ${name}`);
  };
}
