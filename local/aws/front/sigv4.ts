/**
 * AWS Signature Version 4 verification for the twin's AWS front. The signature is recomputed with
 * the SDK's own signer (@smithy/signature-v4) over exactly the headers the client signed, with the
 * payload hash the client signed (`x-amz-content-sha256` when it signs one, else the SHA-256 of
 * the body), and compared in constant time; the credential scope and the request date are checked
 * as AWS checks them. Anything missing, malformed or not matching is refused before the request is
 * looked at. What a service needs to verify the rest of a streamed body (the derived signing key,
 * the seed signature, the scope and the date) comes back with the signer's identity.
 */
import { createHash, createHmac, type Hash, type Hmac, timingSafeEqual } from 'node:crypto';
import { getCanonicalHeaders, getSigningKey, SignatureV4Base } from '@smithy/signature-v4';
import { CountersignError } from '../../../lambdas/domain/errors.ts';
import type { AwsSignature } from './service.ts';

const ALGORITHM = 'AWS4-HMAC-SHA256';
/** AWS refuses requests whose date is more than 15 minutes away from its clock. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
export const CONTENT_SHA256_HEADER = 'x-amz-content-sha256';

/** The `x-amz-content-sha256` values that are not a hex digest of the body (S3's payload modes). */
export const PayloadMode = {
  unsigned: 'UNSIGNED-PAYLOAD',
  streamingUnsignedTrailer: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
  streamingSigned: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
  streamingSignedTrailer: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
} as const;
const PAYLOAD_MODES: ReadonlySet<string> = new Set(Object.values(PayloadMode));
const HEX_SHA256 = /^[0-9a-f]{64}$/;

/** Why a signature was refused; each protocol names these failures its own way. */
export const SigV4Failure = {
  missing: 'missing',
  incomplete: 'incomplete',
  unknownKey: 'unknownKey',
  mismatch: 'mismatch',
  expired: 'expired',
  payloadMismatch: 'payloadMismatch',
} as const;
export type SigV4Failure = (typeof SigV4Failure)[keyof typeof SigV4Failure];

export class SigV4Error extends CountersignError {
  readonly failure: SigV4Failure;
  constructor(failure: SigV4Failure, message: string) {
    super(message);
    this.failure = failure;
  }
}

export interface SignedRequestHead {
  readonly method: string;
  /** The path as sent (not decoded), without the query string. */
  readonly path: string;
  readonly rawQueryString: string;
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string | undefined>>;
}

export interface VerifySigV4Options {
  /** The signing name the credential scope must name (`events`, `s3` …). */
  readonly service: string;
  /** S3 signs the path as sent; every other service signs it URI-encoded once more. */
  readonly uriEscapePath: boolean;
  /**
   * The whole body when the protocol reads it before verifying (JSON, REST-JSON); undefined when it
   * streams (S3), in which case the client must sign `x-amz-content-sha256` and the service checks
   * the body against it as it reads.
   */
  readonly body: Buffer | undefined;
  /** Returns the secret of a known access key, undefined for an unknown one. */
  readonly lookupSecret: (accessKeyId: string) => string | undefined;
  /** @default new Date() */
  readonly now?: Date;
}

