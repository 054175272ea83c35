/**
 * The S3 engine's persistence under one directory:
 *
 *   <root>/<bucket>/bucket.json                      the bucket's configuration
 *   <root>/<bucket>/versions/<sha256(key)>/<id>.json one file per version or delete marker
 *   <root>/<bucket>/data/<storageId>                 an object version's bytes
 *   <root>/.staging/                                 bodies and records being written
 *
 * Nothing is ever half-visible: bytes stream to `.staging`, are fsynced and renamed into `data/`;
 * only then is the version record written the same way (temp file, fsync, rename, fsync of the
 * directory), and a version exists once its record does. A bucket is built in `.staging` and
 * renamed into place whole. What a crash leaves behind (staged files, content without a record) is
 * swept at the next start. The index of versions is held in memory and changed only under the
 * bucket's lock, after the disk, so concurrent writers to one key never interleave.
 */
import { createHash, randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, readdir, readFile, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CountersignError } from '../../../lambdas/domain/errors.ts';
import { S3Error } from './errors.ts';
import { BucketRecord, type ObjectVersion, VersionRecord } from './model.ts';

const STAGING = '.staging';
const BUCKET_FILE = 'bucket.json';

/** A stored record that does not read back as one: the twin refuses to start rather than guess. */
export class S3StoreCorruptError extends CountersignError {}

/** Serializes async work per key; different keys run concurrently. */
class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.#tails.set(key, tail);
    await previous;
    try {
      return await work();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}

async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function exists(path: string): Promise<boolean> {
  return open(path, 'r').then(
    async (handle) => {
      await handle.close();
      return true;
    },
    () => false,
  );
}

async function listDirectory(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

const keyDirectory = (key: string) => createHash('sha256').update(key, 'utf8').digest('hex');

/** UTF-8 byte order, the order S3 lists keys in (JavaScript's own order differs past U+FFFF). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export interface BucketState {
  readonly record: BucketRecord;
  /** Each key's versions, newest first. */
  readonly versions: ReadonlyMap<string, readonly VersionRecord[]>;
  /** Keys in UTF-8 byte order. */
  sortedKeys(): readonly string[];
}

class MutableBucket implements BucketState {
  record: BucketRecord;
  readonly versions = new Map<string, VersionRecord[]>();
  #sorted: string[] | undefined;

  constructor(record: BucketRecord) {
    this.record = record;
  }

  sortedKeys(): readonly string[] {
    this.#sorted ??= [...this.versions.keys()].sort(compareKeys);
    return this.#sorted;
  }

  put(version: VersionRecord): void {
    const list = this.versions.get(version.key);
    if (list === undefined) {
      this.versions.set(version.key, [version]);
      this.#sorted = undefined;
      return;
    }
    const others = list.filter((existing) => existing.versionId !== version.versionId);
    others.push(version);
    others.sort((a, b) => b.sequence - a.sequence);
    this.versions.set(version.key, others);
  }

  remove(key: string, versionId: string): void {
    const remaining = (this.versions.get(key) ?? []).filter((version) => version.versionId !== versionId);
    if (remaining.length > 0) {
      this.versions.set(key, remaining);
    } else if (this.versions.delete(key)) {
      this.#sorted = undefined;
    }
  }
}

/** Bytes staged for a new version: renamed into the bucket when the version is committed. */
export interface StagedContent {
  readonly storageId: string;
  readonly path: string;
}

export class S3Store {
  readonly #root: string;
  readonly #buckets = new Map<string, MutableBucket>();
  readonly #locks = new KeyedMutex();
  #sequence = 0;

  private constructor(root: string) {
    this.#root = root;
  }

  /** Opens (creating when needed) the store under `root`, sweeping what a crash left behind. */
  static async open(root: string): Promise<S3Store> {
    const store = new S3Store(root);
    await rm(join(root, STAGING), { recursive: true, force: true });
    await mkdir(join(root, STAGING), { recursive: true });
    for (const name of await listDirectory(root)) {
      if (name === STAGING) continue;
      await store.#load(name);
    }
    return store;
  }

