/**
 * S3's errors as S3 returns them: an HTTP status and an `<Error>` document with S3's code, a
 * message and the fields S3 adds for that code (BucketName, Key, VersionId, Condition …). The
 * codes, statuses and messages are the ones in the S3 API reference ("Error responses"), so the
 * SDK and the CLI raise the exception classes they raise against AWS.
 */
import { CountersignError } from '../../../lambdas/domain/errors.ts';

/** Code → HTTP status, as listed in the S3 API reference. */
export const S3ErrorStatus = {
  AccessControlListNotSupported: 400,
  AccessDenied: 403,
  BadDigest: 400,
  BucketAlreadyOwnedByYou: 409,
  BucketNotEmpty: 409,
  EntityTooLarge: 400,
  IllegalLocationConstraintException: 400,
  IncompleteBody: 400,
  InternalError: 500,
  InvalidArgument: 400,
  InvalidBucketName: 400,
  InvalidBucketAclWithObjectOwnership: 400,
  InvalidBucketState: 409,
  InvalidDigest: 400,
  InvalidRange: 416,
  InvalidRequest: 400,
  InvalidStorageClass: 400,
  InvalidURI: 400,
  MalformedPolicy: 400,
  MalformedXML: 400,
  MethodNotAllowed: 405,
  MissingContentLength: 411,
  MissingSecurityHeader: 400,
  NoSuchBucket: 404,
  NoSuchBucketPolicy: 404,
  NoSuchKey: 404,
  NoSuchObjectLockConfiguration: 404,
  NoSuchPublicAccessBlockConfiguration: 404,
  NoSuchVersion: 404,
  NotImplemented: 501,
  NotModified: 304,
  ObjectLockConfigurationNotFoundError: 404,
  PreconditionFailed: 412,
  SignatureDoesNotMatch: 403,
  XAmzContentSHA256Mismatch: 400,
} as const;
export type S3ErrorCode = keyof typeof S3ErrorStatus;

export class S3Error extends CountersignError {
  readonly code: S3ErrorCode;
  readonly statusCode: number;
  /** Extra elements of the `<Error>` document (`BucketName`, `Key`, `Condition` …), in order. */
  readonly details: Readonly<Record<string, string>>;
  /** Response headers S3 sends with this error (`x-amz-delete-marker` on a delete marker). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: S3ErrorCode,
    message: string,
    options: {
      details?: Record<string, string>;
      headers?: Record<string, string>;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.code = code;
    this.statusCode = S3ErrorStatus[code];
    this.details = options.details ?? {};
    this.headers = options.headers ?? {};
  }
}

export const noSuchBucket = (bucket: string): S3Error =>
  new S3Error('NoSuchBucket', 'The specified bucket does not exist', { details: { BucketName: bucket } });

export const noSuchKey = (key: string, headers?: Record<string, string>): S3Error =>
  new S3Error('NoSuchKey', 'The specified key does not exist.', { details: { Key: key }, headers });

export const noSuchVersion = (key: string, versionId: string): S3Error =>
  new S3Error('NoSuchVersion', 'The specified version does not exist.', {
    details: { Key: key, VersionId: versionId },
  });

export const malformedXml = (cause?: unknown): S3Error =>
  new S3Error(
    'MalformedXML',
    'The XML you provided was not well-formed or did not validate against our published schema',
    { cause },
  );

export const objectLockProtected = (): S3Error =>
  new S3Error('AccessDenied', 'Access Denied because object protected by object lock.');

export const missingObjectLockConfiguration = (): S3Error =>
  new S3Error('InvalidRequest', 'Bucket is missing Object Lock Configuration');

export const preconditionFailed = (condition: string): S3Error =>
  new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
    details: { Condition: condition },
  });
