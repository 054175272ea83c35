/**
 * The archive objects a query reads, as local files DuckDB can open: the current version of every
 * object under the table's location in the twin's S3 (through the engine's read-only reader, so a
 * version that is not current, or hidden by a delete marker, is never read), copied once into a
 * cache directory under its own key (so `dt=…/hour=…/` stays in the path for hive partitioning)
 * and replaced when the current version changes.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Where a table's data lives: `s3://<bucket>/<prefix>`. */
export interface TableLocation {
  readonly bucket: string;
  readonly prefix: string;
}

export function parseS3Location(location: string): TableLocation | undefined {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(location);
  return match === null ? undefined : { bucket: match[1]!, prefix: match[2]! };
}

export interface ArchiveFiles {
  readonly paths: readonly string[];
  /** Stored (compressed) bytes of those files: what a scan of the whole table reads. */
  readonly bytes: number;
}

/**
 * What the cache reads of the twin's S3: current objects and their bytes by version. The S3
 * engine's read-only reader (local/aws/s3/reader.ts) is one; the composition hands it over, so
 * Athena depends on no other service's code.
 */
export interface ArchiveObjectSource {
  listBuckets(): readonly { readonly name: string }[];
  /** Current objects only (a delete marker hides its key). */
  listObjects(
    bucket: string,
    options?: { prefix?: string },
  ): readonly { readonly key: string; readonly versionId: string; readonly size: number }[];
  readObject(bucket: string, key: string, versionId?: string): Promise<{ body: Readable }>;
}

const MANIFEST = 'manifest.json';
const DATA = 'objects';

/** Only keys that are safe as relative paths are copied: nothing climbs out of the cache. */
function isSafeKey(key: string): boolean {
  return key.split('/').every((part) => part !== '' && part !== '.' && part !== '..') && !key.includes('\\');
}

export class ArchiveFileCache {
  readonly #directory: string;
  readonly #reader: ArchiveObjectSource;
  readonly #location: TableLocation;
  #manifest: Record<string, string> | undefined;

  constructor(options: { directory: string; reader: ArchiveObjectSource; location: TableLocation }) {
    this.#directory = options.directory;
    this.#reader = options.reader;
    this.#location = options.location;
  }

  /** The directory every file lives under (DuckDB may read only there). */
  get root(): string {
    return join(this.#directory, DATA);
  }

  async #loadManifest(): Promise<Record<string, string>> {
    if (this.#manifest !== undefined) return this.#manifest;
    try {
      this.#manifest = JSON.parse(await readFile(join(this.#directory, MANIFEST), 'utf8')) as Record<
        string,
        string
      >;
    } catch {
      // No manifest (or a torn one): start over, every object is copied again.
      await rm(this.root, { recursive: true, force: true });
      this.#manifest = {};
    }
    return this.#manifest;
  }

  /** Brings the cache to the current versions and lists their files. */
  async sync(): Promise<ArchiveFiles> {
    const manifest = await this.#loadManifest();
    const bucketExists = this.#reader.listBuckets().some((bucket) => bucket.name === this.#location.bucket);
    const current = bucketExists
      ? this.#reader
          .listObjects(this.#location.bucket, { prefix: this.#location.prefix })
          .filter((object) => object.key.endsWith('.gz') && isSafeKey(object.key))
      : [];
    const currentKeys = new Set(current.map((object) => object.key));
    let changed = false;
    for (const key of Object.keys(manifest)) {
      if (currentKeys.has(key)) continue;
      await rm(join(this.root, key), { force: true });
      delete manifest[key];
      changed = true;
    }
    let bytes = 0;
    for (const object of current) {
      bytes += object.size;
      if (manifest[object.key] === object.versionId) continue;
      const path = join(this.root, object.key);
      await mkdir(dirname(path), { recursive: true });
      const { body } = await this.#reader.readObject(this.#location.bucket, object.key, object.versionId);
      const partial = `${path}.partial`;
      await pipeline(body, createWriteStream(partial));
      await rename(partial, path);
      manifest[object.key] = object.versionId;
      changed = true;
    }
    if (changed) {
      await mkdir(this.#directory, { recursive: true });
      const temporary = join(this.#directory, `${MANIFEST}.partial`);
      await writeFile(temporary, JSON.stringify(manifest));
      await rename(temporary, join(this.#directory, MANIFEST));
    }
    return { paths: current.map((object) => join(this.root, object.key)), bytes };
  }
}
