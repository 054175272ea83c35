/**
 * The archiver: a batch of the table's stream becomes gzip JSON Lines objects in the archive, one
 * per run of consecutive records in the same UTC hour (by each record's `at`):
 * `audit/dt=…/hour=…/<stream>-<first>-<last>.jsonl.gz`.
 *
 * Nothing is lost or written twice, however the batch is retried:
 * - An object's key and bytes depend only on its records (deterministic lines, gzip with no time
 *   in its header), so a retried batch writes the same keys with the same bytes, and the archive's
 *   create-once (`If-None-Match: *`) turns a repeat into "already there" (same SHA-256) instead of a
 *   second copy.
 * - Objects are runs of consecutive records, so a failure is reported at the first record of the
 *   first run that failed (Lambda checkpoints there and retries from it): every record before it is
 *   archived, every record from it on is retried, and the retry groups those records into the same
 *   runs again. Runs after a failed one are not reported as written, and when they were, their
 *   retry meets them as "already there".
 * - A failed write (S3 refusing, throttling, down) is retried by Lambda until the stream is about
 *   to drop the record: the archive waits for S3, the iterator-age alarm telling that it waits.
 * - A stream record that is an audit insert but not a valid AuditRecord fails its batch at that
 *   record (never skipped quietly): the archive stops there (the same alarm), and the record is
 *   parked in the dead-letter queue only when the stream would drop it; the verifier then names
 *   the missing record.
 */
import { gzipSync } from 'node:zlib';
import { archiveLine, archiveObjectKey, partitionOf, streamIdOf } from '../domain/audit-archive.ts';
import { ARCHIVED_RECORD_FIELDS, ArchivedRecord, AUDIT_SCHEMA_VERSION } from '../domain/audit-record.ts';
import { CLASSIFICATION_CHANGED } from '../domain/classification.ts';
import type { AuditArchive, Clock, StreamedAuditRecord } from '../ports/index.ts';

export const ARCHIVE_CONTENT_TYPE = 'application/gzip';
const DAY_MS = 86_400_000;

export interface ArchiveAuditRecordsDeps {
  readonly archive: Pick<AuditArchive, 'create'>;
  readonly clock: Clock;
  /** COMPLIANCE retention of each object, from when it is written. */
  readonly retentionDays: number;
}

/** The answer Lambda reads with ReportBatchItemFailures: empty when the whole batch is archived. */
export interface BatchResponse {
  readonly batchItemFailures: { readonly itemIdentifier: string }[];
}

export interface ArchivedObject {
  readonly key: string;
  readonly records: number;
  /** False when a retry found the object already written. */
  readonly created: boolean;
}

export interface ArchiveResult extends BatchResponse {
  readonly archived: readonly ArchivedObject[];
  /** Why the batch stopped where it did (the failed run's error, or the invalid record's issues). */
  readonly failure?: unknown;
}

interface Run {
  readonly dt: string;
  readonly hour: string;
  readonly stream: string;
  readonly entries: { readonly sequenceNumber: string; readonly record: ArchivedRecord }[];
}

type Step = { readonly run: Run } | { readonly invalid: StreamedAuditRecord; readonly issues: string };

/** The batch as runs to write, in order, up to the first invalid audit record. */
function plan(records: readonly StreamedAuditRecord[]): Step[] {
  const steps: Step[] = [];
  let run: Run | undefined;
  for (const streamed of records) {
    if (streamed.auditImage === undefined) continue;
    const image = streamed.auditImage;
    const fields = Object.fromEntries(
      ARCHIVED_RECORD_FIELDS.filter((field) => field in image).map((field) => [field, image[field]]),
    );
    // The classification store's records carry no version of their own: the archive gives them its.
    const parsed = ArchivedRecord.safeParse(
      fields.kind === CLASSIFICATION_CHANGED ? { ...fields, schemaVersion: AUDIT_SCHEMA_VERSION } : fields,
    );
    if (!parsed.success) {
      if (run !== undefined) steps.push({ run });
      steps.push({ invalid: streamed, issues: parsed.error.message });
      return steps;
    }
    const { dt, hour } = partitionOf(parsed.data.at);
    const stream = streamIdOf(streamed.eventSourceArn);
    if (run === undefined || run.dt !== dt || run.hour !== hour || run.stream !== stream) {
      if (run !== undefined) steps.push({ run });
      run = { dt, hour, stream, entries: [] };
    }
    run.entries.push({ sequenceNumber: streamed.sequenceNumber, record: parsed.data });
  }
  if (run !== undefined) steps.push({ run });
  return steps;
}

/** The object of a run: its key and its bytes, the same for the same records every time. */
export function archiveObjectOf(run: Run): { readonly key: string; readonly body: Buffer } {
  const lines = run.entries.map((entry) => archiveLine(entry.record)).join('');
  return {
    key: archiveObjectKey({
      dt: run.dt,
      hour: run.hour,
      stream: run.stream,
      first: run.entries[0]!.sequenceNumber,
      last: run.entries.at(-1)!.sequenceNumber,
    }),
    // zlib writes no file name and a zero time into the gzip header: same lines, same bytes.
    body: gzipSync(Buffer.from(lines, 'utf8'), { level: 9 }),
  };
}

export async function archiveAuditRecords(
  deps: ArchiveAuditRecordsDeps,
  records: readonly StreamedAuditRecord[],
): Promise<ArchiveResult> {
  const steps = plan(records);
  const retainUntil = new Date(deps.clock.now().getTime() + deps.retentionDays * DAY_MS);
  // Runs are written concurrently; what counts is the first one (in stream order) that failed.
  const outcomes = await Promise.allSettled(
    steps.map(async (step) => {
      if ('invalid' in step) throw new Error(`not a valid audit record: ${step.issues}`);
      const object = archiveObjectOf(step.run);
      const { created } = await deps.archive.create(object.key, object.body, {
        contentType: ARCHIVE_CONTENT_TYPE,
        retainUntil,
      });
      return { key: object.key, records: step.run.entries.length, created };
    }),
  );
  const archived: ArchivedObject[] = [];
  for (const [index, outcome] of outcomes.entries()) {
    if (outcome.status === 'fulfilled') {
      archived.push(outcome.value);
      continue;
    }
    const step = steps[index]!;
    const itemIdentifier =
      'invalid' in step ? step.invalid.sequenceNumber : step.run.entries[0]!.sequenceNumber;
    return { batchItemFailures: [{ itemIdentifier }], archived, failure: outcome.reason };
  }
  return { batchItemFailures: [], archived };
}
