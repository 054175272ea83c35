/**
 * The audit archive's formats, which an auditor could re-implement from this file and the README:
 *
 * - Archive objects: `audit/dt=YYYY-MM-DD/hour=HH/<stream>-<first>-<last>.jsonl.gz`, gzip of JSON
 *   Lines, one ArchivedRecord a line (`recordId` first, then the fields in ARCHIVED_RECORD_FIELDS
 *   order), for records whose `at` falls in that UTC hour; `<stream>` is 16 hex of SHA-256 of the
 *   DynamoDB stream's ARN, `<first>` and
 *   `<last>` the stream sequence numbers of the first and last record in the object.
 * - Digests: `digests/dt=YYYY-MM-DD/<sequence>.json` (the date of the digest's `from`, the sequence
 *   zero-padded to 12 digits so keys sort), one AuditDigest in canonical JSON (RFC 8785) and a newline.
 *   The signature is ES256 (ECDSA P-256, SHA-256) over the UTF-8 bytes of the canonical JSON of the
 *   digest without its `signature` member, in IEEE P1363 form (r || s, 64 bytes), base64url. Each
 *   digest names the previous digest's key, the SHA-256 of its stored bytes and its signature, so
 *   the digests form a chain from sequence 1 on, as CloudTrail's log file integrity validation does.
 *
 * Pure: keys, schemas, the signing input, the signature check, and the checks that tie one digest
 * to the next and a request's records to each other.
 */
import { createHash, type KeyObject, verify } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import { ARCHIVED_RECORD_FIELDS, ArchivedRecord, type AuditRecord } from './audit-record.ts';
import * as z from './zod.ts';

// The package's CommonJS default export, as action-hash.ts reads it.
const canonicalize = canonicalizeModule as unknown as typeof canonicalizeModule.default;

export const ARCHIVE_PREFIX = 'audit/';
export const DIGEST_PREFIX = 'digests/';
export const DIGEST_SCHEMA_VERSION = 1;
export const DIGEST_SIGNATURE_ALGORITHM = 'ES256';
const SEQUENCE_DIGITS = 12;

const Sha256Hex = z.string().check(z.regex(/^[a-f0-9]{64}$/, 'a SHA-256 in hex'));
const Timestamp = z.iso.datetime();
const Base64Url = z.string().check(z.regex(/^[A-Za-z0-9_-]+$/, 'base64url'));

const ARCHIVE_KEY =
  /^audit\/dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\/([0-9a-f]{16})-(\d{1,40})-(\d{1,40})\.jsonl\.gz$/;
const DIGEST_KEY = /^digests\/dt=(\d{4}-\d{2}-\d{2})\/(\d{12})\.json$/;

/** `YYYY-MM-DDTHH:MM[:SS[.s…]]Z`: its date and hour are where `toISOString` puts them. */
const UTC_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z$/;

/** The UTC day and hour of a timestamp: the partition its record is archived under. */
export function partitionOf(at: string | Date): { readonly dt: string; readonly hour: string } {
  // A UTC timestamp (what the record schema admits) is cut as it is: parsing and printing it again
  // for each of a verified archive's records was the verifier's largest single cost.
  const iso = typeof at === 'string' && UTC_TIMESTAMP.test(at) ? at : new Date(at).toISOString();
  return { dt: iso.slice(0, 10), hour: iso.slice(11, 13) };
}

/** `audit/dt=…/` of a day, and `audit/dt=…/hour=…/` of an hour. */
export function archivePrefix(dt: string, hour?: string): string {
  return `${ARCHIVE_PREFIX}dt=${dt}/${hour === undefined ? '' : `hour=${hour}/`}`;
}

/** The stream part of archive keys: 16 hex of SHA-256 of the stream ARN (Lambda's events name no shard). */
export function streamIdOf(eventSourceArn: string): string {
  return createHash('sha256').update(eventSourceArn, 'utf8').digest('hex').slice(0, 16);
}

export interface ArchiveObjectName {
  readonly dt: string;
  readonly hour: string;
  readonly stream: string;
  readonly first: string;
  readonly last: string;
}

export function archiveObjectKey(name: ArchiveObjectName): string {
  return `${archivePrefix(name.dt, name.hour)}${name.stream}-${name.first}-${name.last}.jsonl.gz`;
}

export function parseArchiveObjectKey(key: string): ArchiveObjectName | undefined {
  const match = ARCHIVE_KEY.exec(key);
  if (match === null) return undefined;
  const [, dt, hour, stream, first, last] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  return { dt, hour, stream, first, last };
}

/**
 * A record's id in the archive (Athena's `record_id`), the same every time the record is written:
 * a request's record is `<requestId>#<seq>` (the store numbers a request's facts once each; `#` is
 * in no request id), a classification change `<subject>#<key>` (its subject is an s3:// URI, never
 * a request id, and its key is deterministic per fact).
 */
export function recordIdOf(record: ArchivedRecord): string {
  return 'requestId' in record ? `${record.requestId}#${record.seq}` : `${record.subject}#${record.key}`;
}

