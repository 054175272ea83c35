/**
 * The digester: every run (scheduled, one at a time) writes the next signed digest, naming every
 * archive object written since the previous digest, even when there is none.
 *
 * How it knows what is new without trusting a mutable index: it lists the archive itself (S3's
 * versions, by LastModified) and takes the earlier digests as the record of what was named. The
 * digests are immutable, signed and chained, so "not named yet" is read from them, not from a table
 * the system could rewrite. A run names each version that
 *   - is visible now, is not a delete marker, was written before the run's `to` (its clock), and
 *   - was written no earlier than `lookbackSeconds` before `from` (the previous digest's `to`), and
 *   - is not named by a digest whose window reaches into that lookback.
 * An object that S3 had timestamped but not yet listed when the previous run listed (a write in
 * flight: LastModified is when the write began) is therefore named by the next run, as long as no
 * write takes longer than the lookback (the archiver's timeout bounds it). The verifier checks the
 * same rule from the other side: any version older than the last digest's reach that no digest
 * names is reported.
 *
 * Concurrent runs (a retry racing a scheduled run) compute the same next key, since the key is
 * the previous digest's `to` and the next sequence, and the archive creates it once: the loser
 * finds the sequence written and stops, so the chain never forks.
 */
import {
  ARCHIVE_PREFIX,
  type AuditDigest,
  archivePrefix,
  DIGEST_PREFIX,
  DIGEST_SCHEMA_VERSION,
  DIGEST_SIGNATURE_ALGORITHM,
  type DigestedObject,
  digestKey,
  digestSigningInput,
  partitionOf,
  type StoredDigest,
  serializeDigest,
  UnsignedDigest,
} from '../domain/audit-archive.ts';
import { ArchiveConflictError } from '../domain/errors.ts';
import type { ArchiveVersion, AuditArchive, Clock, Es256Signer } from '../ports/index.ts';
import { readDigest, scanArchiveObject } from './archive-objects.ts';

export const DIGEST_CONTENT_TYPE = 'application/json';
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** How many archive objects are read at once. */
const READ_CONCURRENCY = 4;

export interface WriteAuditDigestDeps {
  readonly archive: AuditArchive;
  readonly signer: Es256Signer;
  readonly clock: Clock;
  readonly bucket: string;
  readonly retentionDays: number;
  /** Longer than any archive write can take (the archiver's timeout, with room). */
  readonly lookbackSeconds: number;
  /**
   * How long after a record's `at` it can still be archived (the stream's retention): objects
   * written in the window may sit in partitions this old.
   */
  readonly maxRecordDelaySeconds: number;
}

export interface WriteAuditDigestResult {
  readonly key: string;
  readonly digest: AuditDigest;
  /** False when another run wrote this sequence first (or the same bytes); the chain goes on from theirs. */
  readonly written: boolean;
}

async function lastKey(keys: AsyncIterable<string>): Promise<string | undefined> {
  let last: string | undefined;
  for await (const key of keys) last = key;
  return last;
}

/** The newest digest: keys sort by their window's day, then sequence; usually among the last two days. */
async function latestDigestKey(archive: AuditArchive, now: Date): Promise<string | undefined> {
  const recent = `${DIGEST_PREFIX}dt=${new Date(now.getTime() - 2 * DAY_MS).toISOString().slice(0, 10)}`;
  return (
    (await lastKey(archive.keys(DIGEST_PREFIX, { startAfter: recent }))) ??
    lastKey(archive.keys(DIGEST_PREFIX))
  );
}

const versionName = (key: string, versionId: string) => `${key}\u0000${versionId}`;

/** Versions the digests reaching back to `since` name (the previous digest and as many before it as reach). */
async function namedSince(
  archive: AuditArchive,
  previous: StoredDigest,
  since: number,
): Promise<Set<string>> {
  const named = new Set<string>();
  let digest: AuditDigest | undefined = previous.digest;
  while (digest !== undefined && Date.parse(digest.to) > since) {
    for (const object of digest.objects) named.add(versionName(object.key, object.versionId));
    digest = digest.previous === null ? undefined : (await readDigest(archive, digest.previous.key)).digest;
  }
  return named;
}