  async #readRecord<T>(path: string, schema: { parse(value: unknown): T }): Promise<T> {
    try {
      return schema.parse(JSON.parse(await readFile(path, 'utf8')));
    } catch (error) {
      throw new S3StoreCorruptError(`the S3 record ${path} cannot be read: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  async #load(name: string): Promise<void> {
    const directory = join(this.#root, name);
    if (!(await exists(join(directory, BUCKET_FILE)))) return;
    const bucket = new MutableBucket(await this.#readRecord(join(directory, BUCKET_FILE), BucketRecord));
    const referenced = new Set<string>();
    for (const keyDir of await listDirectory(join(directory, 'versions'))) {
      for (const file of await listDirectory(join(directory, 'versions', keyDir))) {
        if (!file.endsWith('.json')) continue;
        const version = await this.#readRecord(join(directory, 'versions', keyDir, file), VersionRecord);
        bucket.put(version);
        if (version.kind === 'object') referenced.add(version.storageId);
        this.#sequence = Math.max(this.#sequence, version.sequence + 1);
      }
    }
    // Content whose record was never written (a crash between the two) or whose record was removed.
    for (const file of await listDirectory(join(directory, 'data'))) {
      if (!referenced.has(file)) await rm(join(directory, 'data', file), { force: true });
    }
    this.#buckets.set(bucket.record.name, bucket);
  }

  #stagingPath(): string {
    return join(this.#root, STAGING, randomBytes(12).toString('hex'));
  }

  async #writeFileAtomic(path: string, text: string): Promise<void> {
    const temporary = this.#stagingPath();
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  }

  bucket(name: string): BucketState | undefined {
    return this.#buckets.get(name);
  }

  buckets(): BucketState[] {
    return [...this.#buckets.values()].sort((a, b) => compareKeys(a.record.name, b.record.name));
  }

  nextSequence(): number {
    const sequence = this.#sequence;
    this.#sequence += 1;
    return sequence;
  }

  /** Runs `work` while no other change to the bucket (or to the bucket's existence) runs. */
  withBucketLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    return this.#locks.run(name, work);
  }

  /**
   * Creates the bucket; when it exists already, `recreate` says whether that is fine (S3 in
   * us-east-1 answers 200 for legacy compatibility) and otherwise BucketAlreadyOwnedByYou.
   */
  async createBucket(record: BucketRecord, recreate: 'ok' | 'refuse'): Promise<void> {
    await this.withBucketLock(record.name, async () => {
      if (this.#buckets.has(record.name) && recreate === 'ok') return;
      if (this.#buckets.has(record.name)) {
        throw new S3Error(
          'BucketAlreadyOwnedByYou',
          'Your previous request to create the named bucket succeeded and you already own it.',
          { details: { BucketName: record.name } },
        );
      }
      const staged = this.#stagingPath();
      await mkdir(join(staged, 'versions'), { recursive: true });
      await mkdir(join(staged, 'data'));
      await this.#writeFileAtomic(join(staged, BUCKET_FILE), `${JSON.stringify(record, null, 2)}\n`);
      await syncDirectory(staged);
      await rename(staged, join(this.#root, record.name));
      await syncDirectory(this.#root);
      this.#buckets.set(record.name, new MutableBucket(record));
    });
  }

  /** Replaces the bucket's record with what `change` makes of it (it may throw to refuse). */
  async updateBucket(name: string, change: (record: BucketRecord) => BucketRecord): Promise<BucketRecord> {
    return this.withBucketLock(name, async () => {
      const bucket = this.#requireBucket(name);
      const next = BucketRecord.parse(change(bucket.record));
      await this.#writeFileAtomic(join(this.#root, name, BUCKET_FILE), `${JSON.stringify(next, null, 2)}\n`);
      bucket.record = next;
      return next;
    });
  }

  async deleteBucket(name: string): Promise<void> {
    await this.withBucketLock(name, async () => {
      const bucket = this.#requireBucket(name);
      if (bucket.versions.size > 0) {
        throw new S3Error('BucketNotEmpty', 'The bucket you tried to delete is not empty', {
          details: { BucketName: name },
        });
      }
      const doomed = this.#stagingPath();
      await rename(join(this.#root, name), doomed);
      this.#buckets.delete(name);
      await rm(doomed, { recursive: true, force: true });
    });
  }

  #requireBucket(name: string): MutableBucket {
    const bucket = this.#buckets.get(name);
    if (bucket === undefined) {
      throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', {
        details: { BucketName: name },
      });
    }
    return bucket;
  }

  /**
   * Streams a body into a staging file through `fill`, fsyncs it, and returns it ready to commit.
   * If `fill` throws, the staged file is removed and the error passes through.
   */
  async stage(fill: (write: (chunk: Buffer) => Promise<void>) => Promise<void>): Promise<StagedContent> {
    const path = this.#stagingPath();
    const handle = await open(path, 'wx', 0o600);
    try {
      await fill(async (chunk) => {
        let offset = 0;
        while (offset < chunk.length) {
          const { bytesWritten } = await handle.write(chunk, offset);
          offset += bytesWritten;
        }
      });
      await handle.sync();
    } catch (error) {
      await handle.close();
      await rm(path, { force: true });
      throw error;
    }
    await handle.close();
    return { storageId: randomBytes(16).toString('hex'), path };
  }

  async discard(staged: StagedContent): Promise<void> {
    await rm(staged.path, { force: true });
  }

  /**
   * Commits a version: under the bucket's lock `build` sees the bucket as it is now and returns
   * the record to write (or throws to refuse, e.g. a failed precondition). Content goes into place
   * before the record; the version that a `null` version id replaces loses its content after.
   */
  async commit(
    bucketName: string,
    staged: StagedContent | undefined,
    build: (bucket: BucketState) => VersionRecord,
  ): Promise<VersionRecord> {
    try {
      return await this.withBucketLock(bucketName, async () => {
        const bucket = this.#requireBucket(bucketName);
        const version = VersionRecord.parse(build(bucket));
        const directory = join(this.#root, bucketName);
        if (staged !== undefined) {
          await rename(staged.path, join(directory, 'data', staged.storageId));
          await syncDirectory(join(directory, 'data'));
        }
        const replaced = (bucket.versions.get(version.key) ?? []).find(
          (existing) => existing.versionId === version.versionId,
        );
        const keyDir = join(directory, 'versions', keyDirectory(version.key));
        await mkdir(keyDir, { recursive: true });
        await this.#writeFileAtomic(
          join(keyDir, `${version.versionId}.json`),
          `${JSON.stringify(version)}\n`,
        );
        await syncDirectory(keyDir);
        bucket.put(version);
        if (replaced?.kind === 'object')
          await rm(join(directory, 'data', replaced.storageId), { force: true });
        return version;
      });
    } catch (error) {
      if (staged !== undefined) await this.discard(staged);
      throw error;
    }
  }

  /** Rewrites one version's record (retention, legal hold): `pick` finds it, `change` makes the new one. */
  async updateVersion(
    bucketName: string,
    pick: (bucket: BucketState) => VersionRecord,
    change: (version: VersionRecord) => VersionRecord,
  ): Promise<VersionRecord> {
    return this.withBucketLock(bucketName, async () => {
      const current = pick(this.#requireBucket(bucketName));
      const next = VersionRecord.parse(change(current));
      if (next.key !== current.key || next.versionId !== current.versionId) {
        throw new CountersignError('a version update must keep the key and version id');
      }
      const keyDir = join(this.#root, bucketName, 'versions', keyDirectory(next.key));
      await this.#writeFileAtomic(join(keyDir, `${next.versionId}.json`), `${JSON.stringify(next)}\n`);
      this.#requireBucket(bucketName).put(next);
      return next;
    });
  }

  /**
   * Removes one version for good, after `check` (run under the lock on the version as it is now)
   * allowed it. Returns the removed record, undefined when there was none.
   */
  async removeVersion(
    bucketName: string,
    key: string,
    versionId: string,
    check: (version: VersionRecord) => void,
  ): Promise<VersionRecord | undefined> {
    return this.withBucketLock(bucketName, async () => {
      const bucket = this.#requireBucket(bucketName);
      const version = (bucket.versions.get(key) ?? []).find((v) => v.versionId === versionId);
      if (version === undefined) return undefined;
      check(version);
      const keyDir = join(this.#root, bucketName, 'versions', keyDirectory(key));
      await rm(join(keyDir, `${versionId}.json`), { force: true });
      await syncDirectory(keyDir);
      bucket.remove(key, versionId);
      if (version.kind === 'object') {
        await rm(join(this.#root, bucketName, 'data', version.storageId), { force: true });
      }
      if (!bucket.versions.has(key)) await rmdir(keyDir).catch(() => undefined);
      return version;
    });
  }

  /**
   * Picks an object version under the bucket's lock and opens its bytes there too, so a writer
   * replacing it cannot remove the content in between. The open handle keeps the bytes readable
   * even if the version is removed while they are read; the caller closes it.
   */
  async openObject(
    bucketName: string,
    pick: (bucket: BucketState) => ObjectVersion,
  ): Promise<{ version: ObjectVersion; content: FileHandle }> {
    return this.withBucketLock(bucketName, async () => {
      const version = pick(this.#requireBucket(bucketName));
      const content = await open(join(this.#root, bucketName, 'data', version.storageId), 'r');
      return { version, content };
    });
  }
}
