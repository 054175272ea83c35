/**
 * Operations on objects: PutObject (streamed to disk, verified, committed whole), CopyObject,
 * GetObject / HeadObject (ranges, conditions, streamed from disk), DeleteObject / DeleteObjects
 * (delete markers on a versioned bucket; a version under Object Lock stays).
 */
import type { FileHandle } from 'node:fs/promises';
import { checksumHeaderName, declaredChecksum } from './checksums.ts';
import {
  bypassesGovernance,
  drain,
  type EngineSettings,
  type OperationInput,
  requireBucket,
} from './context.ts';
import { malformedXml, noSuchKey, preconditionFailed, S3Error } from './errors.ts';
import {
  type BucketRecord,
  etagOf,
  NULL_VERSION_ID,
  type ObjectHeaders,
  type ObjectVersion,
  type Retention,
  VersioningStatus,
  type VersionRecord,
} from './model.ts';
import {
  checkVersionDeletion,
  defaultRetentionFrom,
  parseLockMode,
  parseRetainUntil,
} from './object-lock.ts';
import { readSmallPayload, receivePayload } from './payload.ts';
import { emptyResponse, httpDate, parseTarget, type S3Response, withBase, xmlResponse } from './protocol.ts';
import type { BucketState, StagedContent } from './store.ts';
import { checkVersionId, newVersionId, pickObject } from './versions.ts';
import { childText, parseXmlDocument, type XmlObject } from './xml.ts';

const MAX_KEY_BYTES = 1024;
/** A DeleteObjects request names at most 1,000 keys; its document stays well under 2 MB. */
const MAX_DELETE_DOCUMENT_BYTES = 2 * 1024 * 1024;
const STORAGE_CLASSES = new Set([
  'STANDARD',
  'REDUCED_REDUNDANCY',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER',
  'DEEP_ARCHIVE',
  'GLACIER_IR',
]);
const DEFAULT_CONTENT_TYPE = 'binary/octet-stream';

function checkKey(key: string): void {
  if (key.length === 0) throw new S3Error('InvalidRequest', 'A key must be specified');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new S3Error('InvalidArgument', 'Your key is too long', {
      details: { ArgumentName: 'key' },
    });
  }
}

function isVersioned(record: BucketRecord): boolean {
  return record.versioning !== undefined;
}

function versionHeader(record: BucketRecord, versionId: string): Record<string, string> {
  return isVersioned(record) ? { 'x-amz-version-id': versionId } : {};
}

/** The representation headers of a PUT or a REPLACE copy. `aws-chunked` is framing, not content. */
function objectHeadersFrom(headers: Readonly<Record<string, string>>): ObjectHeaders {
  const encoding = headers['content-encoding']
    ?.split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0 && part !== 'aws-chunked')
    .join(',');
  const optional = (value: string | undefined) =>
    value === undefined || value.length === 0 ? undefined : value;
  return {
    contentType: optional(headers['content-type']) ?? DEFAULT_CONTENT_TYPE,
    contentEncoding: optional(encoding),
    contentDisposition: optional(headers['content-disposition']),
    contentLanguage: optional(headers['content-language']),
    cacheControl: optional(headers['cache-control']),
    expires: optional(headers.expires),
  };
}

function metadataFrom(headers: Readonly<Record<string, string>>): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith('x-amz-meta-')) metadata[name.slice('x-amz-meta-'.length)] = value;
  }
  return metadata;
}

function storageClassFrom(headers: Readonly<Record<string, string>>): string {
  const storageClass = headers['x-amz-storage-class'] ?? 'STANDARD';
  if (!STORAGE_CLASSES.has(storageClass)) {
    throw new S3Error('InvalidStorageClass', 'The storage class you specified is not valid');
  }
  return storageClass;
}

interface RequestedLock {
  readonly retention: Retention | undefined;
  readonly legalHold: boolean | undefined;
}

