/**
 * KMS returns an ECDSA signature DER-encoded (`SEQUENCE { INTEGER r, INTEGER s }`, RFC 3279); JWS
 * ES256 carries the raw `r || s`, each a 32-byte big-endian integer (RFC 7518 §3.4). DER integers are
 * minimal and signed: a leading 0x00 is added when the high bit is set and leading zeros are dropped
 * otherwise, so each half is stripped and left-padded back to its size. Anything that is not exactly
 * such a sequence is refused (a signature we cannot read is never passed on).
 */
import { CountersignError } from '../../domain/errors.ts';

export class SignatureEncodingError extends CountersignError {}

/** Reads a DER length at `offset`; returns the length and the offset after it. */
function readLength(der: Uint8Array, offset: number): [number, number] {
  const first = der[offset];
  if (first === undefined) throw new SignatureEncodingError('DER signature truncated (length)');
  if (first < 0x80) return [first, offset + 1];
  const octets = first & 0x7f;
  if (octets !== 1 || der[offset + 1] === undefined || der[offset + 1]! < 0x80) {
    // Long form is only legal (and only needed) for lengths of 128 and more; P-256 never needs two octets.
    throw new SignatureEncodingError('DER signature has a malformed length');
  }
  return [der[offset + 1]!, offset + 2];
}

function readInteger(der: Uint8Array, offset: number, size: number): [Uint8Array, number] {
  if (der[offset] !== 0x02) throw new SignatureEncodingError('DER signature: expected an INTEGER');
  const [length, start] = readLength(der, offset + 1);
  const end = start + length;
  if (length === 0 || end > der.length) throw new SignatureEncodingError('DER signature truncated (integer)');
  let bytes = der.subarray(start, end);
  if (bytes[0]! & 0x80) throw new SignatureEncodingError('DER signature: negative integer');
  if (bytes.length > 1 && bytes[0] === 0x00 && !(bytes[1]! & 0x80)) {
    throw new SignatureEncodingError('DER signature: integer not minimally encoded');
  }
  if (bytes[0] === 0x00) bytes = bytes.subarray(1);
  if (bytes.length > size)
    throw new SignatureEncodingError(`DER signature: integer longer than ${size} bytes`);
  const padded = new Uint8Array(size);
  padded.set(bytes, size - bytes.length);
  return [padded, end];
}

/** `r || s` of a DER ECDSA signature, each half `size` bytes (32 for P-256 / ES256). */
export function derToJoseSignature(der: Uint8Array, size = 32): Uint8Array {
  if (der[0] !== 0x30) throw new SignatureEncodingError('DER signature: expected a SEQUENCE');
  const [length, start] = readLength(der, 1);
  if (start + length !== der.length) throw new SignatureEncodingError('DER signature: length does not match');
  const [r, afterR] = readInteger(der, start, size);
  const [s, afterS] = readInteger(der, afterR, size);
  if (afterS !== der.length) throw new SignatureEncodingError('DER signature: bytes after the sequence');
  const joined = new Uint8Array(size * 2);
  joined.set(r, 0);
  joined.set(s, size);
  return joined;
}
