/**
 * AWS Signature Version 4 verification for the twin's AWS protocol front. The signature is
 * recomputed with the SDK's own signer (@smithy/signature-v4) over exactly the headers the client
 * signed, and compared in constant time; the credential scope and the request date are checked as
 * AWS checks them. Anything missing, malformed or not matching is refused before the request is
 * looked at.
 */
import { createHash, createHmac, type Hash, type Hmac, timingSafeEqual } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { AwsErrorType, AwsProtocolError } from './errors.ts';

const ALGORITHM = 'AWS4-HMAC-SHA256';
/** AWS refuses requests whose date is more than 15 minutes away from its clock. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

export interface SignedRequest {
  readonly method: string;
  /** The path as sent, without the query string. */
  readonly path: string;
  readonly query: Readonly<Record<string, string | string[]>>;
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Uint8Array;
}

export interface VerifiedSigner {
  readonly accessKeyId: string;
  readonly region: string;
  readonly service: string;
}

/** Returns the secret of a known access key, undefined for an unknown one. */
export type SecretLookup = (accessKeyId: string) => string | undefined;

interface ParsedAuthorization {
  readonly accessKeyId: string;
  readonly scopeDate: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

type SourceData = string | ArrayBuffer | ArrayBufferView;

function toBytes(data: SourceData): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** node:crypto as the signer's hash constructor: a plain hash, or an HMAC when given a secret. */
class NodeSha256 {
  readonly #hash: Hash | Hmac;

  constructor(secret?: SourceData) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret));
  }

  update(data: SourceData): void {
    this.#hash.update(toBytes(data));
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
}

function incomplete(message: string): AwsProtocolError {
  return new AwsProtocolError(AwsErrorType.incompleteSignature, message);
}

export function parseAuthorization(header: string): ParsedAuthorization {
  if (!header.startsWith(`${ALGORITHM} `)) {
    throw incomplete(`Authorization header requires the ${ALGORITHM} algorithm.`);
  }
  const fields = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length + 1).split(',')) {
    const separator = part.indexOf('=');
    if (separator > 0) fields.set(part.slice(0, separator).trim(), part.slice(separator + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (credential === undefined || signedHeaders === undefined || signature === undefined) {
    throw incomplete(
      "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.",
    );
  }
  const [accessKeyId, scopeDate, region, service, terminator, ...extra] = credential.split('/');
  if (
    accessKeyId === undefined ||
    scopeDate === undefined ||
    region === undefined ||
    service === undefined ||
    terminator !== 'aws4_request' ||
    extra.length > 0 ||
    !/^\d{8}$/.test(scopeDate)
  ) {
    throw incomplete(`Credential should be scoped to a valid region and service: ${credential}`);
  }
  if (!/^[0-9a-f]{64}$/.test(signature)) {
    throw incomplete('Signature should be 64 lower-case hexadecimal characters.');
  }
  return {
    accessKeyId,
    scopeDate,
    region,
    service,
    signedHeaders: signedHeaders.split(';').filter((name) => name.length > 0),
    signature,
  };
}

/** `20240102T030405Z` → Date, or undefined when malformed. */
function parseAmzDate(value: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (match === null) return undefined;
  const [, year, month, day, hour, minute, second] = match.map(Number) as number[];
  const date = new Date(Date.UTC(year!, month! - 1, day!, hour!, minute!, second!));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function checkClock(requestDate: Date, amzDate: string, now: Date): void {
  const skew = requestDate.getTime() - now.getTime();
  if (Math.abs(skew) <= MAX_CLOCK_SKEW_MS) return;
  const bound = new Date(now.getTime() + (skew > 0 ? MAX_CLOCK_SKEW_MS : -MAX_CLOCK_SKEW_MS));
  const format = (date: Date) =>
    date
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
  throw new AwsProtocolError(
    AwsErrorType.invalidSignature,
    skew > 0
      ? `Signature not yet current: ${amzDate} is still later than ${format(bound)} (${format(now)} + 15 min.)`
      : `Signature expired: ${amzDate} is now earlier than ${format(bound)} (${format(now)} - 15 min.)`,
  );
}

function constantTimeEqualHex(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Verifies the request's SigV4 signature for `expectedService`. Returns who signed it; throws an
 * AwsProtocolError with the type AWS uses for the same failure.
 */
export async function verifySigV4(
  request: SignedRequest,
  expectedService: string,
  lookupSecret: SecretLookup,
  now: Date = new Date(),
): Promise<VerifiedSigner> {
  const header = request.headers.authorization;
  if (header === undefined || header.length === 0) {
    throw new AwsProtocolError(AwsErrorType.missingAuthenticationToken, 'Missing Authentication Token', 403);
  }
  const auth = parseAuthorization(header);
  const amzDate = request.headers['x-amz-date'];
  const requestDate = amzDate === undefined ? undefined : parseAmzDate(amzDate);
  if (amzDate === undefined || requestDate === undefined) {
    throw incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  if (!auth.signedHeaders.includes('host')) {
    throw incomplete("'Host' must be a signed header.");
  }
  const secret = lookupSecret(auth.accessKeyId);
  if (secret === undefined) {
    throw new AwsProtocolError(
      AwsErrorType.unrecognizedClient,
      'The security token included in the request is invalid.',
    );
  }
  if (auth.scopeDate !== amzDate.slice(0, 8)) {
    throw new AwsProtocolError(
      AwsErrorType.invalidSignature,
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.scopeDate}' != '${amzDate.slice(0, 8)}'`,
    );
  }
  if (auth.service !== expectedService) {
    throw new AwsProtocolError(
      AwsErrorType.invalidSignature,
      `Credential should be scoped to correct service: '${expectedService}'.`,
    );
  }
  checkClock(requestDate, amzDate, now);

  const headers: Record<string, string> = {};
  for (const name of auth.signedHeaders) {
    const value = request.headers[name];
    if (value === undefined) throw incomplete(`Signed header '${name}' is missing from the request.`);
    headers[name] = value;
  }
  const signer = new SignatureV4({
    service: auth.service,
    region: auth.region,
    credentials: { accessKeyId: auth.accessKeyId, secretAccessKey: secret },
    sha256: NodeSha256,
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: headers.host ?? '',
      path: request.path,
      query: { ...request.query },
      headers,
      body: request.body,
    },
    { signingDate: requestDate },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization ?? ''))?.[1];
  if (expected === undefined || !constantTimeEqualHex(expected, auth.signature)) {
    throw new AwsProtocolError(
      AwsErrorType.invalidSignature,
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
  }
  return { accessKeyId: auth.accessKeyId, region: auth.region, service: auth.service };
}
