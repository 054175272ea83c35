/**
 * A request body as S3 receives it, verified while it streams. `x-amz-content-sha256` says how the
 * body is sent: its SHA-256 in hex, `UNSIGNED-PAYLOAD`, or `aws-chunked` framing
 * (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`, the SDK's default for streams; `STREAMING-AWS4-HMAC-SHA256-
 * PAYLOAD[-TRAILER]` with every chunk signed, each signature chaining the previous one from the
 * request's own signature). The decoded bytes go to a sink as they arrive; nothing is accepted until
 * the whole body has been checked (payload hash, chunk and trailer signatures, decoded length,
 * Content-MD5, the declared `x-amz-checksum-*`), so a caller writes to a temporary place and
 * commits only when `receivePayload` resolves.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import {
  algorithmOfHeader,
  type ChecksumAlgorithm,
  checksumHeaderName,
  createDigest,
  DEFAULT_CHECKSUM_ALGORITHM,
  declaredChecksum,
  isWellFormedChecksum,
} from './checksums.ts';
import { S3Error } from './errors.ts';

/**
 * What the front that verified the request's SigV4 signature hands on so that chunk signatures can
 * be verified: the derived signing key (never the secret), the request's `x-amz-date`, the
 * credential scope (`20130524/us-east-1/s3/aws4_request`) and the request's signature (the seed).
 */
export interface ChunkSigningMaterial {
  readonly signingKey: Uint8Array;
  readonly amzDate: string;
  readonly scope: string;
  readonly seedSignature: string;
}

export const PayloadHash = {
  unsigned: 'UNSIGNED-PAYLOAD',
  streamingUnsignedTrailer: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
  streamingSigned: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
  streamingSignedTrailer: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
} as const;

const EMPTY_SHA256 = createHash('sha256').digest('hex');
/** A chunk header line is `<hex size>;chunk-signature=<64 hex>`; anything much longer is not one. */
const MAX_LINE_BYTES = 4096;
/** S3's largest single PUT. */
export const MAX_OBJECT_BYTES = 5 * 1024 ** 3;

export interface ReceivedPayload {
  readonly size: number;
  /** Hex MD5 of the decoded bytes (the ETag of a single-part object). */
  readonly md5Hex: string;
  /** The declared checksum, verified; or S3's default (CRC64NVME) computed when none was declared. */
  readonly checksum: { readonly algorithm: ChecksumAlgorithm; readonly value: string };
}

export type PayloadSink = (chunk: Buffer) => Promise<void> | void;

const incompleteBody = () =>
  new S3Error(
    'IncompleteBody',
    'You did not provide the number of bytes specified by the Content-Length HTTP header',
  );
const badFraming = (detail: string) =>
  new S3Error('InvalidRequest', `The aws-chunked body is malformed: ${detail}`);
const chunkSignatureMismatch = () =>
  new S3Error(
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  );

function hmacHex(key: Uint8Array, text: string): string {
  return createHmac('sha256', key).update(text, 'utf8').digest('hex');
}

function sameHex(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === 32 && left.length === right.length && timingSafeEqual(left, right);
}

