/**
 * AWS's Query protocol, for the two calls of STS and IAM the executor function makes (AssumeRole,
 * AttachRolePolicy): a form-encoded `POST /` naming the `Action` and the API `Version`, signed with
 * the SDK's own SigV4 signer (aws-signed-request.ts), answered in XML read with the SDK's own XML
 * parser. Not `@aws-sdk/client-sts` / `client-iam`: each brought the schemas and error classes of
 * every operation of its service (~45 KB minified together, which esbuild cannot shake) into the
 * executor function for one call each (issue 15).
 *
 * Endpoints are the SDK's: `AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL` (signed for
 * AWS_REGION), else the service's own for the Region's partition (below, from the SDK clients'
 * endpoint rulesets; test/unit/adapters/aws-query.test.ts compares them with the clients').
 * FIPS and dual-stack endpoints are not offered (Countersign never configures them).
 */
import { partition } from '@aws-sdk/core/client';
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { parseXML } from '@aws-sdk/xml-builder';
import { isThrottlingError, isTransientError } from '@smithy/core/retry';
import { CountersignError } from '../domain/errors.ts';
import * as z from '../domain/zod.ts';
import { type AwsAnswer, type SigningCredentials, signedRequestSender } from './aws-signed-request.ts';

export interface QueryEndpoint {
  readonly url: string;
  readonly signingRegion: string;
}

export interface QueryApi {
  readonly signingName: string;
  readonly version: string;
  /** The SDK's service-specific endpoint variable. */
  readonly endpointVariable: string;
  /** The service's own endpoint for a Region. */
  readonly endpointFor: (region: string) => QueryEndpoint;
}

/**
 * IAM is global: one endpoint per partition, signed for the partition's IAM Region, which for
 * these partitions is not always its implicitGlobalRegion (aws-cn signs for cn-north-1).
 */
const IAM_PARTITION_ENDPOINTS: Readonly<Record<string, QueryEndpoint>> = {
  aws: { url: 'https://iam.amazonaws.com', signingRegion: 'us-east-1' },
  'aws-cn': { url: 'https://iam.cn-north-1.amazonaws.com.cn', signingRegion: 'cn-north-1' },
  'aws-us-gov': { url: 'https://iam.us-gov.amazonaws.com', signingRegion: 'us-gov-west-1' },
  'aws-iso': { url: 'https://iam.us-iso-east-1.c2s.ic.gov', signingRegion: 'us-iso-east-1' },
  'aws-iso-b': { url: 'https://iam.us-isob-east-1.sc2s.sgov.gov', signingRegion: 'us-isob-east-1' },
  'aws-iso-e': { url: 'https://iam.eu-isoe-west-1.cloud.adc-e.uk', signingRegion: 'eu-isoe-west-1' },
  'aws-iso-f': { url: 'https://iam.us-isof-south-1.csp.hci.ic.gov', signingRegion: 'us-isof-south-1' },
  'aws-eusc': { url: 'https://iam.eusc-de-east-1.amazonaws.eu', signingRegion: 'eusc-de-east-1' },
};

export const QUERY_APIS = {
  sts: {
    signingName: 'sts',
    version: '2011-06-15',
    endpointVariable: 'AWS_ENDPOINT_URL_STS',
    // Regional, as the SDK has defaulted to since v3.
    endpointFor: (region) =>
      region === 'aws-global'
        ? { url: 'https://sts.amazonaws.com', signingRegion: 'us-east-1' }
        : { url: `https://sts.${region}.${partition(region).dnsSuffix}`, signingRegion: region },
  },
  iam: {
    signingName: 'iam',
    version: '2010-05-08',
    endpointVariable: 'AWS_ENDPOINT_URL_IAM',
    endpointFor: (region) => {
      // The partition table has implicitGlobalRegion; its type does not say so yet.
      const found: { name: string; dnsSuffix: string; implicitGlobalRegion?: string } = partition(region);
      const globalRegion = found.implicitGlobalRegion ?? region;
      return (
        IAM_PARTITION_ENDPOINTS[found.name] ?? {
          url: `https://iam.${globalRegion}.${found.dnsSuffix}`,
          signingRegion: globalRegion,
        }
      );
    },
  },
} as const satisfies Record<string, QueryApi>;

/** Where a Query API's calls go in this process: the endpoint the SDK would use, and its signing Region. */
export function queryEndpointFromEnvironment(
  api: QueryApi,
  env: NodeJS.ProcessEnv = process.env,
): QueryEndpoint {
  const region = env.AWS_REGION;
  if (region === undefined || region === '') throw new CountersignError('AWS_REGION is not set');
  const endpoint = env[api.endpointVariable] ?? env.AWS_ENDPOINT_URL;
  return endpoint === undefined || endpoint === ''
    ? api.endpointFor(region)
    : { url: endpoint, signingRegion: region };
}