/** The Object Lock headers of a PUT or copy, checked as S3 checks them. */
function requestedLock(
  headers: Readonly<Record<string, string>>,
  record: BucketRecord,
  now: Date,
): RequestedLock {
  const mode = headers['x-amz-object-lock-mode'];
  const until = headers['x-amz-object-lock-retain-until-date'];
  const hold = headers['x-amz-object-lock-legal-hold'];
  if (mode === undefined && until === undefined && hold === undefined) {
    return { retention: undefined, legalHold: undefined };
  }
  if (!record.objectLockEnabled) {
    throw new S3Error('InvalidRequest', 'Bucket is missing Object Lock Configuration');
  }
  if ((mode === undefined) !== (until === undefined)) {
    throw new S3Error(
      'InvalidArgument',
      'x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied',
    );
  }
  if (hold !== undefined && hold !== 'ON' && hold !== 'OFF') {
    throw new S3Error('InvalidArgument', "Legal Hold must be either of 'ON' or 'OFF'");
  }
  return {
    retention:
      mode === undefined || until === undefined
        ? undefined
        : { mode: parseLockMode(mode), retainUntil: parseRetainUntil(until, now) },
    legalHold: hold === undefined ? undefined : hold === 'ON',
  };
}

function etagMatches(condition: string, etag: string): boolean {
  return condition
    .split(',')
    .map((part) => part.trim().replace(/^W\//, ''))
    .some((part) => part === '*' || part === etag || `"${part}"` === etag);
}

/** `If-None-Match: *` (create only) and `If-Match: <etag>` (replace only that) on PUT. */
function checkWriteCondition(
  headers: Readonly<Record<string, string>>,
  key: string,
  current: VersionRecord | undefined,
) {
  const existing = current?.kind === 'object' ? current : undefined;
  const ifNoneMatch = headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== '*') {
      throw new S3Error(
        'NotImplemented',
        'A header you provided implies functionality that is not implemented',
        {
          details: { Header: 'If-None-Match' },
        },
      );
    }
    if (existing !== undefined) throw preconditionFailed('If-None-Match');
  }
  const ifMatch = headers['if-match'];
  if (ifMatch !== undefined) {
    if (existing === undefined) throw noSuchKey(key);
    if (!etagMatches(ifMatch, etagOf(existing))) throw preconditionFailed('If-Match');
  }
}

interface NewVersionContent {
  readonly staged: StagedContent;
  readonly size: number;
  readonly md5Hex: string;
  readonly checksum: ObjectVersion['checksum'];
  readonly headers: ObjectHeaders;
  readonly metadata: Record<string, string>;
  readonly storageClass: string;
  readonly lock: RequestedLock;
}

/** Commits staged bytes as the key's new version (or its `null` version when not versioning). */
function commitObject(
  settings: EngineSettings,
  input: OperationInput,
  content: NewVersionContent,
  check: (bucket: BucketState) => void,
): Promise<VersionRecord> {
  return settings.store.commit(input.bucket, content.staged, (bucket) => {
    check(bucket);
    const now = settings.now();
    const record = bucket.record;
    return {
      kind: 'object',
      key: input.key,
      versionId: record.versioning === VersioningStatus.enabled ? newVersionId() : NULL_VERSION_ID,
      sequence: settings.store.nextSequence(),
      lastModified: now.toISOString(),
      storageId: content.staged.storageId,
      size: content.size,
      md5Hex: content.md5Hex,
      checksum: content.checksum,
      headers: content.headers,
      metadata: content.metadata,
      storageClass: content.storageClass,
      retention: content.lock.retention ?? defaultRetentionFrom(record.defaultRetention, now),
      legalHold: content.lock.legalHold,
    };
  });
}

function checksumHeaders(version: ObjectVersion): Record<string, string> {
  return {
    [checksumHeaderName(version.checksum.algorithm)]: version.checksum.value,
    'x-amz-checksum-type': 'FULL_OBJECT',
  };
}