/** Reads lines and byte runs from a chunked body however the network split it. */
class FramedReader {
  readonly #source: AsyncIterator<Uint8Array>;
  #buffer: Buffer = Buffer.alloc(0);
  #ended = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.#source = source[Symbol.asyncIterator]();
  }

  async #fill(): Promise<boolean> {
    if (this.#ended) return false;
    const next = await this.#source.next();
    if (next.done === true) {
      this.#ended = true;
      return false;
    }
    const chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    return true;
  }

  /** The next CRLF-terminated line without its CRLF; undefined when the body ended right here. */
  async line(): Promise<string | undefined> {
    for (;;) {
      const end = this.#buffer.indexOf('\r\n');
      if (end >= 0) {
        const line = this.#buffer.subarray(0, end).toString('latin1');
        this.#buffer = this.#buffer.subarray(end + 2);
        return line;
      }
      if (this.#buffer.length > MAX_LINE_BYTES)
        throw badFraming('a chunk header or trailer line is too long');
      if (!(await this.#fill())) {
        if (this.#buffer.length === 0) return undefined;
        throw incompleteBody();
      }
    }
  }

  /** Exactly `count` bytes, handed over in the pieces they arrived in. */
  async *bytes(count: number): AsyncGenerator<Buffer> {
    let remaining = count;
    while (remaining > 0) {
      if (this.#buffer.length === 0 && !(await this.#fill())) throw incompleteBody();
      const piece = this.#buffer.subarray(0, Math.min(remaining, this.#buffer.length));
      this.#buffer = this.#buffer.subarray(piece.length);
      remaining -= piece.length;
      yield piece;
    }
  }

  async atEnd(): Promise<boolean> {
    return this.#buffer.length === 0 && !(await this.#fill());
  }
}

interface ChunkedOptions {
  readonly signing: ChunkSigningMaterial | undefined;
  readonly trailer: boolean;
}

function parseChunkHeader(line: string, signed: boolean): { size: number; signature: string | undefined } {
  const match = signed
    ? /^([0-9a-fA-F]{1,12});chunk-signature=([0-9a-f]{64})$/.exec(line)
    : /^([0-9a-fA-F]{1,12})$/.exec(line);
  if (match === null) throw badFraming(`unexpected chunk header ${JSON.stringify(line.slice(0, 100))}`);
  return { size: Number.parseInt(match[1] ?? '', 16), signature: match[2] };
}

/**
 * Decodes an aws-chunked body, yielding its data and returning its trailing headers. Signed chunks
 * are checked as soon as each one ends; a trailer's signature over its canonical form
 * (`name:value\n` per header) chains from the last chunk's.
 */
async function* decodeAwsChunked(
  source: AsyncIterable<Uint8Array>,
  { signing, trailer }: ChunkedOptions,
): AsyncGenerator<Buffer, Record<string, string>> {
  const reader = new FramedReader(source);
  let previousSignature = signing?.seedSignature ?? '';
  const chunkStringToSign = (dataHash: string) =>
    [
      'AWS4-HMAC-SHA256-PAYLOAD',
      signing?.amzDate,
      signing?.scope,
      previousSignature,
      EMPTY_SHA256,
      dataHash,
    ].join('\n');
  for (;;) {
    const line = await reader.line();
    if (line === undefined) throw incompleteBody();
    const { size, signature } = parseChunkHeader(line, signing !== undefined);
    const hash = createHash('sha256');
    for await (const piece of reader.bytes(size)) {
      if (signing !== undefined) hash.update(piece);
      yield piece;
    }
    if (signing !== undefined) {
      const expected = hmacHex(signing.signingKey, chunkStringToSign(hash.digest('hex')));
      if (signature === undefined || !sameHex(expected, signature)) throw chunkSignatureMismatch();
      previousSignature = expected;
    }
    if (size === 0) break;
    if ((await reader.line()) !== '') throw badFraming('chunk data is not followed by CRLF');
  }
  const trailers: Record<string, string> = {};
  let trailerSignature: string | undefined;
  const canonical: string[] = [];
  for (;;) {
    const line = await reader.line();
    // The SDK ends an unsigned body with no trailer right after `0\r\n`.
    if (line === undefined || line === '') break;
    if (!trailer) throw badFraming('trailing headers were sent without x-amz-trailer');
    const separator = line.indexOf(':');
    if (separator <= 0) throw badFraming('a trailing header has no name');
    const name = line.slice(0, separator).trim().toLowerCase();
    const value = line.slice(separator + 1).trim();
    if (name === 'x-amz-trailer-signature') {
      trailerSignature = value;
    } else {
      trailers[name] = value;
      canonical.push(`${name}:${value}\n`);
    }
  }
  if (!(await reader.atEnd())) throw badFraming('bytes follow the end of the body');
  if (signing !== undefined && trailer) {
    if (trailerSignature === undefined) throw badFraming('the trailer has no x-amz-trailer-signature');
    const expected = hmacHex(
      signing.signingKey,
      [
        'AWS4-HMAC-SHA256-TRAILER',
        signing.amzDate,
        signing.scope,
        previousSignature,
        createHash('sha256').update(canonical.join(''), 'utf8').digest('hex'),
      ].join('\n'),
    );
    if (!sameHex(expected, trailerSignature)) throw chunkSignatureMismatch();
  }
  return trailers;
}

async function* raw(source: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer, Record<string, string>> {
  for await (const chunk of source) yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return {};
}

interface PayloadPlan {
  readonly decoded: AsyncGenerator<Buffer, Record<string, string>>;
  /** Hex SHA-256 the raw body must have; undefined when the mode does not promise one. */
  readonly sha256: string | undefined;
  /** The decoded length the client promised for a framed body. */
  readonly decodedLength: number | undefined;
}

function planPayload(
  headers: Readonly<Record<string, string>>,
  body: AsyncIterable<Uint8Array>,
  signing: ChunkSigningMaterial | undefined,
): PayloadPlan {
  const mode = headers['x-amz-content-sha256'];
  if (mode === undefined) {
    throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  }
  if (/^[0-9a-f]{64}$/.test(mode)) return { decoded: raw(body), sha256: mode, decodedLength: undefined };
  if (mode === PayloadHash.unsigned)
    return { decoded: raw(body), sha256: undefined, decodedLength: undefined };
  const streaming = Object.values(PayloadHash).includes(mode as never) && mode !== PayloadHash.unsigned;
  if (!streaming) {
    throw new S3Error(
      mode.startsWith('STREAMING-AWS4-ECDSA') ? 'NotImplemented' : 'InvalidArgument',
      mode.startsWith('STREAMING-AWS4-ECDSA')
        ? 'SigV4a chunk signing is not implemented by the twin'
        : 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.',
    );
  }
  const signed = mode === PayloadHash.streamingSigned || mode === PayloadHash.streamingSignedTrailer;
  if (signed && signing === undefined) {
    // Fail closed: without the request's signing material no chunk can be trusted.
    throw chunkSignatureMismatch();
  }
  const lengthHeader = headers['x-amz-decoded-content-length'];
  if (lengthHeader === undefined) {
    throw new S3Error('MissingContentLength', 'You must provide the Content-Length HTTP header.');
  }
  if (!/^\d{1,13}$/.test(lengthHeader)) {
    throw new S3Error('InvalidArgument', 'x-amz-decoded-content-length is not a valid length');
  }
  const trailer = mode !== PayloadHash.streamingSigned;
  if (!trailer && headers['x-amz-trailer'] !== undefined) {
    throw new S3Error('InvalidRequest', `x-amz-trailer is not allowed with ${mode}`);
  }
  return {
    decoded: decodeAwsChunked(body, { signing: signed ? signing : undefined, trailer }),
    sha256: undefined,
    decodedLength: Number(lengthHeader),
  };
}

function checkContentMd5(headers: Readonly<Record<string, string>>): string | undefined {
  const md5 = headers['content-md5'];
  if (md5 !== undefined && !isWellFormedChecksum('MD5', md5.trim())) {
    throw new S3Error('InvalidDigest', 'The Content-MD5 you specified was invalid.');
  }
  return md5?.trim();
}

/**
 * Streams the request body into `sink` and verifies everything the request promised about it.
 * Throws an S3Error (after the sink saw some bytes) when any promise is broken; the caller then
 * discards what the sink wrote.
 */
export async function receivePayload(
  headers: Readonly<Record<string, string>>,
  body: AsyncIterable<Uint8Array>,
  signing: ChunkSigningMaterial | undefined,
  sink: PayloadSink,
  maxBytes = MAX_OBJECT_BYTES,
): Promise<ReceivedPayload> {
  const declared = declaredChecksum(headers);
  const contentMd5 = checkContentMd5(headers);
  const plan = planPayload(headers, body, signing);
  if (declared?.inTrailer === true && plan.decodedLength === undefined) {
    throw new S3Error('InvalidRequest', 'x-amz-trailer requires an aws-chunked body');
  }
  const limit = Math.min(maxBytes, plan.decodedLength ?? maxBytes);
  if (plan.decodedLength !== undefined && plan.decodedLength > maxBytes) {
    throw new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');
  }
  const rawSha256 = plan.sha256 === undefined ? undefined : createHash('sha256');
  const md5 = createHash('md5');
  const algorithm = declared?.algorithm ?? DEFAULT_CHECKSUM_ALGORITHM;
  const checksum = createDigest(algorithm);
  let size = 0;
  let step = await plan.decoded.next();
  while (step.done !== true) {
    const chunk = step.value;
    size += chunk.length;
    if (size > limit) {
      throw plan.decodedLength === undefined
        ? new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size')
        : incompleteBody();
    }
    rawSha256?.update(chunk);
    md5.update(chunk);
    checksum.update(chunk);
    await sink(chunk);
    step = await plan.decoded.next();
  }
  const trailers = step.value;
  if (plan.decodedLength !== undefined && size !== plan.decodedLength) throw incompleteBody();
  if (rawSha256 !== undefined) {
    const computed = rawSha256.digest('hex');
    if (computed !== plan.sha256) {
      throw new S3Error(
        'XAmzContentSHA256Mismatch',
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
        { details: { ClientComputedContentSHA256: plan.sha256 ?? '', S3ComputedContentSHA256: computed } },
      );
    }
  }
  const md5Bytes = md5.digest();
  if (contentMd5 !== undefined && contentMd5 !== md5Bytes.toString('base64')) {
    throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.', {
      details: { ExpectedDigest: contentMd5, CalculatedDigest: md5Bytes.toString('base64') },
    });
  }
  const value = await checksum.digest();
  const expected = declared?.inTrailer === true ? trailerChecksum(trailers, algorithm) : declared?.value;
  if (declared?.inTrailer !== true && Object.keys(trailers).some((name) => algorithmOfHeader(name))) {
    throw new S3Error('InvalidRequest', 'A checksum trailer was sent that x-amz-trailer did not announce');
  }
  if (expected !== undefined && expected !== value) {
    throw new S3Error('BadDigest', `The ${algorithm} you specified did not match the calculated checksum.`);
  }
  return { size, md5Hex: md5Bytes.toString('hex'), checksum: { algorithm, value } };
}

function trailerChecksum(trailers: Record<string, string>, algorithm: ChecksumAlgorithm): string {
  const name = checksumHeaderName(algorithm);
  const value = trailers[name];
  const others = Object.keys(trailers).filter(
    (trailer) => algorithmOfHeader(trailer) !== undefined && trailer !== name,
  );
  if (value === undefined || others.length > 0) {
    throw new S3Error('InvalidRequest', `The trailer ${name} announced in x-amz-trailer was not sent`);
  }
  if (!isWellFormedChecksum(algorithm, value)) {
    throw new S3Error('InvalidRequest', `Value for ${name} trailing header is invalid.`);
  }
  return value;
}

/** A small request body (an XML or JSON document), verified like any other and held in memory. */
export async function readSmallPayload(
  headers: Readonly<Record<string, string>>,
  body: AsyncIterable<Uint8Array>,
  signing: ChunkSigningMaterial | undefined,
  maxBytes: number,
): Promise<{ text: string; payload: ReceivedPayload }> {
  const chunks: Buffer[] = [];
  const payload = await receivePayload(headers, body, signing, (chunk) => void chunks.push(chunk), maxBytes);
  return { text: Buffer.concat(chunks).toString('utf8'), payload };
}
