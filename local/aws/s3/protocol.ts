/**
 * The S3 engine's side of the wire: the request a front hands it once SigV4 is verified, the
 * response it hands back (a body may be a stream from disk), path-style addressing, and S3's
 * error document. HEAD responses never carry a body, errors included.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { S3Error } from './errors.ts';
import type { ChunkSigningMaterial } from './payload.ts';
import { renderXml, type XmlObject } from './xml.ts';

export interface S3Request<Caller> {
  readonly method: string;
  /** The path as sent, percent-encoded, without the query string. */
  readonly path: string;
  readonly rawQueryString: string;
  /** Lower-cased names. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body as it arrives (never read whole into memory by the engine for objects). */
  readonly body: AsyncIterable<Uint8Array>;
  /** Who signed the request, as the front knows them; passed through to the privileged-call hook. */
  readonly caller: Caller;
  /** For `STREAMING-AWS4-HMAC-SHA256-*` bodies: what verifying the chunk signatures needs. */
  readonly signing?: ChunkSigningMaterial;
  /** The front's request id (`x-amz-request-id`); the engine makes one when there is none. */
  readonly requestId?: string;
  /** The client's address, as the front saw it; passed through to the privileged-call hook. */
  readonly sourceIp?: string;
  /**
   * `aws:SecureTransport` for bucket policies. The twin has no TLS: it serves loopback, and counts a
   * loopback connection as secure (it never leaves the machine). @default true
   */
  readonly secureTransport?: boolean;
}

export interface S3Response {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Buffer | Readable;
}

export interface Target {
  /** Undefined for the service (`GET /`). */
  readonly bucket: string | undefined;
  /** Undefined for the bucket itself. */
  readonly key: string | undefined;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch (error) {
    throw new S3Error('InvalidURI', "Couldn't parse the specified URI.", { cause: error });
  }
}

/** Path-style: `/bucket/key/with/slashes`; `/bucket` and `/bucket/` both name the bucket. */
export function parseTarget(path: string): Target {
  const trimmed = path.startsWith('/') ? path.slice(1) : path;
  if (trimmed.length === 0) return { bucket: undefined, key: undefined };
  const slash = trimmed.indexOf('/');
  if (slash < 0) return { bucket: decode(trimmed), key: undefined };
  const key = trimmed.slice(slash + 1);
  return { bucket: decode(trimmed.slice(0, slash)), key: key.length === 0 ? undefined : decode(key) };
}

/** Query parameters, decoded; `?versioning` has the value ''. */
export function parseQuery(rawQueryString: string): ReadonlyMap<string, string> {
  const query = new Map<string, string>();
  for (const part of rawQueryString.split('&')) {
    if (part.length === 0) continue;
    const separator = part.indexOf('=');
    const name = decode(separator < 0 ? part : part.slice(0, separator));
    if (!query.has(name)) query.set(name, separator < 0 ? '' : decode(part.slice(separator + 1)));
  }
  return query;
}

export function newRequestId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}

function baseHeaders(requestId: string): Record<string, string> {
  return {
    'x-amz-request-id': requestId,
    'x-amz-id-2': randomBytes(24).toString('base64'),
    server: 'AmazonS3',
  };
}

export function xmlResponse(
  requestId: string,
  root: string,
  content: XmlObject,
  headers: Record<string, string> = {},
  statusCode = 200,
): S3Response {
  const body = renderXml(root, content);
  return {
    statusCode,
    headers: { ...baseHeaders(requestId), 'content-type': 'application/xml', ...headers },
    body,
  };
}

export function emptyResponse(
  requestId: string,
  statusCode: number,
  headers: Record<string, string> = {},
): S3Response {
  return { statusCode, headers: { ...baseHeaders(requestId), ...headers } };
}

export function withBase(
  requestId: string,
  statusCode: number,
  headers: Record<string, string>,
  body?: string | Buffer | Readable,
): S3Response {
  return { statusCode, headers: { ...baseHeaders(requestId), ...headers }, body };
}

/** S3's `<Error>` document (no namespace), or headers alone for HEAD and 304. */
export function errorResponse(
  error: S3Error,
  method: string,
  requestId: string,
  resource: string,
): S3Response {
  const headers = { ...baseHeaders(requestId), ...error.headers };
  if (method === 'HEAD' || error.statusCode === 304) return { statusCode: error.statusCode, headers };
  const document = renderXml(
    'Error',
    {
      Code: error.code,
      Message: error.message,
      ...error.details,
      ...(error.code === 'NoSuchKey' || error.code === 'NoSuchBucket' ? { Resource: resource } : {}),
      RequestId: requestId,
      HostId: headers['x-amz-id-2'],
    },
    false,
  );
  return {
    statusCode: error.statusCode,
    headers: { ...headers, 'content-type': 'application/xml' },
    body: document,
  };
}

/** `Last-Modified` and `Date` use RFC 7231 dates, second precision. */
export function httpDate(iso: string): string {
  return new Date(iso).toUTCString();
}
