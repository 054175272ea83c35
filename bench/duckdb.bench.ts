/**
 * The twin's Athena on DuckDB over 1,000,000 archived records: the archive files (gzip JSON Lines,
 * `audit/dt=…/hour=…/…jsonl.gz`, lines from the archive's own `archiveLine`) are generated once
 * into a temp dir and reused by later runs. The figure is the median wall time of a full-table
 * query through the engine the twin runs (`ArchiveQueryEngine`: the Glue table's view, the Trino
 * macros): decided requests counted by outcome, over every record. The engine decodes each archive
 * file once into a Parquet copy; that one-time ingest (the first query) is its own figure. The
 * baseline is reading the same files with nothing but gunzip and a newline count. Goal (issue 14):
 * ≤ 1 s.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gunzipSync, gzipSync } from 'node:zlib';
import { archiveLine, archiveObjectKey, partitionOf } from '../lambdas/domain/audit-archive.ts';
import { AUDIT_SCHEMA_VERSION, type AuditRecord } from '../lambdas/domain/audit-record.ts';
import { ArchiveQueryEngine } from '../local/aws/athena/duckdb-engine.ts';
import type { BenchOptions, Figure } from './figures.ts';
import { percentile } from './measure.ts';

const RECORDS_PER_FILE = 10_000;
const START = Date.parse('2026-01-01T00:00:00Z');
const QUERY = `SELECT json_extract_scalar(d.data, '$.decision') AS decision, count(*) AS decisions
FROM countersign.audit_records d
WHERE d.kind = 'DECIDED'
GROUP BY 1
ORDER BY 1`;

/** The records of request `n`: asked, evaluated, one vote, decided (one in ten denied). */
function requestRecords(n: number): AuditRecord[] {
  const requestId = `bench-bot:r${n}`;
  const at = (seconds: number) => new Date(START + n * 1000 + seconds * 1000).toISOString();
  const denied = n % 10 === 0;
  const head = { schemaVersion: AUDIT_SCHEMA_VERSION, requestId } as const;
  return [
    {
      ...head,
      seq: 1,
      kind: 'REQUESTED',
      key: 'REQUESTED',
      at: at(0),
      actor: 'bench-bot',
      data: {
        action: 's3:CopyObject',
        resource: `arn:aws:s3:::invoices/2026/${n}.csv`,
        actionHash: 'a'.repeat(64),
        sourceEventId: `evt-${n}`,
        executionArn: `arn:aws:states:us-east-1:000000000000:execution:approval:${n}`,
      },
    },
    {
      ...head,
      seq: 2,
      kind: 'EVALUATED',
      key: 'EVALUATED',
      at: at(1),
      actor: 'countersign',
      data: {
        decision: 'REQUIRE_APPROVAL',
        groups: ['security'],
        quorum: 1,
        timeoutSeconds: 3600,
        stepUp: false,
        policyIds: ['data-export-needs-security'],
        reason: 'this can move data out of its bucket',
      },
    },
    {
      ...head,
      seq: 3,
      kind: 'VOTED',
      key: 'VOTED#alice',
      at: at(30),
      actor: 'alice',
      data: { vote: denied ? 'deny' : 'approve', channel: 'slack' },
    },
    {
      ...head,
      seq: 4,
      kind: 'DECIDED',
      key: 'DECIDED',
      at: at(31),
      actor: 'countersign',
      data: { decision: denied ? 'DENIED' : 'APPROVED', approvers: denied ? [] : ['alice'] },
    },
  ];
}

/** The archive of `records` records under `root` (generated once; a marker says it is complete). */
async function archiveOf(records: number): Promise<{ root: string; paths: string[]; bytes: number }> {
  const root = join(tmpdir(), `countersign-bench-duckdb-${records}`);
  const marker = join(root, 'complete');
  if (!existsSync(marker)) {
    await rm(root, { recursive: true, force: true });
    let request = 0;
    for (let file = 0; file * RECORDS_PER_FILE < records; file += 1) {
      const lines: string[] = [];
      const first = request;
      while (lines.length < RECORDS_PER_FILE && file * RECORDS_PER_FILE + lines.length < records) {
        for (const record of requestRecords(request)) lines.push(archiveLine(record));
        request += 1;
      }
      const { dt, hour } = partitionOf(new Date(START + first * 1000));
      const key = archiveObjectKey({
        dt,
        hour,
        stream: 'be0c0000000000aa',
        first: String(first),
        last: String(request),
      });
      await mkdir(join(root, key, '..'), { recursive: true });
      await writeFile(join(root, key), gzipSync(lines.join('')));
    }
    await writeFile(marker, '');
  }
  const paths: string[] = [];
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith('.jsonl.gz')) paths.push(path);
    }
  };
  await walk(join(root, 'audit'));
  let bytes = 0;
  for (const path of paths) bytes += (await stat(path)).size;
  return { root, paths: paths.sort(), bytes };
}

async function gunzipLineCount(paths: readonly string[]): Promise<number> {
  let lines = 0;
  for (const path of paths) {
    const text = gunzipSync(await readFile(path));
    for (let index = text.indexOf(10); index >= 0; index = text.indexOf(10, index + 1)) lines += 1;
  }
  return lines;
}

const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    0.5,
  );

export async function measure(options: BenchOptions): Promise<Figure[]> {
  const records = options.quick ? 20_000 : 1_000_000;
  const runs = options.quick ? 1 : 5;
  const archive = await archiveOf(records);
  const engine = await ArchiveQueryEngine.open({
    root: archive.root,
    files: async () => ({ paths: archive.paths, bytes: archive.bytes }),
  });
  try {
    const queryMs: number[] = [];
    const baselineMs: number[] = [];
    // The first query decodes each archive file into its Parquet copy: the one-time ingest.
    const ingestStarted = performance.now();
    await engine.run(QUERY);
    const ingestMs = performance.now() - ingestStarted;
    for (let run = 0; run < runs; run += 1) {
      let started = performance.now();
      const result = await engine.run(QUERY);
      queryMs.push(performance.now() - started);
      const decided = result.rows.reduce((sum, row) => sum + Number(row[1]), 0);
      if (decided !== records / 4)
        throw new Error(`the query counted ${decided} decisions of ${records / 4}`);
      started = performance.now();
      const lines = await gunzipLineCount(archive.paths);
      baselineMs.push(performance.now() - started);
      if (lines !== records) throw new Error(`the baseline counted ${lines} lines of ${records}`);
    }
    return [
      {
        name: 'duckdbQuery1MRecordsMs',
        value: median(queryMs),
        unit: 'ms',
        baseline: { name: 'gunzipLineCount1MRecordsMs', value: median(baselineMs) },
        goal: { atMost: 1000 },
      },
      {
        name: 'duckdbIngest1MRecordsMs',
        value: ingestMs,
        unit: 'ms',
        baseline: { name: 'gunzipLineCount1MRecordsMs', value: median(baselineMs) },
      },
    ];
  } finally {
    engine.close();
  }
}
