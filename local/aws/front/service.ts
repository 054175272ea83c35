/**
 * The contract between the twin's AWS front and the emulated services in `local/aws/<service>/`.
 * The front recognises the protocol of a request, verifies its SigV4 signature once, resolves the
 * caller, checks that the caller may call the operation, and only then hands the service an
 * AwsServiceRequest. A service answers with an AwsServiceResponse or throws an AwsProtocolError
 * (./errors.ts), which the front renders in the service's protocol. See docs/ARCHITECTURE.md.
 */
import type { Readable } from 'node:stream';

/**
 * `json`: `POST /` with `X-Amz-Target: <prefix>.<Operation>` and a JSON body (EventBridge, DynamoDB …);
 * `rest-xml`: REST with XML bodies, path-style `/<bucket>/<key>` (S3), the body streamed;
 * `rest-json`: REST with JSON bodies on fixed paths (Lambda's `POST /2015-03-31/functions/{name}/invocations`).
 */
export const AwsProtocol = {
  json: 'json',
  restXml: 'rest-xml',
  restJson: 'rest-json',
  query: 'query',
} as const;
export type AwsProtocol = (typeof AwsProtocol)[keyof typeof AwsProtocol];

/**
 * Who signed the request: the twin's operator key, one agent's key (countersign.local.json), or a
 * role session's temporary key (the twin's STS AssumeRole).
 */
export type AwsCaller =
  | { readonly kind: 'operator'; readonly accessKeyId: string; readonly principalArn: string }
  | {
      readonly kind: 'agent';
      readonly agentId: string;
      readonly accessKeyId: string;
      readonly principalArn: string;
    }
  | {
      readonly kind: 'session';
      readonly accessKeyId: string;
      /** `arn:aws:sts::<account>:assumed-role/<role name>/<session name>`. */
      readonly principalArn: string;
      readonly roleArn: string;
      readonly sessionName: string;
      /** When STS issued the session (CloudTrail's `sessionContext.attributes.creationDate`). */
      readonly issuedAt: Date;
      /** The session policy given with AssumeRole (JSON), which narrows the role's permissions. */
      readonly sessionPolicy?: string;
    };

/** The verified signature: who, where, when, and what a service needs to check chunk signatures. */
export interface AwsSignature {
  readonly accessKeyId: string;
  readonly region: string;
  /** The signing name of the credential scope (`s3`, `events` …). */
  readonly service: string;
  /** `x-amz-date`, e.g. `20240102T030405Z`: the timestamp of every chunk's string to sign. */
  readonly amzDate: string;
  /** The credential scope, `20240102/<region>/<service>/aws4_request`. */
  readonly scope: string;
  /** The request's own signature (hex): the previous signature of the first chunk. */
  readonly seedSignature: string;
  /** The derived signing key of this scope (never the secret itself); never log it. */
  readonly signingKey: Buffer;
  /**
   * The payload hash the signature covers: the body's SHA-256 in hex, or the signed
   * `x-amz-content-sha256` mode (`UNSIGNED-PAYLOAD`, `STREAMING-UNSIGNED-PAYLOAD-TRAILER`,
   * `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`). A streamed body is checked against it by the
   * service as it reads (a hex hash, or the chunk signatures); a buffered one the front has checked.
   */
  readonly payloadHash: string;
}

/** The parts of a request known before its body is read. */
export interface AwsRequestHead {
  readonly method: string;
  /** As sent: not decoded, without the query string. */
  readonly path: string;
  readonly rawQueryString: string;
  /** Lower-cased names; repeated headers joined with a comma. */
  readonly headers: Readonly<Record<string, string>>;
  readonly sourceIp: string;
}

/** A request body as a REST-XML service receives it: the raw bytes as they arrive, never buffered whole. */
export type StreamingBody = AsyncIterable<Buffer>;

