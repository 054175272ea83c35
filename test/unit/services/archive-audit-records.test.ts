/**
 * The archiver on the twin's S3 (Object Lock bucket) through the real S3 adapter: one object per run
 * of records in the same hour, deterministic keys and bytes, and — with S3 failing in every way a
 * retry can meet (refused, failed after writing, conflicting) — no record lost or archived twice.
 */
import { gunzipSync } from 'node:zlib';
import { GetObjectRetentionCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionOf, streamIdOf } from '../../../lambdas/domain/audit-archive.ts';
import { ArchiveConflictError } from '../../../lambdas/domain/errors.ts';
import type { AuditArchive, StreamedAuditRecord } from '../../../lambdas/ports/index.ts';
import {
  ARCHIVE_CONTENT_TYPE,
  type ArchiveAuditRecordsDeps,
  archiveAuditRecords,
} from '../../../lambdas/services/archive-audit-records.ts';
import {
  type ArchiveBucket,
  STREAM_ARN,
  startArchiveBucket,
  storedRecord,
  streamed,
} from '../../support/audit-archive.ts';

let bucket: ArchiveBucket;
let runs = 0;

beforeAll(async () => {
  bucket = await startArchiveBucket();
});
afterAll(() => bucket.close());

const clock = { now: () => new Date() };
const deps = (archive: Pick<AuditArchive, 'create'> = bucket.archive): ArchiveAuditRecordsDeps => ({
  archive,
  clock,
  retentionDays: 1,
});

/** A batch of `count` records of one request per test, at `times` (cycled), sequence numbers from `first`. */
function batch(times: readonly string[], count = times.length, first = 1): StreamedAuditRecord[] {
  runs += 1;
  return Array.from({ length: count }, (_, index) =>
    streamed(first + index, storedRecord(`invoice-bot:run-${runs}`, index + 1, times[index % times.length]!)),
  );
}

async function archivedLines(): Promise<Map<string, string[]>> {
  const objects = new Map<string, string[]>();
  for await (const version of bucket.archive.versions('audit/')) {
    const object = await bucket.archive.open(version.key, version.versionId);
    const chunks: Buffer[] = [];
    for await (const chunk of object.body) chunks.push(Buffer.from(chunk));
    const lines = gunzipSync(Buffer.concat(chunks)).toString('utf8').split('\n').filter(Boolean);
    objects.set(`${version.key}@${version.versionId}`, lines);
  }
  return objects;
}

/** Every record of `requestId` in the archive, as (seq, how many copies). */
async function copiesOf(requestId: string): Promise<Map<number, number>> {
  const copies = new Map<number, number>();
  for (const lines of (await archivedLines()).values()) {
    for (const line of lines) {
      const record = JSON.parse(line) as { requestId: string; seq: number };
      if (record.requestId === requestId) copies.set(record.seq, (copies.get(record.seq) ?? 0) + 1);
    }
  }
  return copies;
}

const requestOf = (records: readonly StreamedAuditRecord[]) => String(records[0]!.auditImage!.requestId);

/**
 * What Lambda's event source mapping does with ReportBatchItemFailures: retry from the lowest
 * failed record, with the records of the batch from there on, until the batch succeeds.
 */
async function deliverUntilDone(
  records: readonly StreamedAuditRecord[],
  archive: Pick<AuditArchive, 'create'>,
): Promise<number> {
  let remaining = [...records];
  let attempts = 0;
  while (remaining.length > 0) {
    attempts += 1;
    if (attempts > 50) throw new Error('the batch never succeeded');
    const { batchItemFailures } = await archiveAuditRecords(deps(archive), remaining);
    if (batchItemFailures.length === 0) return attempts;
    const from = remaining.findIndex(
      (record) => record.sequenceNumber === batchItemFailures[0]!.itemIdentifier,
    );
    expect(from).toBeGreaterThanOrEqual(0);
    remaining = remaining.slice(from);
  }
  return attempts;
}

/** The archive, with `create` failing as told: before writing, or after writing (a lost answer). */
function flaky(plan: (call: number) => 'ok' | 'refuse' | 'lose-answer'): Pick<AuditArchive, 'create'> {
  let calls = 0;
  return {
    create: async (key, body, options) => {
      calls += 1;
      const what = plan(calls);
      if (what === 'refuse') throw Object.assign(new Error('SlowDown'), { name: 'SlowDown' });
      const result = await bucket.archive.create(key, body, options);
      if (what === 'lose-answer') throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
      return result;
    },
  };
}