/** The service answered with an error (`code` is AWS's, such as NoSuchEntity or AccessDenied). */
export class AwsQueryError extends CountersignError {
  readonly code: string;
  readonly status: number;
  /** AWS's request id, when it sent one. */
  readonly requestId: string | undefined;
  /**
   * `refused`: the service refused the call (4xx) and no earlier attempt may have run it, so it did
   * not run. `unknown`: a server error (5xx), or a refusal of a retry after an attempt that got no
   * answer or a server error (that attempt may have run it).
   */
  readonly outcome: 'refused' | 'unknown';
  constructor(answer: {
    code: string;
    message: string;
    status: number;
    requestId?: string | undefined;
    afterUnknownOutcome?: boolean;
  }) {
    super(`${answer.code}: ${answer.message}`);
    this.code = answer.code;
    this.status = answer.status;
    this.requestId = answer.requestId;
    this.outcome = answer.status >= 500 || answer.afterUnknownOutcome === true ? 'unknown' : 'refused';
  }
}

/** What a call answered: its `<Action>Result` element as the XML parser reads it, and the request id. */
export interface QueryAnswer {
  readonly result: unknown;
  readonly requestId: string | undefined;
}

/** Calls one action; throws AwsQueryError for what the service refused, the last failure otherwise. */
export type QueryCall = (
  action: string,
  parameters: Readonly<Record<string, string>>,
) => Promise<QueryAnswer>;

const ErrorDetail = z.object({ Code: z.string(), Message: z.optional(z.string()) });
/** `<ErrorResponse><Error>…</Error><RequestId>`, as STS and IAM answer (some say `<Errors><Error>`). */
const ErrorAnswer = z.object({
  ErrorResponse: z.object({
    Error: z.optional(ErrorDetail),
    Errors: z.optional(z.object({ Error: ErrorDetail })),
    RequestId: z.optional(z.string()),
  }),
});
const ResponseMetadata = z.optional(z.object({ RequestId: z.optional(z.string()) }));

function parsedXml(text: string): unknown {
  try {
    return parseXML(text);
  } catch {
    return undefined;
  }
}

/** As the SDK's standard retry mode: throttling by status or code, 5xx, transient codes. */
function retryable(answer: AwsAnswer): boolean {
  if (answer.status >= 200 && answer.status <= 299) return false;
  const { code, message } = errorOf(answer);
  const error = { name: code, message, $metadata: { httpStatusCode: answer.status } };
  return answer.status >= 500 || isThrottlingError(error) || isTransientError(error);
}

/** The service's error; `afterUnknownOutcome` as the sender reports it (SentAnswer). */
function errorOf(answer: AwsAnswer, afterUnknownOutcome = false): AwsQueryError {
  const parsed = ErrorAnswer.safeParse(parsedXml(answer.text));
  const header = answer.headers.get('x-amzn-requestid') ?? undefined;
  const { status } = answer;
  if (!parsed.success) {
    return new AwsQueryError({
      code: `HTTP ${status}`,
      message: answer.text.slice(0, 200),
      status,
      requestId: header,
      afterUnknownOutcome,
    });
  }
  const { Error: detail, Errors, RequestId } = parsed.data.ErrorResponse;
  const error = detail ?? Errors?.Error;
  return new AwsQueryError({
    code: error?.Code ?? `HTTP ${status}`,
    message: error?.Message ?? '',
    status,
    requestId: RequestId ?? header,
    afterUnknownOutcome,
  });
}

function answerOf(action: string, answer: AwsAnswer): QueryAnswer {
  const response = z.record(z.string(), z.record(z.string(), z.unknown())).safeParse(parsedXml(answer.text));
  const body = response.success ? response.data[`${action}Response`] : undefined;
  if (body === undefined) {
    // Never the body in the message: an AssumeRole answer carries the session's secret.
    throw new CountersignError(`${action} answered ${answer.status} without an ${action}Response`);
  }
  const metadata = ResponseMetadata.safeParse(body.ResponseMetadata);
  return {
    result: body[`${action}Result`],
    requestId:
      (metadata.success ? metadata.data?.RequestId : undefined) ??
      answer.headers.get('x-amzn-requestid') ??
      undefined,
  };
}

export interface QueryClientOptions {
  readonly api: QueryApi;
  readonly endpoint: QueryEndpoint;
  /** @default the function's role credentials from the environment (fromEnv) */
  readonly credentials?: SigningCredentials;
  /** How long one call may take, retries included. */
  readonly timeoutMs: number;
}

export function queryClient(options: QueryClientOptions): QueryCall {
  const send = signedRequestSender({
    endpoint: new URL(options.endpoint.url),
    signingName: options.api.signingName,
    signingRegion: options.endpoint.signingRegion,
    credentials: options.credentials ?? fromEnv(),
  });
  return async (action, parameters) => {
    const body = new URLSearchParams({ Action: action, Version: options.api.version, ...parameters });
    const answer = await send(
      {
        path: '/',
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body: body.toString(),
      },
      { timeoutMs: options.timeoutMs, retryable },
    );
    if (answer.status < 200 || answer.status > 299) throw errorOf(answer, answer.afterUnknownOutcome);
    return answerOf(action, answer);
  };
}
