/**
 * Finding the version a request names, as S3 resolves it: the key's newest version without a
 * `versionId`, that exact version with one. A delete marker answers like S3: 404 NoSuchKey when it
 * is the current version, 405 MethodNotAllowed when named, both with `x-amz-delete-marker: true`.
 */
import { randomBytes } from 'node:crypto';
import { noSuchKey, noSuchVersion, S3Error } from './errors.ts';
import { NULL_VERSION_ID, type ObjectVersion, type VersionRecord } from './model.ts';
import type { BucketState } from './store.ts';

/** Opaque, unique, URL- and file-name-safe. */
export function newVersionId(): string {
  return randomBytes(24).toString('base64url');
}

/** A version id the engine could have issued; anything else is refused before any lookup. */
export function checkVersionId(versionId: string): void {
  if (versionId !== NULL_VERSION_ID && !/^[A-Za-z0-9_-]{32}$/.test(versionId)) {
    throw new S3Error('InvalidArgument', 'Invalid version id specified', {
      details: { ArgumentName: 'versionId', ArgumentValue: versionId },
    });
  }
}

export function pickVersion(bucket: BucketState, key: string, versionId: string | undefined): VersionRecord {
  const versions = bucket.versions.get(key) ?? [];
  if (versionId === undefined) {
    const current = versions[0];
    if (current === undefined) throw noSuchKey(key);
    return current;
  }
  checkVersionId(versionId);
  const version = versions.find((candidate) => candidate.versionId === versionId);
  if (version === undefined) throw noSuchVersion(key, versionId);
  return version;
}

function deleteMarkerHeaders(version: VersionRecord): Record<string, string> {
  return { 'x-amz-delete-marker': 'true', 'x-amz-version-id': version.versionId };
}

export function pickObject(bucket: BucketState, key: string, versionId: string | undefined): ObjectVersion {
  const version = pickVersion(bucket, key, versionId);
  if (version.kind === 'object') return version;
  if (versionId === undefined) throw noSuchKey(key, deleteMarkerHeaders(version));
  throw new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.', {
    details: { ResourceType: 'DeleteMarker' },
    headers: { ...deleteMarkerHeaders(version), allow: 'DELETE' },
  });
}