describe('archiving a batch', () => {
  it('writes one gzip JSON Lines object per run of records in the same hour, named by its first and last record', async () => {
    const records = batch(['2025-06-01T10:59:58.000Z', '2025-06-01T10:59:59.000Z'], 2);
    records.push(...batch(['2025-06-01T11:00:00.000Z'], 1, 3));
    records.push(...batch(['2025-06-01T10:59:59.500Z'], 1, 4));
    const result = await archiveAuditRecords(deps(), records);
    expect(result.batchItemFailures).toEqual([]);
    const stream = streamIdOf(STREAM_ARN);
    const padded = (n: number) => String(n).padStart(21, '0');
    expect(result.archived.map((object) => [object.key, object.records, object.created])).toEqual([
      [`audit/dt=2025-06-01/hour=10/${stream}-${padded(1)}-${padded(2)}.jsonl.gz`, 2, true],
      [`audit/dt=2025-06-01/hour=11/${stream}-${padded(3)}-${padded(3)}.jsonl.gz`, 1, true],
      [`audit/dt=2025-06-01/hour=10/${stream}-${padded(4)}-${padded(4)}.jsonl.gz`, 1, true],
    ]);
    const lines = await archivedLines();
    const first = [...lines.entries()].find(([name]) => name.startsWith(result.archived[0]!.key))![1];
    expect(first.map((line) => JSON.parse(line))).toEqual([
      records[0]!.auditImage && { ...storedFields(records[0]!) },
      { ...storedFields(records[1]!) },
    ]);
    // The record id, then the fields in their fixed order, the table's keys left out.
    expect(Object.keys(JSON.parse(first[0]!))).toEqual([
      'recordId',
      'schemaVersion',
      'requestId',
      'seq',
      'kind',
      'key',
      'at',
      'actor',
      'data',
    ]);
    for (const record of first.map((line) => JSON.parse(line) as { at: string })) {
      expect(partitionOf(record.at)).toEqual({ dt: '2025-06-01', hour: '10' });
    }
  });

  it('creates each object under COMPLIANCE retention with its SHA-256 checksum', async () => {
    const [object] = (await archiveAuditRecords(deps(), batch(['2025-06-01T12:00:00.000Z']))).archived;
    const head = await bucket.client.send(
      new HeadObjectCommand({ Bucket: bucket.bucket, Key: object!.key, ChecksumMode: 'ENABLED' }),
    );
    expect(head.ChecksumSHA256).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(head.ContentType).toBe(ARCHIVE_CONTENT_TYPE);
    const retention = await bucket.client.send(
      new GetObjectRetentionCommand({ Bucket: bucket.bucket, Key: object!.key }),
    );
    expect(retention.Retention?.Mode).toBe('COMPLIANCE');
    expect(retention.Retention!.RetainUntilDate!.getTime()).toBeGreaterThan(Date.now() + 23 * 3_600_000);
  });

  it('archives a classification change (a subject, no request) with the archive schema version', async () => {
    const records = batch(['2025-06-01T21:00:00.000Z'], 1);
    const change: StreamedAuditRecord = {
      sequenceNumber: String(Number(records[0]!.sequenceNumber) + 1).padStart(21, '0'),
      eventSourceArn: STREAM_ARN,
      // As the classification store writes it: its keys, and its record without a schema version.
      auditImage: {
        pk: 'CLASS#finance-invoices',
        sk: 'AUDIT#OBJECT#0123#1764000000000',
        subject: 's3://finance-invoices/2025/06.csv',
        kind: 'CLASSIFICATION_CHANGED',
        key: '1764000000000',
        at: '2025-06-01T21:00:01.000Z',
        actor: 'macie',
        data: { severity: 'High', previous: null },
      },
    };
    const result = await archiveAuditRecords(deps(), [records[0]!, change]);
    expect(result.batchItemFailures).toEqual([]);
    const lines = [...(await archivedLines()).entries()].find(([key]) => key.includes('hour=21'))![1];
    expect(lines.map((line) => JSON.parse(line))).toContainEqual({
      recordId: 's3://finance-invoices/2025/06.csv#1764000000000',
      schemaVersion: 1,
      subject: 's3://finance-invoices/2025/06.csv',
      kind: 'CLASSIFICATION_CHANGED',
      key: '1764000000000',
      at: '2025-06-01T21:00:01.000Z',
      actor: 'macie',
      data: { severity: 'High', previous: null },
    });
  });

  it('passes over stream records that are not audit inserts', async () => {
    const records = batch(['2025-06-01T13:00:00.000Z'], 2);
    const other: StreamedAuditRecord = {
      sequenceNumber: '000000000000000000099',
      eventSourceArn: STREAM_ARN,
    };
    const result = await archiveAuditRecords(deps(), [records[0]!, other, records[1]!]);
    expect(result.archived.map((object) => object.records)).toEqual([2]);
  });
});