/** What the front hands a service once SigV4 and the caller's permission have been checked. */
export interface AwsServiceRequest<Body extends Buffer | StreamingBody = Buffer> extends AwsRequestHead {
  /** The query string, decoded (repeated names kept): `query.get('versionId')`. */
  readonly query: URLSearchParams;
  /** JSON and REST-JSON: the whole body (at most 10 MB). REST-XML: the raw stream (aws-chunked as sent). */
  readonly body: Body;
  readonly caller: AwsCaller;
  readonly signature: AwsSignature;
  /** The id the front puts in `x-amzn-requestid` / `x-amz-request-id` and S3's `<RequestId>`. */
  readonly requestId: string;
}

export interface AwsServiceResponse {
  readonly statusCode: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** A stream is piped to the client as it is read (S3 GetObject of a large object). */
  readonly body?: string | Buffer | Readable;
}

interface AwsServiceBase {
  /** The SigV4 signing name in the credential scope, also the IAM service prefix (`s3`, `events`). */
  readonly signingName: string;
}

/** A JSON-protocol service: one `X-Amz-Target` prefix, e.g. `AWSEvents` or `TrentService`. */
export interface JsonAwsService extends AwsServiceBase {
  readonly protocol: typeof AwsProtocol.json;
  readonly targetPrefix: string;
  /** `application/x-amz-json-<version>`. */
  readonly jsonVersion: '1.0' | '1.1';
  /** `operation` is the target after the prefix (`PutEvents`). */
  handle(request: AwsServiceRequest<Buffer>, operation: string): Promise<AwsServiceResponse>;
}

/** A REST service: S3 (REST-XML, streamed bodies) or Lambda's Invoke (REST-JSON, buffered bodies). */
export interface RestAwsService<P extends 'rest-xml' | 'rest-json' = 'rest-xml' | 'rest-json'>
  extends AwsServiceBase {
  readonly protocol: P;
  /**
   * Path prefixes that are this service's even unsigned (so an unsigned call gets this service's
   * error, not a 404 from another route), e.g. `/2015-03-31/functions/`. Signed requests are routed
   * by the signing name of their credential scope. @default none
   */
  readonly pathPrefixes?: readonly string[];
  /** The IAM action name of a request (`PutObject`, `Invoke`), for the caller's permission check. */
  operationOf(head: AwsRequestHead): string;
  /**
   * The IAM permissions the request needs, with their resources (S3's CopyObject: GetObject on the
   * source, PutObject on the destination), for callers whose permissions are resource-scoped.
   * @default the operation's action on `*`
   */
  permissionsOf?(head: AwsRequestHead, operation: string): readonly AwsPermission[];
  handle(
    request: AwsServiceRequest<P extends 'rest-xml' ? StreamingBody : Buffer>,
  ): Promise<AwsServiceResponse>;
}

/**
 * A Query-protocol service (STS, IAM): `POST /` with a form body naming the `Action`, routed by the
 * signing name of its credential scope; XML answers in the service's namespace.
 */
export interface QueryAwsService extends AwsServiceBase {
  readonly protocol: typeof AwsProtocol.query;
  /** `https://sts.amazonaws.com/doc/2011-06-15/`: the xmlns of its responses and errors. */
  readonly xmlNamespace: string;
  /** `params` is the decoded form body; `operation` its `Action`. */
  handle(
    request: AwsServiceRequest<Buffer> & { readonly params: URLSearchParams },
    operation: string,
  ): Promise<AwsServiceResponse>;
}

export type AwsService = JsonAwsService | RestAwsService | QueryAwsService;

/** One IAM permission a call needs: the action on the resource (`*` when the service names none). */
export interface AwsPermission {
  readonly action: string;
  readonly resource: string;
}

/**
 * May this caller call this action (`events:PutEvents`, `s3:GetObject`), which needs `permissions`?
 * The composition decides (the operator may do anything; what an agent may do is Countersign's
 * rule, local/product; a role session what its session policy allows).
 */
export type AwsAuthorizer = (
  caller: AwsCaller,
  action: string,
  permissions: readonly AwsPermission[],
) => boolean;