/** One line of an archive object: the record's id, its fields in their fixed order, then a newline. */
export function archiveLine(record: ArchivedRecord): string {
  const ordered = Object.fromEntries([
    ['recordId', recordIdOf(record)],
    ...ARCHIVED_RECORD_FIELDS.filter((field) => field in record).map((field) => [
      field,
      (record as Record<string, unknown>)[field],
    ]),
  ]);
  return `${JSON.stringify(ordered)}\n`;
}

/** An archive line's record, or why it is not one: its `recordId` must be the record's own. */
export function parseArchiveLine(
  line: unknown,
): { readonly record: ArchivedRecord } | { readonly problem: string } {
  if (typeof line !== 'object' || line === null || Array.isArray(line)) {
    return { problem: 'is not a valid audit record' };
  }
  const { recordId, ...fields } = line as Record<string, unknown>;
  const parsed = ArchivedRecord.safeParse(fields);
  if (!parsed.success) return { problem: 'is not a valid audit record' };
  if (recordId !== recordIdOf(parsed.data)) return { problem: 'has a recordId that is not its own' };
  return { record: parsed.data };
}

export function digestKey(from: string, sequence: number): string {
  return `${DIGEST_PREFIX}dt=${from.slice(0, 10)}/${String(sequence).padStart(SEQUENCE_DIGITS, '0')}.json`;
}

export function parseDigestKey(key: string): { readonly dt: string; readonly sequence: number } | undefined {
  const match = DIGEST_KEY.exec(key);
  return match === null ? undefined : { dt: match[1]!, sequence: Number(match[2]) };
}

/** An archive object version as a digest names it, with what the digester read in it. */
export const DigestedObject = z.strictObject({
  key: z.string().check(z.startsWith(ARCHIVE_PREFIX)),
  versionId: z.string().check(z.minLength(1)),
  /** SHA-256 of the object's bytes as stored (the gzip), hex. */
  sha256: Sha256Hex,
  bytes: z.number().check(z.int(), z.nonnegative()),
  recordCount: z.number().check(z.int(), z.nonnegative()),
  /** The earliest and latest record `at` inside; null when the digester could not read any record. */
  firstRecordAt: z.nullable(Timestamp),
  lastRecordAt: z.nullable(Timestamp),
  /** When S3 says the version was written: the digester's window is over these. */
  lastModified: Timestamp,
});
export type DigestedObject = z.infer<typeof DigestedObject>;

const DigestFields = {
  schemaVersion: z.literal(DIGEST_SCHEMA_VERSION),
  /** 1 for the first digest of the bucket, then each the previous one's plus one. */
  sequence: z.number().check(z.int(), z.positive()),
  bucket: z.string().check(z.minLength(1)),
  /** The window: `from` is the previous digest's `to` (for the first, its earliest object's LastModified). */
  from: Timestamp,
  to: Timestamp,
  /**
   * Objects are named once, by the first digest that sees them; a digest looks this far before its
   * `from` for objects an earlier digest could not see yet (a write in flight when it listed).
   */
  lookbackSeconds: z.number().check(z.int(), z.positive()),
  previous: z.nullable(z.strictObject({ key: z.string(), sha256: Sha256Hex, signature: Base64Url })),
  objects: z.array(DigestedObject),
  /** The KMS key (ARN) that signed, and its public key's RFC 7638 thumbprint (the JWKS `kid`). */
  signingKeyId: z.string().check(z.minLength(1)),
  signingKeyThumbprint: z.string().check(z.minLength(1)),
  signatureAlgorithm: z.literal(DIGEST_SIGNATURE_ALGORITHM),
};
export const UnsignedDigest = z.strictObject(DigestFields);
export type UnsignedDigest = z.infer<typeof UnsignedDigest>;
export const AuditDigest = z.strictObject({ ...DigestFields, signature: Base64Url });
export type AuditDigest = z.infer<typeof AuditDigest>;

/** What is signed: the canonical JSON (RFC 8785) of the digest without its signature, UTF-8. */
export function digestSigningInput(digest: UnsignedDigest | AuditDigest): Buffer {
  const { signature: _signature, ...unsigned } = digest as AuditDigest;
  return Buffer.from(canonicalize(unsigned) as string, 'utf8');
}