export async function putObject(settings: EngineSettings, input: OperationInput): Promise<S3Response> {
  const { request } = input;
  const headers = request.headers;
  const bucket = requireBucket(settings, input.bucket);
  checkKey(input.key);
  const lock = requestedLock(headers, bucket.record, settings.now());
  const hasIntegrityHeader = headers['content-md5'] !== undefined || declaredChecksum(headers) !== undefined;
  if ((lock.retention !== undefined || lock.legalHold !== undefined) && !hasIntegrityHeader) {
    throw new S3Error(
      'InvalidRequest',
      'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters',
    );
  }
  // Refuse a write that cannot succeed before reading a large body.
  checkWriteCondition(headers, input.key, bucket.versions.get(input.key)?.[0]);
  const objectHeaders = objectHeadersFrom(headers);
  const metadata = metadataFrom(headers);
  const storageClass = storageClassFrom(headers);
  let received: Awaited<ReturnType<typeof receivePayload>> | undefined;
  const staged = await settings.store.stage(async (write) => {
    received = await receivePayload(headers, request.body, request.signing, write);
  });
  if (received === undefined) throw new S3Error('InternalError', 'the body was not received');
  const version = (await commitObject(
    settings,
    input,
    { staged, ...received, headers: objectHeaders, metadata, storageClass, lock },
    (current) => checkWriteCondition(headers, input.key, current.versions.get(input.key)?.[0]),
  )) as ObjectVersion;
  return emptyResponse(input.requestId, 200, {
    etag: etagOf(version),
    'x-amz-server-side-encryption': 'AES256',
    ...checksumHeaders(version),
    ...versionHeader(bucket.record, version.versionId),
  });
}

/** `x-amz-copy-source`: `[/]bucket/key[?versionId=…]`, URL-encoded. */
export function parseCopySource(header: string): {
  bucket: string;
  key: string;
  versionId: string | undefined;
} {
  const queryAt = header.indexOf('?');
  const path = queryAt < 0 ? header : header.slice(0, queryAt);
  const target = parseTarget(path.startsWith('/') ? path : `/${path}`);
  if (target.bucket === undefined || target.key === undefined) {
    throw new S3Error(
      'InvalidArgument',
      'Copy Source must mention the source bucket and key: sourcebucket/sourcekey',
      {
        details: { ArgumentName: 'x-amz-copy-source', ArgumentValue: header },
      },
    );
  }
  const query = new URLSearchParams(queryAt < 0 ? '' : header.slice(queryAt + 1));
  const versionId = query.get('versionId') ?? undefined;
  return { bucket: target.bucket, key: target.key, versionId };
}

function checkCopyConditions(headers: Readonly<Record<string, string>>, source: ObjectVersion): void {
  const ifMatch = headers['x-amz-copy-source-if-match'];
  if (ifMatch !== undefined && !etagMatches(ifMatch, etagOf(source))) {
    throw preconditionFailed('x-amz-copy-source-If-Match');
  }
  const ifNoneMatch = headers['x-amz-copy-source-if-none-match'];
  if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, etagOf(source))) {
    throw preconditionFailed('x-amz-copy-source-If-None-Match');
  }
}

async function copyBytes(handle: FileHandle, write: (chunk: Buffer) => Promise<void>): Promise<void> {
  for await (const chunk of handle.createReadStream({ autoClose: false })) await write(chunk as Buffer);
}