export interface ParsedAuthorization {
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
export class NodeSha256 {
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

/** Derived signing keys kept (a few access keys × regions × services × the current day or two). */
const SIGNING_KEYS_KEPT = 256;
const signingKeys = new Map<string, Promise<Uint8Array>>();

/**
 * The signing key of (secret, day, region, service), derived once and kept, as the AWS SDKs keep
 * theirs: deriving it is four HMACs, and the signer's own cache still spends an HMAC of the
 * credentials to look one up. Keyed by the secret itself, so a rotated secret gets a new key; the
 * oldest key goes first once SIGNING_KEYS_KEPT are kept.
 */
function cachedSigningKey(
  credentials: { readonly accessKeyId: string; readonly secretAccessKey: string },
  shortDate: string,
  region: string,
  service: string,
): Promise<Uint8Array> {
  const cacheKey = [credentials.secretAccessKey, shortDate, region, service].join('\u0000');
  let key = signingKeys.get(cacheKey);
  if (key === undefined) {
    key = getSigningKey(NodeSha256, credentials, shortDate, region, service);
    // A derivation that failed is not kept: the next request derives it again.
    key.catch(() => signingKeys.delete(cacheKey));
    if (signingKeys.size >= SIGNING_KEYS_KEPT) signingKeys.delete(signingKeys.keys().next().value!);
    signingKeys.set(cacheKey, key);
  }
  return key;
}

/** A request as the signer reads it (`@smithy/types`' HttpRequest, not a dependency of its own here). */
type HttpRequest = Parameters<typeof getCanonicalHeaders>[0];

/**
 * The SDK's signer's canonical request and string to sign (its canonical path, query and headers,
 * exactly as it signs a request), signed with a signing key from the cache above. A request is
 * verified without the signer's `sign()`, which clones the request and looks its key up again.
 */
class SignatureCalculator extends SignatureV4Base {
  constructor(service: string, region: string, uriEscapePath: boolean) {
    // Credentials are not read: the signing key is handed in.
    const credentials = { accessKeyId: '', secretAccessKey: '' };
    super({ service, region, credentials, sha256: NodeSha256, applyChecksum: false, uriEscapePath });
  }

