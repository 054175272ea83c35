/**
 * How each AWS protocol says what went wrong. One AwsProtocolError becomes a JSON-protocol error
 * (`x-amzn-errortype` + `{"__type","message"}`), a REST-JSON error (`x-amzn-errortype` +
 * `{"Type","message"}`) or S3's XML `<Error>` document; and each SigV4 failure gets the code and
 * status that protocol's services use for it, so an SDK client raises the class it raises against AWS.
 */
import { AwsErrorCode, AwsProtocolError } from './errors.ts';
import { AwsProtocol, type AwsProtocol as Protocol } from './service.ts';
import { type SigV4Error, SigV4Failure } from './sigv4.ts';

/** A response in the twin's own shape (see local/aws/http.ts), which AwsServiceResponse matches. */
interface ErrorResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** [code, status] per SigV4 failure for the JSON-family services (JSON and REST-JSON). */
const JSON_SIGNATURE_FAILURES: Record<SigV4Failure, readonly [string, number]> = {
  missing: ['MissingAuthenticationTokenException', 403],
  incomplete: ['IncompleteSignatureException', 400],
  unknownKey: ['UnrecognizedClientException', 400],
  mismatch: ['InvalidSignatureException', 400],
  expired: ['InvalidSignatureException', 400],
  payloadMismatch: ['InvalidSignatureException', 400],
};

/** S3's codes for the same failures (S3 API reference, "Error responses"). */
const S3_SIGNATURE_FAILURES: Record<SigV4Failure, readonly [string, number, string?]> = {
  missing: ['AccessDenied', 403, 'Access Denied'],
  incomplete: ['AuthorizationHeaderMalformed', 400],
  unknownKey: [
    'InvalidAccessKeyId',
    403,
    'The AWS Access Key Id you provided does not exist in our records.',
  ],
  mismatch: ['SignatureDoesNotMatch', 403],
  expired: [
    'RequestTimeTooSkewed',
    403,
    'The difference between the request time and the current time is too large.',
  ],
  payloadMismatch: ['XAmzContentSHA256Mismatch', 400],
};

/** The Query services' (STS, IAM) codes for the same failures; all 403 but a malformed header. */
const QUERY_SIGNATURE_FAILURES: Record<SigV4Failure, readonly [string, number]> = {
  missing: ['MissingAuthenticationToken', 403],
  incomplete: ['IncompleteSignature', 400],
  unknownKey: ['InvalidClientTokenId', 403],
  mismatch: ['SignatureDoesNotMatch', 403],
  expired: ['SignatureDoesNotMatch', 403],
  payloadMismatch: ['SignatureDoesNotMatch', 403],
};

export function signatureError(protocol: Protocol, error: SigV4Error): AwsProtocolError {
  if (protocol === AwsProtocol.query) {
    const [code, status] = QUERY_SIGNATURE_FAILURES[error.failure];
    return new AwsProtocolError(code, error.message, status, { cause: error });
  }
  if (protocol === AwsProtocol.restXml) {
    const [code, status, message] = S3_SIGNATURE_FAILURES[error.failure];
    return new AwsProtocolError(code, message ?? error.message, status, { cause: error });
  }
  const [code, status] = JSON_SIGNATURE_FAILURES[error.failure];
  // Lambda (REST-JSON) answers every authentication failure with 403.
  const restStatus = error.failure === SigV4Failure.incomplete ? 400 : 403;
  return new AwsProtocolError(code, error.message, protocol === AwsProtocol.json ? status : restStatus, {
    cause: error,
  });
}

export function accessDenied(protocol: Protocol, principalArn: string, action: string): AwsProtocolError {
  if (protocol === AwsProtocol.restXml) return new AwsProtocolError('AccessDenied', 'Access Denied', 403);
  return new AwsProtocolError(
    protocol === AwsProtocol.query ? 'AccessDenied' : AwsErrorCode.accessDenied,
    `User: ${principalArn} is not authorized to perform: ${action} because no identity-based policy allows the ${action} action`,
    protocol === AwsProtocol.json ? 400 : 403,
  );
}

export function internalError(protocol: Protocol, cause: unknown): AwsProtocolError {
  if (protocol === AwsProtocol.restXml) {
    return new AwsProtocolError('InternalError', 'We encountered an internal error. Please try again.', 500, {
      cause,
    });
  }
  const code =
    protocol === AwsProtocol.json || protocol === AwsProtocol.query
      ? AwsErrorCode.internalFailure
      : 'ServiceException';
  return new AwsProtocolError(code, 'Internal failure', 500, { cause });
}

export function tooLarge(protocol: Protocol): AwsProtocolError {
  return protocol === AwsProtocol.restXml
    ? new AwsProtocolError('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', 400)
    : new AwsProtocolError('RequestEntityTooLargeException', 'Request Too Large', 413);
}

function escapeXml(text: string): string {
  return text.replace(
    /[<>&'"]/g,
    (character) =>
      ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[character] ?? character,
  );
}

export function jsonContentType(version: '1.0' | '1.1'): string {
  return `application/x-amz-json-${version}`;
}

/** The error as the protocol's services send it. A HEAD request's error has no body, as in S3. */
export function renderError(
  protocol: Protocol,
  error: AwsProtocolError,
  context: {
    readonly requestId: string;
    readonly method: string;
    readonly jsonVersion?: '1.0' | '1.1';
    /** Query services: the namespace of their `<ErrorResponse>`. */
    readonly xmlNamespace?: string;
  },
): ErrorResponse {
  if (protocol === AwsProtocol.query) {
    const type = error.statusCode >= 500 ? 'Receiver' : 'Sender';
    const xmlns = context.xmlNamespace === undefined ? '' : ` xmlns="${escapeXml(context.xmlNamespace)}"`;
    return {
      statusCode: error.statusCode,
      headers: { 'content-type': 'text/xml', 'x-amzn-requestid': context.requestId, ...error.headers },
      body:
        `<ErrorResponse${xmlns}><Error><Type>${type}</Type><Code>${escapeXml(error.code)}</Code>` +
        `<Message>${escapeXml(error.message)}</Message></Error><RequestId>${context.requestId}</RequestId></ErrorResponse>`,
    };
  }
  if (protocol === AwsProtocol.restXml) {
    const elements = [
      ['Code', error.code],
      ['Message', error.message],
      ...Object.entries(error.details),
      ['RequestId', context.requestId],
    ]
      .map(([name, value]) => `<${name}>${escapeXml(String(value))}</${name}>`)
      .join('');
    return {
      statusCode: error.statusCode,
      headers: { 'content-type': 'application/xml', 'x-amz-request-id': context.requestId, ...error.headers },
      body:
        context.method === 'HEAD' ? '' : `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${elements}</Error>`,
    };
  }
  const common = { 'x-amzn-errortype': error.code, 'x-amzn-requestid': context.requestId, ...error.headers };
  if (protocol === AwsProtocol.json) {
    return {
      statusCode: error.statusCode,
      headers: { 'content-type': jsonContentType(context.jsonVersion ?? '1.1'), ...common },
      body: JSON.stringify({ __type: error.code, message: error.message }),
    };
  }
  return {
    statusCode: error.statusCode,
    headers: { 'content-type': 'application/json', ...common },
    body: JSON.stringify({ Type: error.statusCode >= 500 ? 'Service' : 'User', message: error.message }),
  };
}
