/**
 * The checksums S3 takes and gives back (`x-amz-checksum-<algorithm>`, base64 of the big-endian
 * digest), computed incrementally while a body streams: CRC32 with node:zlib, CRC32C with
 * @aws-crypto/crc32c, CRC64NVME with @aws-sdk/crc64-nvme (the SDK's own implementations), SHA-1 and
 * SHA-256 with node:crypto. An object uploaded with none gets CRC64NVME, as S3 does since 2024.
 */
import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { Crc32c } from '@aws-crypto/crc32c';
import { Crc64Nvme } from '@aws-sdk/crc64-nvme';
import { S3Error } from './errors.ts';

export const ChecksumAlgorithm = {
  crc32: 'CRC32',
  crc32c: 'CRC32C',
  crc64nvme: 'CRC64NVME',
  sha1: 'SHA1',
  sha256: 'SHA256',
} as const;
export type ChecksumAlgorithm = (typeof ChecksumAlgorithm)[keyof typeof ChecksumAlgorithm];

/** S3's default when the client sends no checksum. */
export const DEFAULT_CHECKSUM_ALGORITHM: ChecksumAlgorithm = ChecksumAlgorithm.crc64nvme;

/** Digest length in bytes: a value of another length is not a checksum of this kind. */
const DIGEST_BYTES: Record<ChecksumAlgorithm, number> = {
  CRC32: 4,
  CRC32C: 4,
  CRC64NVME: 8,
  SHA1: 20,
  SHA256: 32,
};

export interface IncrementalDigest {
  update(data: Uint8Array): void;
  /** Base64 of the digest. */
  digest(): Promise<string>;
}

/** CRC32 and CRC32C: a 32-bit value, sent as its 4 big-endian bytes. */
function uint32Digest(update: (data: Uint8Array) => void, value: () => number): IncrementalDigest {
  return {
    update,
    digest: async () => {
      const bytes = Buffer.alloc(4);
      bytes.writeUInt32BE(value() >>> 0);
      return bytes.toString('base64');
    },
  };
}

class Crc64NvmeDigest implements IncrementalDigest {
  readonly #crc = new Crc64Nvme();
  update(data: Uint8Array): void {
    this.#crc.update(data);
  }
  async digest(): Promise<string> {
    return Buffer.from(await this.#crc.digest()).toString('base64');
  }
}

class NodeDigest implements IncrementalDigest {
  readonly #hash: Hash;
  constructor(algorithm: 'sha1' | 'sha256' | 'md5') {
    this.#hash = createHash(algorithm);
  }
  update(data: Uint8Array): void {
    this.#hash.update(data);
  }
  async digest(): Promise<string> {
    return this.#hash.digest('base64');
  }
}

export function createDigest(algorithm: ChecksumAlgorithm | 'MD5'): IncrementalDigest {
  switch (algorithm) {
    case 'CRC32': {
      let value = 0;
      return uint32Digest(
        (data) => {
          value = crc32(data, value);
        },
        () => value,
      );
    }
    case 'CRC32C': {
      const crc = new Crc32c();
      return uint32Digest(
        (data) => crc.update(data),
        () => crc.digest(),
      );
    }
    case 'CRC64NVME':
      return new Crc64NvmeDigest();
    case 'SHA1':
      return new NodeDigest('sha1');
    case 'SHA256':
      return new NodeDigest('sha256');
    case 'MD5':
      return new NodeDigest('md5');
  }
}

const ALGORITHMS = Object.values(ChecksumAlgorithm);

export function checksumHeaderName(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm.toLowerCase()}`;
}

/** The algorithm a `x-amz-checksum-*` header (or trailer) name stands for, undefined for others. */
export function algorithmOfHeader(name: string): ChecksumAlgorithm | undefined {
  return ALGORITHMS.find((algorithm) => checksumHeaderName(algorithm) === name.toLowerCase());
}

/** Whether a base64 value has the digest length of the algorithm. */
export function isWellFormedChecksum(algorithm: ChecksumAlgorithm | 'MD5', value: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length % 4 !== 0) return false;
  const length = algorithm === 'MD5' ? 16 : DIGEST_BYTES[algorithm];
  return Buffer.from(value, 'base64').length === length;
}

export interface DeclaredChecksum {
  readonly algorithm: ChecksumAlgorithm;
  /** The value sent in a header; undefined when it comes in a trailer or is only asked for. */
  readonly value: string | undefined;
  /** The value comes after the body, in the trailer `x-amz-trailer` announced. */
  readonly inTrailer: boolean;
}

/**
 * The checksum a request declares: one `x-amz-checksum-*` header, or a trailer announced by
 * `x-amz-trailer`, or only `x-amz-sdk-checksum-algorithm`. More than one is an error, as in S3.
 */
export function declaredChecksum(headers: Readonly<Record<string, string>>): DeclaredChecksum | undefined {
  const sent = ALGORITHMS.filter((algorithm) => headers[checksumHeaderName(algorithm)] !== undefined);
  const trailer = headers['x-amz-trailer'];
  const trailed = trailer === undefined ? undefined : algorithmOfHeader(trailer.trim());
  if (trailer !== undefined && trailed === undefined) {
    throw new S3Error('InvalidRequest', `The value specified in the x-amz-trailer header is not supported`);
  }
  if (sent.length + (trailed === undefined ? 0 : 1) > 1) {
    throw new S3Error(
      'InvalidRequest',
      'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.',
    );
  }
  if (trailed !== undefined) return { algorithm: trailed, value: undefined, inTrailer: true };
  const [algorithm] = sent;
  if (algorithm !== undefined) {
    const value = headers[checksumHeaderName(algorithm)] ?? '';
    if (!isWellFormedChecksum(algorithm, value)) {
      throw new S3Error('InvalidRequest', `Value for ${checksumHeaderName(algorithm)} header is invalid.`);
    }
    return { algorithm, value, inTrailer: false };
  }
  const named = headers['x-amz-sdk-checksum-algorithm'];
  if (named === undefined) return undefined;
  const algorithmNamed = ALGORITHMS.find((candidate) => candidate === named.toUpperCase());
  if (algorithmNamed === undefined) {
    throw new S3Error(
      'InvalidRequest',
      'Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]',
    );
  }
  return { algorithm: algorithmNamed, value: undefined, inTrailer: false };
}