  async signature(
    request: HttpRequest,
    options: {
      readonly longDate: string;
      readonly scope: string;
      readonly payloadHash: string;
      readonly unsignableHeaders: Set<string> | undefined;
      readonly signingKey: Uint8Array;
    },
  ): Promise<string> {
    const canonicalHeaders = getCanonicalHeaders(request, options.unsignableHeaders);
    const stringToSign = await this.createStringToSign(
      options.longDate,
      options.scope,
      this.createCanonicalRequest(request, canonicalHeaders, options.payloadHash),
      ALGORITHM,
    );
    const hmac = createHmac('sha256', options.signingKey);
    return hmac.update(stringToSign).digest('hex');
  }
}

function incomplete(message: string): SigV4Error {
  return new SigV4Error(SigV4Failure.incomplete, message);
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

/** The signing name of a request's credential scope, or undefined when it carries no SigV4 header. */
export function credentialScopeService(headers: Readonly<Record<string, string | undefined>>) {
  const header = headers.authorization;
  if (header === undefined || !header.startsWith(`${ALGORITHM} `)) return undefined;
  return /Credential=[^/,\s]*\/\d{8}\/[^/,\s]*\/([^/,\s]+)\//.exec(header)?.[1];
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
  throw new SigV4Error(
    SigV4Failure.expired,
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

/** `name=value&…` → the signer's query map; names and values decoded once (`+` is not a space). */
function parseQuery(rawQueryString: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const part of rawQueryString.split('&')) {
    if (part === '') continue;
    const separator = part.indexOf('=');
    const [name, value] = (
      separator < 0 ? [part, ''] : [part.slice(0, separator), part.slice(separator + 1)]
    ).map((text) => {
      try {
        return decodeURIComponent(text);
      } catch {
        throw incomplete(`The query string is not URI-encoded: ${part}`);
      }
    }) as [string, string];
    const existing = query[name];
    query[name] =
      existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return query;
}

/**
 * The payload hash the client signed: its signed `x-amz-content-sha256` (a hex digest, which must
 * match a buffered body, or one of S3's payload modes for a streamed one), else the body's digest.
 */
function signedPayloadHash(head: SignedRequestHead, signed: readonly string[], body: Buffer | undefined) {
  const declared = signed.includes(CONTENT_SHA256_HEADER) ? head.headers[CONTENT_SHA256_HEADER] : undefined;
  if (body === undefined) {
    if (declared === undefined) {
      throw incomplete(`Missing required header for this request: ${CONTENT_SHA256_HEADER} (signed)`);
    }
    if (!HEX_SHA256.test(declared) && !PAYLOAD_MODES.has(declared)) {
      throw incomplete(
        `x-amz-content-sha256 must be a hex SHA-256 or one of ${[...PAYLOAD_MODES].join(', ')}`,
      );
    }
    return declared;
  }
  const actual = createHash('sha256').update(body).digest('hex');
  if (declared !== undefined && !(HEX_SHA256.test(declared) && constantTimeEqualHex(declared, actual))) {
    throw new SigV4Error(
      SigV4Failure.payloadMismatch,
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
    );
  }
  return actual;
}

/**
 * Verifies the request's SigV4 signature for `options.service`. Returns who signed it and the
 * material for chunk signatures; throws a SigV4Error saying which check failed.
 */
export async function verifySigV4(
  head: SignedRequestHead,
  options: VerifySigV4Options,
): Promise<AwsSignature> {
  const header = head.headers.authorization;
  if (header === undefined || header.length === 0) {
    throw new SigV4Error(SigV4Failure.missing, 'Missing Authentication Token');
  }
  const auth = parseAuthorization(header);
  const amzDate = head.headers['x-amz-date'];
  const requestDate = amzDate === undefined ? undefined : parseAmzDate(amzDate);
  if (amzDate === undefined || requestDate === undefined) {
    throw incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  if (!auth.signedHeaders.includes('host')) {
    throw incomplete("'Host' must be a signed header.");
  }
  const secret = options.lookupSecret(auth.accessKeyId);
  if (secret === undefined) {
    throw new SigV4Error(SigV4Failure.unknownKey, 'The security token included in the request is invalid.');
  }
  if (auth.scopeDate !== amzDate.slice(0, 8)) {
    throw new SigV4Error(
      SigV4Failure.mismatch,
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.scopeDate}' != '${amzDate.slice(0, 8)}'`,
    );
  }
  if (auth.service !== options.service) {
    throw new SigV4Error(
      SigV4Failure.mismatch,
      `Credential should be scoped to correct service: '${options.service}'.`,
    );
  }
  checkClock(requestDate, amzDate, options.now ?? new Date());

  const headers: Record<string, string> = {};
  for (const name of auth.signedHeaders) {
    const value = head.headers[name];
    if (value === undefined) throw incomplete(`Signed header '${name}' is missing from the request.`);
    headers[name] = value;
  }
  const payloadHash = signedPayloadHash(head, auth.signedHeaders, options.body);
  const credentials = { accessKeyId: auth.accessKeyId, secretAccessKey: secret };
  const signingKey = await cachedSigningKey(credentials, auth.scopeDate, auth.region, auth.service);
  const scope = `${auth.scopeDate}/${auth.region}/${auth.service}/aws4_request`;
  // As the signer prepares a request: the headers it generates itself (authorization, date) are
  // dropped and x-amz-date is the signing date's; the payload hash is the one the client signed.
  delete headers.authorization;
  delete headers.date;
  const expected = await new SignatureCalculator(auth.service, auth.region, options.uriEscapePath).signature(
    {
      method: head.method,
      protocol: 'http:',
      hostname: headers.host ?? '',
      path: head.path,
      query: parseQuery(head.rawQueryString),
      headers: { ...headers, 'x-amz-date': amzDate, [CONTENT_SHA256_HEADER]: payloadHash },
      body: undefined,
    },
    {
      longDate: amzDate,
      scope,
      payloadHash,
      signingKey,
      unsignableHeaders: auth.signedHeaders.includes(CONTENT_SHA256_HEADER)
        ? undefined
        : new Set([CONTENT_SHA256_HEADER]),
    },
  );
  if (!constantTimeEqualHex(expected, auth.signature)) {
    throw new SigV4Error(
      SigV4Failure.mismatch,
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
  }
  return {
    accessKeyId: auth.accessKeyId,
    region: auth.region,
    service: auth.service,
    amzDate,
    scope,
    seedSignature: auth.signature,
    signingKey: Buffer.from(signingKey),
    payloadHash,
  };
}