export async function copyObject(settings: EngineSettings, input: OperationInput): Promise<S3Response> {
  const { request } = input;
  const headers = request.headers;
  await drain(request.body);
  const destination = requireBucket(settings, input.bucket);
  checkKey(input.key);
  const source = parseCopySource(headers['x-amz-copy-source'] ?? '');
  requireBucket(settings, source.bucket);
  const directive = headers['x-amz-metadata-directive'] ?? 'COPY';
  if (directive !== 'COPY' && directive !== 'REPLACE') {
    throw new S3Error('InvalidArgument', 'Unknown metadata directive.');
  }
  const lock = requestedLock(headers, destination.record, settings.now());
  const opened = await settings.store.openObject(source.bucket, (bucket) => {
    if (source.versionId !== undefined) checkVersionId(source.versionId);
    const versions = bucket.versions.get(source.key) ?? [];
    const named =
      source.versionId === undefined ? versions[0] : versions.find((v) => v.versionId === source.versionId);
    if (named?.kind === 'deleteMarker' && source.versionId !== undefined) {
      throw new S3Error(
        'InvalidRequest',
        'The source of a copy request may not specifically refer to a delete marker by version id.',
      );
    }
    return pickObject(bucket, source.key, source.versionId);
  });
  const sourceVersion = opened.version;
  const content = opened.content;
  try {
    checkCopyConditions(headers, sourceVersion);
    const sameObject = source.bucket === input.bucket && source.key === input.key;
    if (
      sameObject &&
      directive === 'COPY' &&
      headers['x-amz-storage-class'] === undefined &&
      lock.retention === undefined &&
      lock.legalHold === undefined
    ) {
      throw new S3Error(
        'InvalidRequest',
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
      );
    }
    const staged = await settings.store.stage((write) => copyBytes(content, write));
    const version = (await commitObject(
      settings,
      input,
      {
        staged,
        size: sourceVersion.size,
        md5Hex: sourceVersion.md5Hex,
        checksum: sourceVersion.checksum,
        headers: directive === 'COPY' ? sourceVersion.headers : objectHeadersFrom(headers),
        metadata: directive === 'COPY' ? sourceVersion.metadata : metadataFrom(headers),
        storageClass:
          headers['x-amz-storage-class'] === undefined
            ? sourceVersion.storageClass
            : storageClassFrom(headers),
        lock,
      },
      (bucket) => checkWriteCondition(headers, input.key, bucket.versions.get(input.key)?.[0]),
    )) as ObjectVersion;
    const sourceBucket = requireBucket(settings, source.bucket).record;
    return xmlResponse(
      input.requestId,
      'CopyObjectResult',
      {
        ETag: etagOf(version),
        LastModified: version.lastModified,
        [`Checksum${version.checksum.algorithm}`]: version.checksum.value,
        ChecksumType: 'FULL_OBJECT',
      },
      {
        'x-amz-server-side-encryption': 'AES256',
        ...versionHeader(destination.record, version.versionId),
        ...(isVersioned(sourceBucket) ? { 'x-amz-copy-source-version-id': sourceVersion.versionId } : {}),
      },
    );
  } finally {
    await content.close();
  }
}

type ByteRange = { readonly start: number; readonly end: number };

/** A single `bytes=` range as S3 honours it; undefined when the header is absent or not one S3 reads. */
function parseRange(header: string | undefined, size: number): ByteRange | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null || (match[1] === '' && match[2] === '')) return undefined;
  const unsatisfiable = () =>
    new S3Error('InvalidRange', 'The requested range is not satisfiable', {
      details: { RangeRequested: header, ActualObjectSize: String(size) },
      headers: { 'content-range': `bytes */${size}` },
    });
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const last = match[2] === '' ? size - 1 : Number(match[2]);
  // `bytes=5-2` is not a range S3 reads: the whole object is sent.
  if (match[2] !== '' && last < start) return undefined;
  if (start >= size) throw unsatisfiable();
  return { start, end: Math.min(last, size - 1) };
}

/** If-Match / If-Unmodified-Since fail with 412; If-None-Match / If-Modified-Since with 304. */
function checkReadConditions(headers: Readonly<Record<string, string>>, version: ObjectVersion): void {
  const etag = etagOf(version);
  const modified = Math.floor(Date.parse(version.lastModified) / 1000) * 1000;
  const since = (name: string) => {
    const value = headers[name];
    const time = value === undefined ? Number.NaN : Date.parse(value);
    return Number.isNaN(time) ? undefined : time;
  };
  const ifMatch = headers['if-match'];
  if (ifMatch !== undefined) {
    if (!etagMatches(ifMatch, etag)) throw preconditionFailed('If-Match');
  } else {
    const unmodifiedSince = since('if-unmodified-since');
    if (unmodifiedSince !== undefined && modified > unmodifiedSince)
      throw preconditionFailed('If-Unmodified-Since');
  }
  const notModified = () =>
    new S3Error('NotModified', 'Not Modified', {
      headers: { etag, 'last-modified': httpDate(version.lastModified) },
    });
  const ifNoneMatch = headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    if (etagMatches(ifNoneMatch, etag)) throw notModified();
  } else {
    const modifiedSince = since('if-modified-since');
    if (modifiedSince !== undefined && modified <= modifiedSince) throw notModified();
  }
}

