/**
 * `countersign audit verify`: checks the archive with nothing but the bucket and the digest
 * signing key's public half, as CloudTrail's `validate-logs` does for its logs.
 *
 * 1. The digests, in key order: each one's signature; the chain (sequence without gaps, the
 *    previous digest's key, SHA-256 and signature, each window starting where the last ended); the
 *    bucket it names.
 * 2. Each object a digest in the range names: its version is still there and still the current
 *    one (else it was overwritten, or hidden by a delete marker), its bytes have the digested
 *    SHA-256 and size, its lines are that many valid audit records in the digested time span and in
 *    the object's own hour.
 * 3. Every version in the archive the digests should have named (written in their windows, older
 *    than the last one's lookback) is named; newer ones are pending and only read for step 4.
 * 4. Each request's records carry the numbers 1, 2, 3 … without a hole (RecordSequences).
 *
 * Objects stream through a hash and gunzip (never held whole); what is kept is one small entry per
 * object version and, per request, the numbers seen.
 */
import type { KeyObject } from 'node:crypto';
import {
  ARCHIVE_PREFIX,
  archivePrefix,
  chainProblems,
  DIGEST_PREFIX,
  type DigestedObject,
  digestSignatureHolds,
  parseArchiveObjectKey,
  partitionOf,
  RecordSequences,
  type StoredDigest,
} from '../domain/audit-archive.ts';
import type { ArchivedRecord } from '../domain/audit-record.ts';
import type { ArchiveVersion, AuditArchive } from '../ports/index.ts';
import { type RecordVisitor, readDigest, scanArchiveObject } from './archive-objects.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Partitions this much older than the range are listed too: records reach the archive up to a day late. */
const PARTITION_MARGIN_MS = 2 * DAY_MS;
const READ_CONCURRENCY = 4;

export interface VerifyAuditArchiveDeps {
  readonly archive: Pick<AuditArchive, 'keys' | 'versions' | 'open'>;
  /** The digest signing keys' public halves, by RFC 7638 thumbprint (a JWKS's `kid`). */
  readonly publicKeys: ReadonlyMap<string, KeyObject>;
  /** Monotonic milliseconds, for the throughput figure. */
  readonly elapsed?: () => number;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

export interface VerifyAuditArchiveInput {
  readonly bucket: string;
  /** Digests whose window ends before this are read for the chain only. */
  readonly from?: Date;
  /** Digests whose window starts at or after this are not read. */
  readonly to?: Date;
}

export interface ArchiveProblem {
  /** The object or digest key it concerns (or the request, for a hole in its records). */
  readonly key: string;
  readonly problem: string;
}

export interface VerifyAuditArchiveReport {
  readonly bucket: string;
  readonly digests: number;
  readonly objects: number;
  readonly records: number;
  readonly requests: number;
  /** Bytes read: digests and archive objects. */
  readonly bytes: number;
  readonly seconds: number;
  readonly megabytesPerSecond: number;
  /** Objects newer than the last digest's reach: not verified yet, their records counted for continuity. */
  readonly pendingObjects: number;
  /** Identical copies of a record (not a problem: the same fact, archived twice). */
  readonly duplicateRecords: number;
  readonly firstDigest?: string;
  readonly lastDigest?: string;
  readonly problems: readonly ArchiveProblem[];
  readonly warnings: readonly ArchiveProblem[];
}

interface KeyVersions {
  readonly latest: ArchiveVersion;
  readonly versions: ArchiveVersion[];
}

const versionName = (key: string, versionId: string) => `${key}\u0000${versionId}`;

async function indexVersions(
  source: AsyncIterable<ArchiveVersion>,
  into: Map<string, KeyVersions>,
): Promise<void> {
  for await (const version of source) {
    const known = into.get(version.key);
    if (known === undefined) into.set(version.key, { latest: version, versions: [version] });
    else known.versions.push(version);
  }
}

/** Runs `work` over `items`, a few at a time, in order of start. */
async function eachConcurrently<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++) await work(items[index]!);
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, items.length) }, worker));
}