/** Archive versions whose records can be from `since` on: the day partitions from its day to `until`'s. */
async function* versionsFrom(
  archive: AuditArchive,
  since: number,
  until: number,
): AsyncIterable<ArchiveVersion> {
  const start = partitionOf(new Date(since));
  for (let day = Date.parse(`${start.dt}T00:00:00.000Z`); day <= until; day += DAY_MS) {
    const dt = new Date(day).toISOString().slice(0, 10);
    // The first day from its hour on: `…/hour=HH` sorts just before that hour's keys.
    const startAfterKey = dt === start.dt ? `${archivePrefix(dt)}hour=${start.hour}` : undefined;
    yield* archive.versions(archivePrefix(dt), startAfterKey === undefined ? {} : { startAfterKey });
  }
}

async function describe(archive: AuditArchive, version: ArchiveVersion): Promise<DigestedObject> {
  const object = await archive.open(version.key, version.versionId);
  const scan = await scanArchiveObject(object.body);
  return {
    key: version.key,
    versionId: version.versionId,
    sha256: scan.sha256,
    bytes: scan.bytes,
    recordCount: scan.recordCount,
    firstRecordAt: scan.firstRecordAt,
    lastRecordAt: scan.lastRecordAt,
    lastModified: version.lastModified.toISOString(),
  };
}

async function describeAll(
  archive: AuditArchive,
  versions: readonly ArchiveVersion[],
): Promise<DigestedObject[]> {
  const described: DigestedObject[] = new Array(versions.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < versions.length; index = next++) {
      described[index] = await describe(archive, versions[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, versions.length) }, worker));
  return described;
}

export async function writeAuditDigest(deps: WriteAuditDigestDeps): Promise<WriteAuditDigestResult> {
  const { archive } = deps;
  const now = deps.clock.now();
  const previousKey = await latestDigestKey(archive, now);
  const previous = previousKey === undefined ? undefined : await readDigest(archive, previousKey);

  const lookbackMs = deps.lookbackSeconds * 1000;
  let candidates: ArchiveVersion[] = [];
  let from: string;
  let to: string;
  if (previous === undefined) {
    // The first digest names everything written so far.
    to = now.toISOString();
    for await (const version of archive.versions(ARCHIVE_PREFIX)) {
      if (!version.deleteMarker && version.lastModified.getTime() < now.getTime()) candidates.push(version);
    }
    from = candidates.reduce((earliest, version) => {
      const at = version.lastModified.toISOString();
      return at < earliest ? at : earliest;
    }, to);
  } else {
    from = previous.digest.to;
    to = new Date(Math.max(now.getTime(), Date.parse(from))).toISOString();
    const since = Date.parse(from) - lookbackMs;
    const named = await namedSince(archive, previous, since);
    // Records are archived at most maxRecordDelay after their `at`, and clocks differ by less than an hour.
    const oldestRecord = since - deps.maxRecordDelaySeconds * 1000 - HOUR_MS;
    for await (const version of versionsFrom(archive, oldestRecord, Date.parse(to) + HOUR_MS)) {
      const written = version.lastModified.getTime();
      if (version.deleteMarker || written < since || written >= Date.parse(to)) continue;
      if (!named.has(versionName(version.key, version.versionId))) candidates.push(version);
    }
  }
  candidates = candidates.sort((a, b) =>
    a.key < b.key ? -1 : a.key > b.key ? 1 : a.versionId < b.versionId ? -1 : 1,
  );

  // Checked before it is signed: a digest the verifier's schema refuses is never written.
  const unsigned = UnsignedDigest.parse({
    schemaVersion: DIGEST_SCHEMA_VERSION,
    sequence: previous === undefined ? 1 : previous.digest.sequence + 1,
    bucket: deps.bucket,
    from,
    to,
    lookbackSeconds: deps.lookbackSeconds,
    previous:
      previous === undefined
        ? null
        : { key: previous.key, sha256: previous.sha256, signature: previous.digest.signature },
    objects: await describeAll(archive, candidates),
    signingKeyId: deps.signer.keyId,
    signingKeyThumbprint: await deps.signer.thumbprint(),
    signatureAlgorithm: DIGEST_SIGNATURE_ALGORITHM,
  } satisfies UnsignedDigest);
  const signature = Buffer.from(await deps.signer.sign(digestSigningInput(unsigned))).toString('base64url');
  const digest: AuditDigest = { ...unsigned, signature };
  const key = digestKey(from, digest.sequence);
  try {
    const { created } = await archive.create(key, serializeDigest(digest), {
      contentType: DIGEST_CONTENT_TYPE,
      retainUntil: new Date(now.getTime() + deps.retentionDays * DAY_MS),
    });
    // Not created: the very same digest is there already (a signer that signs deterministically).
    return { key, digest, written: created };
  } catch (error) {
    if (error instanceof ArchiveConflictError) return { key, digest, written: false };
    throw error;
  }
}