/** `response-content-type` and friends override the stored headers on GET. */
const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'content-type',
  'response-content-language': 'content-language',
  'response-expires': 'expires',
  'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
};

function objectHeaders(
  record: BucketRecord,
  version: ObjectVersion,
  input: OperationInput,
): Record<string, string> {
  const stored = version.headers;
  const headers: Record<string, string> = {
    etag: etagOf(version),
    'last-modified': httpDate(version.lastModified),
    'accept-ranges': 'bytes',
    'content-type': stored.contentType,
    'x-amz-server-side-encryption': 'AES256',
    ...versionHeader(record, version.versionId),
  };
  const optional: [string, string | undefined][] = [
    ['content-encoding', stored.contentEncoding],
    ['content-disposition', stored.contentDisposition],
    ['content-language', stored.contentLanguage],
    ['cache-control', stored.cacheControl],
    ['expires', stored.expires],
    ['x-amz-object-lock-mode', version.retention?.mode],
    ['x-amz-object-lock-retain-until-date', version.retention?.retainUntil],
    [
      'x-amz-object-lock-legal-hold',
      version.legalHold === undefined ? undefined : version.legalHold ? 'ON' : 'OFF',
    ],
    ['x-amz-storage-class', version.storageClass === 'STANDARD' ? undefined : version.storageClass],
  ];
  for (const [name, value] of optional) if (value !== undefined) headers[name] = value;
  for (const [name, value] of Object.entries(version.metadata)) headers[`x-amz-meta-${name}`] = value;
  for (const [parameter, header] of Object.entries(RESPONSE_OVERRIDES)) {
    const value = input.query.get(parameter);
    if (value !== undefined) headers[header] = value;
  }
  return headers;
}

