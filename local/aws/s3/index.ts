/**
 * The twin's S3: a self-contained engine a front hands verified, path-style requests to
 * (`handle`), persisting under its own directory, plus a read-only in-process view (`reader`) for
 * other twin code. Privileged calls (bucket policy, ACLs, Block Public Access) are reported to
 * `onPrivilegedCall` once they are answered, failed ones with their error code, so a CloudTrail
 * emitter can be attached without the engine knowing CloudTrail.
 */
import { createHash } from 'node:crypto';
import { actionsOf, refuseIfDenied } from './bucket-policy.ts';
import type { EngineSettings, OperationInput } from './context.ts';
import { S3Error } from './errors.ts';
import {
  errorResponse,
  newRequestId,
  parseQuery,
  parseTarget,
  type S3Request,
  type S3Response,
} from './protocol.ts';
import { createReader, type S3Reader } from './reader.ts';
import { PRIVILEGED_OPERATIONS, resolveRoute } from './router.ts';
import { S3Store } from './store.ts';
import { provisionBucket, type TemplateBucket } from './template-buckets.ts';

export interface PrivilegedCall<Caller> {
  /** The S3 API operation name (`PutBucketPolicy`, `DeletePublicAccessBlock` …). */
  readonly operation: string;
  readonly caller: Caller;
  readonly bucket: string;
  /** CloudTrail-style: `bucketName`, `Host`, the subresource (`policy: ''`), the policy document … */
  readonly requestParameters: Readonly<Record<string, unknown>>;
  /** The S3 error code when the call failed; undefined when it succeeded. */
  readonly errorCode?: string;
  readonly errorMessage?: string;
  readonly requestId: string;
  readonly eventTime: Date;
  /** The client's address and `User-Agent`, when known. */
  readonly sourceIp?: string;
  readonly userAgent?: string;
}

export interface LocalS3Options<Caller> {
  /** Where buckets and objects live (the twin uses `<dataDir>/s3`). */
  readonly directory: string;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** @default '000000000000' */
  readonly accountId?: string;
  /** Called after every privileged call, successful or not; an exception it throws is logged, never answered. */
  readonly onPrivilegedCall?: (call: PrivilegedCall<Caller>) => void;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** @default () => undefined */
  readonly log?: (line: string) => void;
  /** The caller's principal ARN (`aws:PrincipalArn`), which bucket policies name. @default unknown */
  readonly principalOf?: (caller: Caller) => string | undefined;
}

export interface LocalS3<Caller> {
  handle(request: S3Request<Caller>): Promise<S3Response>;
  readonly reader: S3Reader;
  /** Creates a template's bucket, or gives an existing one the template's configuration. */
  provision(bucket: TemplateBucket): Promise<void>;
}

/** S3 canonical user ids are 64 hex characters; the twin derives one per account. */
function canonicalUserId(accountId: string): string {
  return createHash('sha256').update(`countersign-twin:${accountId}`).digest('hex');
}

export async function createLocalS3<Caller>(options: LocalS3Options<Caller>): Promise<LocalS3<Caller>> {
  const store = await S3Store.open(options.directory);
  const log = options.log ?? (() => undefined);
  const settings: EngineSettings = {
    store,
    region: options.region ?? 'us-east-1',
    ownerId: canonicalUserId(options.accountId ?? '000000000000'),
    now: options.now ?? (() => new Date()),
  };

  function report(
    operation: string,
    request: S3Request<Caller>,
    input: OperationInput,
    error?: S3Error,
  ): void {
    if (!PRIVILEGED_OPERATIONS.has(operation) || options.onPrivilegedCall === undefined) return;
    try {
      options.onPrivilegedCall({
        operation,
        caller: request.caller,
        bucket: input.bucket,
        requestParameters: { ...input.audit },
        ...(error === undefined ? {} : { errorCode: error.code, errorMessage: error.message }),
        requestId: input.requestId,
        eventTime: settings.now(),
        ...(request.sourceIp === undefined ? {} : { sourceIp: request.sourceIp }),
        ...(request.headers['user-agent'] === undefined ? {} : { userAgent: request.headers['user-agent'] }),
      });
    } catch (hookError) {
      log(
        `the privileged-call hook failed for ${operation}: ${(hookError as Error).stack ?? String(hookError)}`,
      );
    }
  }

  async function handle(request: S3Request<Caller>): Promise<S3Response> {
    const requestId = request.requestId ?? newRequestId();
    let operation = 'Unknown';
    let input: OperationInput | undefined;
    try {
      const target = parseTarget(request.path);
      const query = parseQuery(request.rawQueryString);
      const principalArn = options.principalOf?.(request.caller);
      const context: Record<string, string[]> = {
        'aws:SecureTransport': [String(request.secureTransport ?? true)],
        ...(principalArn === undefined ? {} : { 'aws:PrincipalArn': [principalArn] }),
        ...(query.has('prefix') ? { 's3:prefix': [query.get('prefix')!] } : {}),
      };
      const authorize = (action: string, key?: string) => {
        const bucket = target.bucket === undefined ? undefined : store.bucket(target.bucket);
        if (bucket === undefined) return;
        const resource = `arn:aws:s3:::${bucket.record.name}${key === undefined ? '' : `/${key}`}`;
        refuseIfDenied(bucket.record.policy, { principalArn, action, resource, context });
      };
      input = {
        request,
        query,
        bucket: target.bucket ?? '',
        key: target.key ?? '',
        requestId,
        audit: {
          bucketName: target.bucket ?? '',
          Host: request.headers.host ?? '',
          ...Object.fromEntries(
            [...query.keys()].filter((name) => name !== 'x-id').map((name) => [name, '']),
          ),
        },
        authorize,
      };
      const route = resolveRoute(request.method, target, query, request.headers);
      operation = route.operation;
      // The bucket policy's explicit denies, before anything is read or written (DeleteObjects: per object).
      if (operation !== 'DeleteObjects') {
        for (const action of actionsOf(operation, query, request.headers)) authorize(action, target.key);
      }
      const response = await route.run(settings, input);
      report(operation, request, input);
      return response;
    } catch (error) {
      const s3Error =
        error instanceof S3Error
          ? error
          : new S3Error('InternalError', 'We encountered an internal error. Please try again.', {
              cause: error,
            });
      if (s3Error.code === 'InternalError')
        log(`S3 ${operation} failed: ${(error as Error).stack ?? String(error)}`);
      if (input !== undefined) report(operation, request, input, s3Error);
      return errorResponse(s3Error, request.method, requestId, request.path);
    }
  }

  return {
    handle,
    reader: createReader(store),
    provision: (bucket) => provisionBucket(settings, bucket),
  };
}

export { S3Error } from './errors.ts';
export type { ChunkSigningMaterial } from './payload.ts';
export type { S3Request, S3Response } from './protocol.ts';
export type { S3BucketInfo, S3DeleteMarkerInfo, S3ObjectInfo, S3Reader, S3VersionInfo } from './reader.ts';
export { S3StoreCorruptError } from './store.ts';
export { type TemplateBucket, templateBuckets } from './template-buckets.ts';