export async function verifyAuditArchive(
  deps: VerifyAuditArchiveDeps,
  input: VerifyAuditArchiveInput,
): Promise<VerifyAuditArchiveReport> {
  const elapsed = deps.elapsed ?? (() => performance.now());
  const now = deps.now ?? (() => new Date());
  const started = elapsed();
  const { archive } = deps;
  const fromFirst = input.from === undefined;
  const rangeFrom = input.from?.getTime() ?? Number.NEGATIVE_INFINITY;
  const rangeTo = input.to?.getTime() ?? Number.POSITIVE_INFINITY;
  const problems: ArchiveProblem[] = [];
  const warnings: ArchiveProblem[] = [];
  const sequences = new RecordSequences();
  let bytes = 0;
  let records = 0;

  // The archive's versions, where the range's objects can be (all of it without --from).
  const index = new Map<string, KeyVersions>();
  if (fromFirst) {
    await indexVersions(archive.versions(ARCHIVE_PREFIX), index);
  } else {
    const last = Math.min(rangeTo, now().getTime()) + DAY_MS;
    for (let day = rangeFrom - PARTITION_MARGIN_MS; day <= last; day += DAY_MS) {
      await indexVersions(archive.versions(archivePrefix(partitionOf(new Date(day)).dt)), index);
    }
  }
  const versionsOf = async (key: string): Promise<KeyVersions | undefined> => {
    if (!index.has(key)) {
      const exact = new Map<string, KeyVersions>();
      await indexVersions(archive.versions(key), exact);
      const found = exact.get(key);
      if (found !== undefined) index.set(key, found);
    }
    return index.get(key);
  };

  /** Reads one object version: its records feed the sequences; what differs from `expected` is a problem. */
  const readObject = async (key: string, versionId: string, expected?: DigestedObject) => {
    const name = parseArchiveObjectKey(key);
    if (name === undefined) problems.push({ key, problem: 'is not named as an archive object' });
    const visit: RecordVisitor = (record: ArchivedRecord, lineSha256) => {
      // A request's records are numbered; a classification change belongs to no request.
      if ('requestId' in record) sequences.add(record, lineSha256);
      const partition = partitionOf(record.at);
      if (name !== undefined && (partition.dt !== name.dt || partition.hour !== name.hour)) {
        const which =
          'requestId' in record
            ? `record ${record.seq} of request ${record.requestId}`
            : `the ${record.kind} record ${record.key} of ${record.subject}`;
        problems.push({ key, problem: `holds ${which} from ${record.at}, outside its hour` });
      }
    };
    let scan: Awaited<ReturnType<typeof scanArchiveObject>>;
    try {
      scan = await scanArchiveObject((await archive.open(key, versionId)).body, visit);
    } catch (error) {
      // Gone, refused, or cut off while streaming (stored bytes shorter than S3's record of them).
      problems.push({ key, problem: `version ${versionId} cannot be read (${(error as Error).message})` });
      return;
    }
    bytes += scan.bytes;
    records += scan.recordCount;
    for (const problem of scan.problems) problems.push({ key, problem });
    if (expected === undefined) return;
    if (scan.sha256 !== expected.sha256 || scan.bytes !== expected.bytes) {
      problems.push({
        key,
        problem: `content does not match its digest: SHA-256 ${scan.sha256} (${scan.bytes} bytes), digested ${expected.sha256} (${expected.bytes} bytes)`,
      });
    }
    if (scan.recordCount !== expected.recordCount) {
      problems.push({ key, problem: `holds ${scan.recordCount} records, digested ${expected.recordCount}` });
    }
    if (scan.firstRecordAt !== expected.firstRecordAt || scan.lastRecordAt !== expected.lastRecordAt) {
      problems.push({
        key,
        problem: `records span ${scan.firstRecordAt} – ${scan.lastRecordAt}, digested ${expected.firstRecordAt} – ${expected.lastRecordAt}`,
      });
    }
  };

  const checkNamedObject = async (object: DigestedObject) => {
    const known = await versionsOf(object.key);
    const version = known?.versions.find((candidate) => candidate.versionId === object.versionId);
    if (known === undefined || version === undefined) {
      problems.push({ key: object.key, problem: `version ${object.versionId} named by a digest is gone` });
      return;
    }
    if (known.latest.deleteMarker) {
      problems.push({
        key: object.key,
        problem: `is hidden by a delete marker (version ${known.latest.versionId})`,
      });
    } else if (known.latest.versionId !== object.versionId) {
      problems.push({
        key: object.key,
        problem: `was overwritten: the current version is ${known.latest.versionId}, the digest names ${object.versionId}`,
      });
    }
    await readObject(object.key, object.versionId, object);
  };

  // The digests, in order: the chain over all read, the objects of those in the range.
  const named = new Set<string>();
  let previous: StoredDigest | undefined;
  let firstInRange: StoredDigest | undefined;
  let lastInRange: StoredDigest | undefined;
  let digests = 0;
  const startAfter =
    input.from === undefined
      ? undefined
      : `${DIGEST_PREFIX}dt=${new Date(rangeFrom - PARTITION_MARGIN_MS).toISOString().slice(0, 10)}`;
  for await (const key of archive.keys(DIGEST_PREFIX, startAfter === undefined ? {} : { startAfter })) {
    let stored: Awaited<ReturnType<typeof readDigest>>;
    try {
      stored = await readDigest(archive, key);
    } catch (error) {
      problems.push({ key, problem: `cannot be read as a digest (${(error as Error).message})` });
      continue;
    }
    const { digest } = stored;
    if (Date.parse(digest.from) >= rangeTo) break;
    bytes += stored.bytes;
    const signingKey = deps.publicKeys.get(digest.signingKeyThumbprint);
    if (signingKey === undefined) {
      problems.push({
        key,
        problem: `is signed by a key that is not among the public keys (kid ${digest.signingKeyThumbprint})`,
      });
    } else if (!digestSignatureHolds(digest, signingKey)) {
      problems.push({
        key,
        problem: 'signature does not verify: the digest was altered or not signed by Countersign',
      });
    }
    if (digest.bucket !== input.bucket)
      problems.push({ key, problem: `is a digest of bucket ${digest.bucket}, not ${input.bucket}` });
    for (const problem of chainProblems(previous, stored)) problems.push({ key, problem });
    if (previous === undefined && fromFirst && digest.sequence !== 1) {
      problems.push({
        key,
        problem: `is the first digest but has sequence ${digest.sequence}: digests before it are missing`,
      });
    }
    previous = stored;
    if (Date.parse(digest.to) < rangeFrom) continue;
    digests += 1;
    firstInRange ??= stored;
    lastInRange = stored;
    for (const object of digest.objects) named.add(versionName(object.key, object.versionId));
    await eachConcurrently(digest.objects, checkNamedObject);
  }

  // Every version the digests in the range should have named; newer ones are pending.
  if (lastInRange === undefined) {
    problems.push({ key: DIGEST_PREFIX, problem: 'no digest covers the range: nothing can be verified' });
  }
  const coveredFrom =
    fromFirst || firstInRange === undefined ? Number.NEGATIVE_INFINITY : Date.parse(firstInRange.digest.from);
  const reach =
    lastInRange === undefined
      ? Number.NEGATIVE_INFINITY
      : Date.parse(lastInRange.digest.to) - lastInRange.digest.lookbackSeconds * 1000;
  const openEnded =
    input.to === undefined || rangeTo > Date.parse(lastInRange?.digest.to ?? '1970-01-01T00:00:00Z');
  const pending: ArchiveVersion[] = [];
  for (const [key, known] of index) {
    for (const version of known.versions) {
      if (named.has(versionName(key, version.versionId))) continue;
      const written = version.lastModified.getTime();
      if (written < coveredFrom) continue;
      if (written < reach) {
        problems.push({
          key,
          problem: version.deleteMarker
            ? `a delete marker (version ${version.versionId}) was put on it`
            : `version ${version.versionId}, written ${version.lastModified.toISOString()}, is named by no digest`,
        });
      } else if (openEnded && !version.deleteMarker) {
        pending.push(version);
      }
    }
  }
  await eachConcurrently(pending, (version) => readObject(version.key, version.versionId));

  for (const { requestId, problem } of sequences.problems(fromFirst)) {
    problems.push({ key: `request ${requestId}`, problem });
  }
  if (lastInRange !== undefined && input.to === undefined) {
    const age = now().getTime() - Date.parse(lastInRange.digest.to);
    if (age > HOUR_MS) {
      warnings.push({
        key: lastInRange.key,
        problem: `is the newest digest and ends ${lastInRange.digest.to}: no digest was written for ${Math.round(age / 60_000)} minutes`,
      });
    }
  }
  const seconds = Math.max((elapsed() - started) / 1000, 1e-6);
  return {
    bucket: input.bucket,
    digests,
    objects: named.size,
    records,
    requests: sequences.requests,
    bytes,
    seconds,
    megabytesPerSecond: bytes / 1_000_000 / seconds,
    pendingObjects: pending.length,
    duplicateRecords: sequences.duplicates,
    ...(firstInRange === undefined ? {} : { firstDigest: firstInRange.key }),
    ...(lastInRange === undefined ? {} : { lastDigest: lastInRange.key }),
    problems,
    warnings,
  };
}