/** GetObject and HeadObject: the same resolution, conditions and headers; HEAD sends no bytes. */
export async function getObject(settings: EngineSettings, input: OperationInput): Promise<S3Response> {
  const bucket = requireBucket(settings, input.bucket);
  const versionId = input.query.get('versionId');
  const { version, content: handle } = await settings.store.openObject(input.bucket, (state) =>
    pickObject(state, input.key, versionId),
  );
  try {
    checkReadConditions(input.request.headers, version);
    const range = parseRange(input.request.headers.range, version.size);
    const headers = objectHeaders(bucket.record, version, input);
    if (range === undefined && input.request.headers['x-amz-checksum-mode']?.toUpperCase() === 'ENABLED') {
      Object.assign(headers, checksumHeaders(version));
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? version.size - 1;
    headers['content-length'] = String(end - start + 1);
    if (range !== undefined) headers['content-range'] = `bytes ${start}-${end}/${version.size}`;
    const status = range === undefined ? 200 : 206;
    if (input.request.method === 'HEAD' || version.size === 0) {
      await handle.close();
      return withBase(input.requestId, status, headers, input.request.method === 'HEAD' ? undefined : '');
    }
    return withBase(
      input.requestId,
      status,
      headers,
      handle.createReadStream({ start, end, autoClose: true }),
    );
  } catch (error) {
    await handle.close();
    throw error;
  }
}

export interface DeleteOutcome {
  readonly versionId: string | undefined;
  readonly deleteMarker: boolean;
}

/**
 * DeleteObject's rules, shared with DeleteObjects: without a version id a versioned bucket gets a
 * delete marker (any protected version stays); with one, that version goes for good unless Object
 * Lock protects it.
 */
export async function deleteOne(
  settings: EngineSettings,
  bucketName: string,
  key: string,
  versionId: string | undefined,
  bypassGovernance: boolean,
): Promise<DeleteOutcome> {
  const bucket = requireBucket(settings, bucketName);
  if (versionId !== undefined) {
    checkVersionId(versionId);
    const removed = await settings.store.removeVersion(bucketName, key, versionId, (version) =>
      checkVersionDeletion(version, bypassGovernance, settings.now()),
    );
    return { versionId, deleteMarker: removed?.kind === 'deleteMarker' };
  }
  if (!isVersioned(bucket.record)) {
    await settings.store.removeVersion(bucketName, key, NULL_VERSION_ID, () => undefined);
    return { versionId: undefined, deleteMarker: false };
  }
  const marker = await settings.store.commit(bucketName, undefined, (state) => {
    const now = settings.now();
    return {
      kind: 'deleteMarker',
      key,
      versionId: state.record.versioning === VersioningStatus.enabled ? newVersionId() : NULL_VERSION_ID,
      sequence: settings.store.nextSequence(),
      lastModified: now.toISOString(),
    };
  });
  return { versionId: marker.versionId, deleteMarker: true };
}

export async function deleteObject(settings: EngineSettings, input: OperationInput): Promise<S3Response> {
  await drain(input.request.body);
  const outcome = await deleteOne(
    settings,
    input.bucket,
    input.key,
    input.query.get('versionId'),
    bypassesGovernance(input.request.headers),
  );
  return emptyResponse(input.requestId, 204, {
    ...(outcome.versionId === undefined ? {} : { 'x-amz-version-id': outcome.versionId }),
    ...(outcome.deleteMarker ? { 'x-amz-delete-marker': 'true' } : {}),
  });
}

function parseDeleteDocument(text: string): {
  quiet: boolean;
  objects: { key: string; versionId?: string }[];
} {
  const document = parseXmlDocument(text, 'Delete');
  const entries = document.Object;
  if (!Array.isArray(entries) || entries.length === 0 || entries.length > 1000) throw malformedXml();
  const objects = entries.map((entry) => {
    if (typeof entry !== 'object' || entry === null) throw malformedXml();
    const element = entry as Record<string, unknown>;
    const key = element.Key;
    if (typeof key !== 'string') throw malformedXml();
    const versionId = childText(element, 'VersionId');
    return versionId === undefined ? { key } : { key, versionId };
  });
  const quiet = childText(document, 'Quiet');
  if (quiet !== undefined && quiet !== 'true' && quiet !== 'false') throw malformedXml();
  return { quiet: quiet === 'true', objects };
}

export async function deleteObjects(settings: EngineSettings, input: OperationInput): Promise<S3Response> {
  const headers = input.request.headers;
  requireBucket(settings, input.bucket);
  if (headers['content-md5'] === undefined && declaredChecksum(headers) === undefined) {
    throw new S3Error('InvalidRequest', 'Missing required header for this request: Content-Md5');
  }
  const { text } = await readSmallPayload(
    headers,
    input.request.body,
    input.request.signing,
    MAX_DELETE_DOCUMENT_BYTES,
  );
  const { quiet, objects } = parseDeleteDocument(text);
  const bypass = bypassesGovernance(headers);
  const deleted: XmlObject[] = [];
  const errors: XmlObject[] = [];
  for (const { key, versionId } of objects) {
    try {
      input.authorize(versionId === undefined ? 's3:DeleteObject' : 's3:DeleteObjectVersion', key);
      if (bypass) input.authorize('s3:BypassGovernanceRetention', key);
      const outcome = await deleteOne(settings, input.bucket, key, versionId, bypass);
      if (quiet) continue;
      deleted.push({
        Key: key,
        VersionId: versionId,
        ...(outcome.deleteMarker ? { DeleteMarker: true } : {}),
        ...(outcome.deleteMarker && versionId === undefined
          ? { DeleteMarkerVersionId: outcome.versionId }
          : {}),
      });
    } catch (error) {
      if (!(error instanceof S3Error)) throw error;
      errors.push({ Key: key, VersionId: versionId, Code: error.code, Message: error.message });
    }
  }
  return xmlResponse(input.requestId, 'DeleteResult', { Deleted: deleted, Error: errors });
}
