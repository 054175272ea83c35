/**
 * The audit archive on S3: objects are created once (`If-None-Match: *`), with their SHA-256 sent as
 * `x-amz-checksum-sha256` (S3 refuses bytes that do not match it) and COMPLIANCE retention, so
 * nobody, root included, can delete or shorten them until it ends. A retried create meets its own
 * object (412) and succeeds only when S3's stored checksum is the same; any other content under the
 * key is a conflict, never overwritten. Listings and reads stream page by page.
 */
import { createHash } from 'node:crypto';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ArchiveConflictError, NotFoundError } from '../../domain/errors.ts';
import type { ArchiveObject, ArchiveVersion, AuditArchive } from '../../ports/index.ts';

export interface S3AuditArchiveOptions {
  readonly client: Pick<S3Client, 'send'>;
  readonly bucket: string;
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/** S3 orders keys by their UTF-8 bytes, and a key's versions newest first. */
function byKeyThenNewest(a: ArchiveVersion, b: ArchiveVersion): number {
  return (
    Buffer.compare(Buffer.from(a.key, 'utf8'), Buffer.from(b.key, 'utf8')) ||
    Number(b.isLatest) - Number(a.isLatest) ||
    b.lastModified.getTime() - a.lastModified.getTime()
  );
}

export class S3AuditArchive implements AuditArchive {
  readonly #client: Pick<S3Client, 'send'>;
  readonly #bucket: string;

  constructor(options: S3AuditArchiveOptions) {
    this.#client = options.client;
    this.#bucket = options.bucket;
  }

  async create(
    key: string,
    body: Uint8Array,
    options: { readonly contentType: string; readonly retainUntil: Date },
  ): Promise<{ created: boolean; versionId: string }> {
    const checksum = createHash('sha256').update(body).digest('base64');
    try {
      const written = await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          Body: body,
          ContentLength: body.byteLength,
          ContentType: options.contentType,
          // The algorithm named too: S3 requires Content-MD5 or x-amz-sdk-checksum-algorithm with Object Lock.
          ChecksumAlgorithm: 'SHA256',
          ChecksumSHA256: checksum,
          IfNoneMatch: '*',
          ObjectLockMode: 'COMPLIANCE',
          ObjectLockRetainUntilDate: options.retainUntil,
        }),
      );
      return { created: true, versionId: written.VersionId ?? 'null' };
    } catch (error) {
      if (statusOf(error) !== 412) throw error;
    }
    // Already there: ours (a retry after an answer got lost) only if S3 holds exactly these bytes.
    const stored = await this.#client.send(
      new HeadObjectCommand({ Bucket: this.#bucket, Key: key, ChecksumMode: 'ENABLED' }),
    );
    if (stored.ChecksumSHA256 !== checksum) {
      throw new ArchiveConflictError(
        `s3://${this.#bucket}/${key} already holds other content (SHA-256 ${stored.ChecksumSHA256 ?? 'unknown'}, not ${checksum}); it is never overwritten`,
      );
    }
    return { created: false, versionId: stored.VersionId ?? 'null' };
  }

  async *versions(
    prefix: string,
    options: { readonly startAfterKey?: string } = {},
  ): AsyncIterable<ArchiveVersion> {
    let keyMarker = options.startAfterKey;
    let versionIdMarker: string | undefined;
    for (;;) {
      const page = await this.#client.send(
        new ListObjectVersionsCommand({
          Bucket: this.#bucket,
          Prefix: prefix,
          ...(keyMarker === undefined ? {} : { KeyMarker: keyMarker }),
          ...(versionIdMarker === undefined ? {} : { VersionIdMarker: versionIdMarker }),
        }),
      );
      const listed: ArchiveVersion[] = [
        ...(page.Versions ?? []).map((version) => ({
          key: version.Key ?? '',
          versionId: version.VersionId ?? 'null',
          lastModified: version.LastModified ?? new Date(0),
          isLatest: version.IsLatest === true,
          deleteMarker: false,
          size: version.Size ?? 0,
        })),
        ...(page.DeleteMarkers ?? []).map((marker) => ({
          key: marker.Key ?? '',
          versionId: marker.VersionId ?? 'null',
          lastModified: marker.LastModified ?? new Date(0),
          isLatest: marker.IsLatest === true,
          deleteMarker: true,
          size: 0,
        })),
      ];
      yield* listed.sort(byKeyThenNewest);
      if (page.IsTruncated !== true) return;
      keyMarker = page.NextKeyMarker;
      versionIdMarker = page.NextVersionIdMarker;
    }
  }

  async *keys(prefix: string, options: { readonly startAfter?: string } = {}): AsyncIterable<string> {
    let continuationToken: string | undefined;
    for (;;) {
      const page = await this.#client.send(
        new ListObjectsV2Command({
          Bucket: this.#bucket,
          Prefix: prefix,
          ...(continuationToken === undefined
            ? options.startAfter === undefined
              ? {}
              : { StartAfter: options.startAfter }
            : { ContinuationToken: continuationToken }),
        }),
      );
      for (const object of page.Contents ?? []) if (object.Key !== undefined) yield object.Key;
      if (page.IsTruncated !== true) return;
      continuationToken = page.NextContinuationToken;
    }
  }

  async open(key: string, versionId?: string): Promise<ArchiveObject> {
    try {
      const object = await this.#client.send(
        new GetObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          ...(versionId === undefined ? {} : { VersionId: versionId }),
        }),
      );
      return {
        versionId: object.VersionId ?? 'null',
        lastModified: object.LastModified ?? new Date(0),
        body: object.Body as AsyncIterable<Uint8Array>,
      };
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'NoSuchKey' || name === 'NoSuchVersion' || statusOf(error) === 404) {
        throw new NotFoundError(
          `s3://${this.#bucket}/${key}${versionId === undefined ? '' : ` version ${versionId}`} does not exist`,
          { cause: error },
        );
      }
      throw error;
    }
  }
}
