/**
 * Read-only, in-process access to the twin's S3 for other twin code (a Macie-style classifier, the
 * archive verifier): the same store, the same resolution of versions and delete markers as the
 * HTTP API, no HTTP and no signing. It can never change what is stored.
 */
import type { Readable } from 'node:stream';
import type { ChecksumAlgorithm } from './checksums.ts';
import { noSuchBucket } from './errors.ts';
import { etagOf, type ObjectLockMode, type ObjectVersion, type VersionRecord } from './model.ts';
import type { BucketState, S3Store } from './store.ts';
import { pickObject } from './versions.ts';

export interface S3BucketInfo {
  readonly name: string;
  readonly createdAt: Date;
  readonly versioning: 'Enabled' | 'Suspended' | undefined;
  readonly objectLockEnabled: boolean;
}

export interface S3ObjectInfo {
  readonly bucket: string;
  readonly key: string;
  readonly versionId: string;
  readonly isLatest: boolean;
  readonly size: number;
  /** Quoted hex MD5, as S3 writes ETags. */
  readonly etag: string;
  readonly lastModified: Date;
  readonly contentType: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly checksum: { readonly algorithm: ChecksumAlgorithm; readonly value: string };
  readonly retention: { readonly mode: ObjectLockMode; readonly retainUntil: Date } | undefined;
  readonly legalHold: boolean;
}

export interface S3DeleteMarkerInfo {
  readonly bucket: string;
  readonly key: string;
  readonly versionId: string;
  readonly isLatest: boolean;
  readonly lastModified: Date;
}

export type S3VersionInfo =
  | ({ readonly kind: 'object' } & S3ObjectInfo)
  | ({ readonly kind: 'deleteMarker' } & S3DeleteMarkerInfo);

export interface S3Reader {
  listBuckets(): S3BucketInfo[];
  /** Current objects (delete markers hide their key), keys in S3's order. */
  listObjects(bucket: string, options?: { prefix?: string }): S3ObjectInfo[];
  /** Every version and delete marker, keys in S3's order, newest first within a key. */
  listObjectVersions(bucket: string, options?: { prefix?: string }): S3VersionInfo[];
  /** The current object or the named version; throws S3Error NoSuchBucket / NoSuchKey / NoSuchVersion. */
  headObject(bucket: string, key: string, versionId?: string): S3ObjectInfo;
  /** The object's bytes as a stream from disk (the caller must consume or destroy it). */
  readObject(
    bucket: string,
    key: string,
    versionId?: string,
  ): Promise<{ info: S3ObjectInfo; body: Readable }>;
}

function objectInfo(bucket: string, version: ObjectVersion, isLatest: boolean): S3ObjectInfo {
  return {
    bucket,
    key: version.key,
    versionId: version.versionId,
    isLatest,
    size: version.size,
    etag: etagOf(version),
    lastModified: new Date(version.lastModified),
    contentType: version.headers.contentType,
    metadata: { ...version.metadata },
    checksum: { ...version.checksum },
    retention:
      version.retention === undefined
        ? undefined
        : { mode: version.retention.mode, retainUntil: new Date(version.retention.retainUntil) },
    legalHold: version.legalHold === true,
  };
}

function versionInfo(bucket: string, version: VersionRecord, isLatest: boolean): S3VersionInfo {
  return version.kind === 'object'
    ? { kind: 'object', ...objectInfo(bucket, version, isLatest) }
    : {
        kind: 'deleteMarker',
        bucket,
        key: version.key,
        versionId: version.versionId,
        isLatest,
        lastModified: new Date(version.lastModified),
      };
}

export function createReader(store: S3Store): S3Reader {
  const bucketOf = (name: string): BucketState => {
    const bucket = store.bucket(name);
    if (bucket === undefined) throw noSuchBucket(name);
    return bucket;
  };
  const keysOf = (bucket: BucketState, prefix = '') =>
    bucket.sortedKeys().filter((key) => key.startsWith(prefix));
  const isLatest = (bucket: BucketState, version: VersionRecord) =>
    bucket.versions.get(version.key)?.[0]?.versionId === version.versionId;
  return {
    listBuckets: () =>
      store.buckets().map(({ record }) => ({
        name: record.name,
        createdAt: new Date(record.createdAt),
        versioning: record.versioning,
        objectLockEnabled: record.objectLockEnabled,
      })),
    listObjects: (name, options = {}) => {
      const bucket = bucketOf(name);
      return keysOf(bucket, options.prefix).flatMap((key) => {
        const current = bucket.versions.get(key)?.[0];
        return current?.kind === 'object' ? [objectInfo(name, current, true)] : [];
      });
    },
    listObjectVersions: (name, options = {}) => {
      const bucket = bucketOf(name);
      return keysOf(bucket, options.prefix).flatMap((key) =>
        (bucket.versions.get(key) ?? []).map((version, index) => versionInfo(name, version, index === 0)),
      );
    },
    headObject: (name, key, versionId) => {
      const bucket = bucketOf(name);
      const version = pickObject(bucket, key, versionId);
      return objectInfo(name, version, isLatest(bucket, version));
    },
    readObject: async (name, key, versionId) => {
      bucketOf(name);
      const { version, content } = await store.openObject(name, (bucket) =>
        pickObject(bucket, key, versionId),
      );
      const info = objectInfo(name, version, isLatest(bucketOf(name), version));
      return { info, body: content.createReadStream({ autoClose: true }) };
    },
  };
}