describe('retries', () => {
  it('a retried batch writes the same keys with the same bytes: nothing twice', async () => {
    const records = batch(['2025-06-01T14:00:00.000Z', '2025-06-01T15:00:00.000Z'], 6);
    const first = await archiveAuditRecords(deps(), records);
    const again = await archiveAuditRecords(deps(), records);
    expect(again.archived.map((object) => [object.key, object.created])).toEqual(
      first.archived.map((object) => [object.key, false]),
    );
    expect([...(await copiesOf(requestOf(records))).values()]).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('reports the first record of the first failed run, and the retry from it archives the rest once', async () => {
    const records = batch(
      ['2025-06-01T16:00:00.000Z', '2025-06-01T16:00:01.000Z', '2025-06-01T17:00:00.000Z'],
      3,
    );
    records.push(...batch(['2025-06-01T18:00:00.000Z'], 1, 4));
    // The second run (hour 17) is refused once.
    const result = await archiveAuditRecords(deps(flaky((call) => (call === 2 ? 'refuse' : 'ok'))), records);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: records[2]!.sequenceNumber }]);
    expect(result.failure).toBeInstanceOf(Error);
    await deliverUntilDone(records.slice(2), bucket.archive);
    const copies = await copiesOf(requestOf(records));
    expect([...copies.entries()].sort()).toEqual([
      [1, 1],
      [2, 1],
      [3, 1],
    ]);
    expect(await copiesOf(requestOf(records.slice(3)))).toEqual(new Map([[1, 1]]));
  });

  it('loses and duplicates nothing whatever S3 does on each call (refused, answered late), as Lambda retries', async () => {
    const times = Array.from(
      { length: 12 },
      (_, n) => `2025-06-02T${String(n % 5).padStart(2, '0')}:${String(10 + n).padStart(2, '0')}:00.000Z`,
    );
    const records = batch(times, 40);
    // A seeded mix: about a third of the calls refused, a fifth written but answered with an error.
    let seed = 20250602;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const plan = () => {
      const draw = random();
      return draw < 0.33 ? 'refuse' : draw < 0.53 ? 'lose-answer' : 'ok';
    };
    const attempts = await deliverUntilDone(records, flaky(plan));
    expect(attempts).toBeGreaterThan(1);
    const copies = await copiesOf(requestOf(records));
    expect(copies.size).toBe(40);
    expect([...copies.values()].every((count) => count === 1)).toBe(true);
  });

  it('never overwrites other content under its key: the conflict fails the run', async () => {
    const records = batch(['2025-06-01T19:00:00.000Z'], 2);
    const first = await archiveAuditRecords(deps(), records);
    const key = first.archived[0]!.key;
    const conflicting: Pick<AuditArchive, 'create'> = {
      create: (_key, body, options) =>
        bucket.archive.create(key, Buffer.concat([Buffer.from(body), Buffer.from('x')]), options),
    };
    const result = await archiveAuditRecords(deps(conflicting), records);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: records[0]!.sequenceNumber }]);
    expect(result.failure).toBeInstanceOf(ArchiveConflictError);
  });

  it('fails the batch at an audit record that is not valid, after archiving what came before it', async () => {
    const records = batch(['2025-06-01T20:00:00.000Z'], 3);
    const broken: StreamedAuditRecord = {
      ...records[1]!,
      auditImage: { ...records[1]!.auditImage, data: { vote: 'approve', taskToken: 'AQCE' } },
    };
    const result = await archiveAuditRecords(deps(), [records[0]!, broken, records[2]!]);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: broken.sequenceNumber }]);
    expect(String(result.failure)).toMatch(/not a valid audit record/);
    expect(await copiesOf(requestOf(records))).toEqual(new Map([[1, 1]]));
  });
});

function storedFields(record: StreamedAuditRecord): Record<string, unknown> {
  const { pk: _pk, sk: _sk, ...fields } = record.auditImage!;
  return { recordId: `${fields.requestId}#${fields.seq}`, ...fields };
}
