/**
 * The one error a twin AWS service throws to answer a request with an AWS error: the code the real
 * service uses (`ResourceNotFoundException`, S3's `NoSuchKey` …), a message, the HTTP status and,
 * for REST-XML, the extra `<Error>` elements and headers. The front renders it in the shape of the
 * service's protocol (JSON `__type`, S3's `<Error>` document, REST-JSON's `x-amzn-errortype`), so
 * the SDK clients raise the exception classes they raise against AWS.
 */
import { CountersignError } from '../../../lambdas/domain/errors.ts';

export interface AwsProtocolErrorOptions {
  readonly cause?: unknown;
  /** REST-XML only: elements after `<Message>` in the `<Error>` document (`BucketName`, `Key` …). */
  readonly details?: Readonly<Record<string, string>>;
  /** Response headers the service sends with this error (e.g. `x-amz-delete-marker`). */
  readonly headers?: Readonly<Record<string, string>>;
}

export class AwsProtocolError extends CountersignError {
  readonly code: string;
  readonly statusCode: number;
  readonly details: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: string, message: string, statusCode = 400, options: AwsProtocolErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.statusCode = statusCode;
    this.details = options.details ?? {};
    this.headers = options.headers ?? {};
  }
}

/** Codes of the JSON-protocol services that the front and several services raise. */
export const AwsErrorCode = {
  accessDenied: 'AccessDeniedException',
  unknownOperation: 'UnknownOperationException',
  serialization: 'SerializationException',
  validation: 'ValidationException',
  resourceNotFound: 'ResourceNotFoundException',
  internalFailure: 'InternalFailure',
} as const;
