/**
 * Errors of the AWS JSON protocols, as the services return them: HTTP status, `x-amzn-ErrorType`
 * and a `{"__type", "message"}` body. The SDK clients turn these into their named exceptions, so
 * code under test sees exactly the error classes it would see against AWS.
 */
import { CountersignError } from '../../../lambdas/domain/errors.ts';

export class AwsProtocolError extends CountersignError {
  readonly type: string;
  readonly statusCode: number;

  constructor(type: string, message: string, statusCode = 400, options?: { cause?: unknown }) {
    super(message, options);
    this.type = type;
    this.statusCode = statusCode;
  }
}

/** The error types this twin raises; each is a name the real service uses for the same case. */
export const AwsErrorType = {
  missingAuthenticationToken: 'MissingAuthenticationTokenException',
  incompleteSignature: 'IncompleteSignatureException',
  unrecognizedClient: 'UnrecognizedClientException',
  invalidSignature: 'InvalidSignatureException',
  accessDenied: 'AccessDeniedException',
  unknownOperation: 'UnknownOperationException',
  serialization: 'SerializationException',
  validation: 'ValidationException',
  internalFailure: 'InternalFailure',
} as const;
