/**
 * ListObjectsV2 and ListObjectVersions: query parameters read and checked as S3 reads them, pages
 * from listing.ts, XML as S3 writes it. With `encoding-type=url` (the AWS CLI asks for it) keys and
 * prefixes are percent-encoded in the response.
 */
import { type EngineSettings, type OperationInput, requireBucket } from './context.ts';
import { S3Error } from './errors.ts';
import { type ListEntry, type ListInput, listObjects, listVersions, type VersionItem } from './listing.ts';
import { etagOf, type ObjectVersion } from './model.ts';
import { type S3Response, xmlResponse } from './protocol.ts';

const MAX_KEYS = 1000;
const TOKEN_PREFIX = 'cs1:';

function readMaxKeys(query: ReadonlyMap<string, string>): number {
  const text = query.get('max-keys');
  if (text === undefined) return MAX_KEYS;
  if (!/^-?\d+$/.test(text)) {
    throw new S3Error('InvalidArgument', 'Provided max-keys not an integer or within integer range', {
      details: { ArgumentName: 'max-keys', ArgumentValue: text },
    });
  }
  const value = Number(text);
  if (value < 0 || value > 2_147_483_647) {
    throw new S3Error('InvalidArgument', 'Argument maxKeys must be an integer between 0 and 2147483647', {
      details: { ArgumentName: 'max-keys', ArgumentValue: text },
    });
  }
  return Math.min(value, MAX_KEYS);
}

function readEncoder(query: ReadonlyMap<string, string>): (text: string) => string {
  const encoding = query.get('encoding-type');
  if (encoding === undefined) return (text) => text;
  if (encoding !== 'url') {
    throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', {
      details: { ArgumentName: 'encoding-type', ArgumentValue: encoding },
    });
  }
  return (text) => encodeURIComponent(text);
}

function listInput(query: ReadonlyMap<string, string>): ListInput {
  const delimiter = query.get('delimiter');
  return {
    prefix: query.get('prefix') ?? '',
    delimiter: delimiter === undefined || delimiter.length === 0 ? undefined : delimiter,
    maxKeys: readMaxKeys(query),
  };
}

/** Continuation tokens are opaque to clients: the last entry of the page, tagged and base64-encoded. */
export function encodeToken(marker: string): string {
  return Buffer.from(`${TOKEN_PREFIX}${marker}`, 'utf8').toString('base64');
}

function decodeToken(token: string): string {
  const text = /^[A-Za-z0-9+/]*={0,2}$/.test(token) ? Buffer.from(token, 'base64').toString('utf8') : '';
  if (!text.startsWith(TOKEN_PREFIX) || encodeToken(text.slice(TOKEN_PREFIX.length)) !== token) {
    throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', {
      details: { ArgumentName: 'continuation-token' },
    });
  }
  return text.slice(TOKEN_PREFIX.length);
}

function lastMarker<T>(entries: readonly ListEntry<T>[]): string | undefined {
  return entries.at(-1)?.key;
}

function commonPrefixes<T>(entries: readonly ListEntry<T>[], encode: (text: string) => string) {
  return entries.filter((entry) => entry.kind === 'prefix').map((entry) => ({ Prefix: encode(entry.key) }));
}

export function listObjectsV2(settings: EngineSettings, input: OperationInput): S3Response {
  const bucket = requireBucket(settings, input.bucket);
  const { query } = input;
  const encode = readEncoder(query);
  const listing = listInput(query);
  const token = query.get('continuation-token');
  const startAfter = query.get('start-after');
  const after = token === undefined ? startAfter : decodeToken(token);
  const page = listObjects(bucket, listing, after === '' ? undefined : after);
  const fetchOwner = query.get('fetch-owner') === 'true';
  const contents = page.entries.flatMap((entry) =>
    entry.kind === 'item'
      ? [objectSummary(entry.item, encode, fetchOwner ? settings.ownerId : undefined)]
      : [],
  );
  const next = lastMarker(page.entries);
  return xmlResponse(input.requestId, 'ListBucketResult', {
    Name: input.bucket,
    Prefix: encode(listing.prefix),
    Delimiter: listing.delimiter === undefined ? undefined : encode(listing.delimiter),
    MaxKeys: listing.maxKeys,
    KeyCount: page.entries.length,
    IsTruncated: page.truncated,
    ContinuationToken: token,
    NextContinuationToken: page.truncated && next !== undefined ? encodeToken(next) : undefined,
    StartAfter: startAfter === undefined ? undefined : encode(startAfter),
    EncodingType: query.get('encoding-type'),
    Contents: contents,
    CommonPrefixes: commonPrefixes(page.entries, encode),
  });
}

function objectSummary(
  version: ObjectVersion,
  encode: (text: string) => string,
  ownerId: string | undefined,
) {
  return {
    Key: encode(version.key),
    LastModified: version.lastModified,
    ETag: etagOf(version),
    ChecksumAlgorithm: version.checksum.algorithm,
    ChecksumType: 'FULL_OBJECT',
    Size: version.size,
    StorageClass: version.storageClass,
    ...(ownerId === undefined ? {} : { Owner: { ID: ownerId } }),
  };
}

export function listObjectVersions(settings: EngineSettings, input: OperationInput): S3Response {
  const bucket = requireBucket(settings, input.bucket);
  const { query } = input;
  const encode = readEncoder(query);
  const listing = listInput(query);
  const keyMarker = query.get('key-marker');
  const versionIdMarker = query.get('version-id-marker');
  if (versionIdMarker !== undefined && versionIdMarker.length > 0 && (keyMarker ?? '') === '') {
    throw new S3Error('InvalidArgument', 'A version-id marker cannot be specified without a key marker.', {
      details: { ArgumentName: 'version-id-marker', ArgumentValue: versionIdMarker },
    });
  }
  const page = listVersions(
    bucket,
    listing,
    keyMarker === '' ? undefined : keyMarker,
    versionIdMarker === '' ? undefined : versionIdMarker,
  );
  const owner = { ID: settings.ownerId };
  const items = page.entries.flatMap((entry) => (entry.kind === 'item' ? [entry.item] : []));
  const versionEntry = ({ version, isLatest }: VersionItem) => ({
    Key: encode(version.key),
    VersionId: version.versionId,
    IsLatest: isLatest,
    LastModified: version.lastModified,
    ...(version.kind === 'object'
      ? {
          ETag: etagOf(version),
          ChecksumAlgorithm: version.checksum.algorithm,
          ChecksumType: 'FULL_OBJECT',
          Size: version.size,
          StorageClass: version.storageClass,
        }
      : {}),
    Owner: owner,
  });
  const last = page.entries.at(-1);
  return xmlResponse(input.requestId, 'ListVersionsResult', {
    Name: input.bucket,
    Prefix: encode(listing.prefix),
    KeyMarker: encode(keyMarker ?? ''),
    VersionIdMarker: versionIdMarker ?? '',
    NextKeyMarker: page.truncated && last !== undefined ? encode(last.key) : undefined,
    NextVersionIdMarker: page.truncated && last?.kind === 'item' ? last.item.version.versionId : undefined,
    MaxKeys: listing.maxKeys,
    Delimiter: listing.delimiter === undefined ? undefined : encode(listing.delimiter),
    IsTruncated: page.truncated,
    EncodingType: query.get('encoding-type'),
    Version: items.filter((item) => item.version.kind === 'object').map(versionEntry),
    DeleteMarker: items.filter((item) => item.version.kind === 'deleteMarker').map(versionEntry),
    CommonPrefixes: commonPrefixes(page.entries, encode),
  });
}