/** The digest as stored: canonical JSON with its signature, and a newline. */
export function serializeDigest(digest: AuditDigest): Buffer {
  return Buffer.from(`${canonicalize(digest) as string}\n`, 'utf8');
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Whether the digest's signature verifies with `key` (a P-256 public key). */
export function digestSignatureHolds(digest: AuditDigest, key: KeyObject): boolean {
  return verify(
    'sha256',
    digestSigningInput(digest),
    { key, dsaEncoding: 'ieee-p1363' },
    Buffer.from(digest.signature, 'base64url'),
  );
}

/** A digest as the verifier read it: where it is stored, its bytes' hash and its content. */
export interface StoredDigest {
  readonly key: string;
  readonly sha256: string;
  readonly digest: AuditDigest;
}

/**
 * What breaks the chain between a digest and the one stored before it (undefined: the first one
 * read). A missing digest shows as a skipped sequence, a replaced or reordered one as a hash, key or
 * sequence that does not match, a gap in time as a window that does not start where the last ended.
 */
export function chainProblems(previous: StoredDigest | undefined, current: StoredDigest): string[] {
  const problems: string[] = [];
  const { digest } = current;
  const named = parseDigestKey(current.key);
  if (named === undefined || named.sequence !== digest.sequence || named.dt !== digest.from.slice(0, 10)) {
    problems.push(
      `is stored under the wrong key: sequence ${digest.sequence} from ${digest.from} belongs at ${digestKey(digest.from, digest.sequence)}`,
    );
  }
  if (Date.parse(digest.to) < Date.parse(digest.from)) problems.push('ends before it starts');
  if (previous === undefined) {
    if (digest.sequence === 1 && digest.previous !== null)
      problems.push('is the first digest but names a previous one');
    return problems;
  }
  const expected = previous.digest.sequence + 1;
  if (digest.sequence > expected) {
    const missing = digest.sequence - expected === 1 ? `${expected}` : `${expected}–${digest.sequence - 1}`;
    problems.push(`follows digest ${previous.digest.sequence}: digest sequence ${missing} is missing`);
  } else if (digest.sequence < expected) {
    problems.push(
      `has sequence ${digest.sequence} but follows digest ${previous.digest.sequence} (${previous.key})`,
    );
  }
  if (digest.sequence !== expected) return problems;
  if (digest.previous === null) {
    problems.push(`names no previous digest but follows ${previous.key}`);
    return problems;
  }
  if (digest.previous.key !== previous.key)
    problems.push(`names ${digest.previous.key} as previous, not ${previous.key}`);
  if (digest.previous.sha256 !== previous.sha256) {
    problems.push(
      `names a previous digest with SHA-256 ${digest.previous.sha256}, but ${previous.key} has ${previous.sha256} (replaced)`,
    );
  }
  if (digest.previous.signature !== previous.digest.signature)
    problems.push(`names another signature than ${previous.key}'s`);
  if (digest.from !== previous.digest.to) {
    problems.push(`starts at ${digest.from}, not where ${previous.key} ended (${previous.digest.to})`);
  }
  return problems;
}

export interface SequenceProblem {
  readonly requestId: string;
  readonly problem: string;
}

/**
 * Record-sequence continuity. The store numbers each request's records 1, 2, 3 … once per fact,
 * atomically, so the numbers a request's archived records carry must have no hole and no number
 * twice with different content. A hole is a record that never reached the archive: lost between the
 * table and S3 (a batch parked in the dead-letter queue, an object deleted or never digested) or a
 * write that never completed (such as a PUBLISHED fact, numbered before its event is put, whose
 * publication never completed: README "Audit archive"); a number twice with different content is a
 * replaced record.
 * Holds, per request, only the numbers seen and a hash of each record (never the records).
 */
export class RecordSequences {
  readonly #seen = new Map<string, Map<number, string>>();
  readonly #conflicts: SequenceProblem[] = [];
  #duplicates = 0;

  add(record: Pick<AuditRecord, 'requestId' | 'seq'>, lineSha256: string): void {
    let numbers = this.#seen.get(record.requestId);
    if (numbers === undefined) {
      numbers = new Map();
      this.#seen.set(record.requestId, numbers);
    }
    const earlier = numbers.get(record.seq);
    if (earlier === undefined) numbers.set(record.seq, lineSha256);
    else if (earlier === lineSha256) this.#duplicates += 1;
    else
      this.#conflicts.push({
        requestId: record.requestId,
        problem: `two different records carry sequence ${record.seq}`,
      });
  }

  get requests(): number {
    return this.#seen.size;
  }

  /** Identical copies of a record (at-least-once delivery that got past the deterministic keys). */
  get duplicates(): number {
    return this.#duplicates;
  }

  /**
   * The holes and conflicts. `fromFirst`: the whole archive was read, so every request's numbers
   * start at 1; otherwise records before the range may have lower numbers.
   */
  problems(fromFirst: boolean): SequenceProblem[] {
    const problems = [...this.#conflicts];
    for (const [requestId, numbers] of this.#seen) {
      const sorted = [...numbers.keys()].sort((a, b) => a - b);
      const missing: string[] = [];
      let expected = fromFirst ? 1 : sorted[0]!;
      for (const seq of sorted) {
        if (seq > expected) missing.push(seq - expected === 1 ? `${expected}` : `${expected}–${seq - 1}`);
        expected = seq + 1;
      }
      if (missing.length > 0) {
        problems.push({
          requestId,
          problem: `records ${missing.join(', ')} are missing (have ${sorted.length} up to ${sorted.at(-1)})`,
        });
      }
    }
    return problems;
  }
}
