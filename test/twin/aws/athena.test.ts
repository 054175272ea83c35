/**
 * The twin's Athena over DuckDB, driven by the real @aws-sdk/client-athena (and the AWS CLI when
 * installed) on a seeded archive written by the archive's own service and S3 adapter: every named
 * query returns the rows the seeded history implies; states, statistics, paging and column
 * metadata have Athena's shapes; bad SQL fails with DuckDB's message; idempotency, stop, named
 * queries and workgroups; and a query can read nothing but the archive.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchGetNamedQueryCommand,
  GetNamedQueryCommand,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  GetWorkGroupCommand,
  InvalidRequestException,
  ListNamedQueriesCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  AthenaQueryError,
  rowObjects,
  runAthenaQuery,
} from '../../../lambdas/adapters/athena/athena-query-runner.ts';
import { NAMED_AUDIT_QUERIES, type NamedAuditQueryName } from '../../../lambdas/domain/audit-queries.ts';
import { main } from '../../../local/cli/main.ts';
import {
  type AthenaTwin,
  RESULTS_LOCATION,
  requestRecords,
  sampleReconciliation,
  sampleStories,
  startAthenaTwin,
  WORKGROUP,
} from '../../support/audit-history.ts';
import { TEST_CREDENTIALS } from '../../support/s3-server.ts';

let twin: AthenaTwin;

const DAY1 = '2025-06-01';
const DAY2 = '2025-06-02';

beforeAll(async () => {
  twin = await startAthenaTwin();
  await twin.archiveRecords(sampleStories(DAY1, DAY2).flatMap(requestRecords));
  await twin.archiveLooseRecords(sampleReconciliation(DAY2));
}, 60_000);
afterAll(() => twin.close());

const run = (sql: string) => runAthenaQuery(twin.athena, { sql, workGroup: WORKGROUP, pollIntervalMs: 20 });
const named = (name: NamedAuditQueryName) =>
  run(NAMED_AUDIT_QUERIES.find((query) => query.name === name)!.sql).then(rowObjects);

describe('the named queries on DuckDB (the template text, unchanged)', () => {
  it('pending-requests-by-age: the one request never decided, with its age', async () => {
    const rows = await named('pending-requests-by-age');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      request_id: 'deploy-bot:r4',
      action: 'kms:ScheduleKeyDeletion',
      requested_by: 'deploy-bot',
    });
    expect(Number(rows[0]!.age_minutes)).toBeGreaterThan(60);
  });

  it('decisions-per-policy: counted by policy ids and outcome', async () => {
    expect(await named('decisions-per-policy')).toEqual([
      { policy_ids: '["approval-for-exports"]', decision: 'APPROVED', decisions: '2' },
      { policy_ids: '["iam-changes"]', decision: 'DENIED', decisions: '1' },
    ]);
  });

  it('approvals-per-approver: approving votes only', async () => {
    const rows = await named('approvals-per-approver');
    expect(rows.map((row) => [row.approver, row.approvals])).toEqual([
      ['alice', '2'],
      ['carol', '1'],
    ]);
  });

  it('refused-votes: the self-approval attempt first', async () => {
    const rows = await named('refused-votes');
    expect(rows.map((row) => [row.actor, row.code])).toEqual([
      ['invoice-owner', 'REQUESTER'],
      ['bob', 'NOT_IN_GROUP'],
    ]);
  });

  it('unapproved-privileged-calls and break-glass-reviews: each call with how its review ended', async () => {
    expect(await named('unapproved-privileged-calls')).toEqual([
      expect.objectContaining({
        request_id: 'deploy-bot:call-1',
        event_id: 'evt-deploy-bot-call-1',
        action: 's3:PutBucketPolicy',
        reviewer: 'alice',
        review_outcome: 'ESCALATED',
      }),
    ]);
    expect(await named('break-glass-reviews')).toEqual([
      expect.objectContaining({
        request_id: 'deploy-bot:bg1',
        action: 'kms:DisableKey',
        requested_by: 'deploy-bot',
        reviewer: null,
        review_outcome: 'OPEN',
      }),
    ]);
  });

  it('time-to-decision-per-day: p50 and p95 per day of the decision', async () => {
    const rows = await named('time-to-decision-per-day');
    expect(rows.map((row) => [row.day, row.decisions])).toEqual([
      [DAY1, '2'],
      [DAY2, '2'],
    ]);
    // Day 2: the denial after 300 s and the break-glass use decided after 1 s.
    expect(Number(rows[1]!.p95_seconds)).toBe(300);
    expect(Number(rows[1]!.p50_seconds)).toBeLessThan(300);
    expect(Number(rows[0]!.p50_seconds)).toBeGreaterThanOrEqual(60);
    expect(Number(rows[0]!.p95_seconds)).toBeLessThanOrEqual(120);
  });
});

describe('the table', () => {
  it('has the Glue columns and partitions, data as JSON text, partitions from the keys', async () => {
    const result = await run(
      "SELECT * FROM countersign.audit_records WHERE request_id = 'invoice-bot:r1' AND kind = 'DECIDED'",
    );
    expect(result.columns).toEqual([
      { name: 'record_id', type: 'varchar' },
      { name: 'schema_version', type: 'integer' },
      { name: 'request_id', type: 'varchar' },
      { name: 'seq', type: 'integer' },
      { name: 'kind', type: 'varchar' },
      { name: 'record_key', type: 'varchar' },
      { name: 'at', type: 'varchar' },
      { name: 'actor', type: 'varchar' },
      { name: 'data', type: 'varchar' },
      { name: 'dt', type: 'varchar' },
      { name: 'hour', type: 'integer' },
    ]);
    const [row] = rowObjects(result);
    expect(row).toMatchObject({
      record_id: `invoice-bot:r1#${row!.seq}`,
      schema_version: '1',
      kind: 'DECIDED',
      dt: DAY1,
      hour: '9',
    });
    expect(JSON.parse(row!.data!)).toEqual({ decision: 'APPROVED', approvers: ['alice'] });
  });

  it('identifies every record once by record_id', async () => {
    const result = await run(
      'SELECT count(*) AS records, count(DISTINCT record_id) AS ids FROM countersign.audit_records',
    );
    const [records, ids] = result.rows[0]!;
    expect(Number(records)).toBeGreaterThan(0);
    expect(ids).toBe(records);
  });

  it('counts what the archive holds, by SQL', async () => {
    const result = await run(
      "SELECT count(DISTINCT request_id) AS decided FROM countersign.audit_records WHERE kind = 'DECIDED'",
    );
    expect(result.rows).toEqual([['4']]);
    expect(result.bytesScanned).toBeGreaterThan(0);
  });
});

describe('the Athena API', () => {
  it('pages results with the header row first, MaxResults and NextToken', async () => {
    const { QueryExecutionId } = await twin.athena.send(
      new StartQueryExecutionCommand({
        QueryString: 'SELECT request_id, seq FROM countersign.audit_records ORDER BY request_id, seq',
        WorkGroup: WORKGROUP,
      }),
    );
    await runUntilDone(QueryExecutionId!);
    const first = await twin.athena.send(new GetQueryResultsCommand({ QueryExecutionId, MaxResults: 3 }));
    expect(first.ResultSet?.Rows?.[0]?.Data).toEqual([
      { VarCharValue: 'request_id' },
      { VarCharValue: 'seq' },
    ]);
    expect(first.ResultSet?.Rows).toHaveLength(3);
    expect(first.ResultSet?.ResultSetMetadata?.ColumnInfo?.map((c) => c.Type)).toEqual([
      'varchar',
      'integer',
    ]);
    const seen = first.ResultSet!.Rows!.slice(1).map((row) => row.Data![0]!.VarCharValue);
    let token = first.NextToken;
    while (token !== undefined) {
      const page = await twin.athena.send(
        new GetQueryResultsCommand({ QueryExecutionId, MaxResults: 4, NextToken: token }),
      );
      seen.push(...page.ResultSet!.Rows!.map((row) => row.Data![0]!.VarCharValue));
      token = page.NextToken;
    }
    const all = await run('SELECT count(*) FROM countersign.audit_records');
    expect(seen).toHaveLength(Number(all.rows[0]![0]));
  });

  it('reports states, statistics, the enforced result location and its encryption', async () => {
    const { QueryExecutionId } = await twin.athena.send(
      new StartQueryExecutionCommand({
        QueryString: 'SELECT 1',
        WorkGroup: WORKGROUP,
        ResultConfiguration: { OutputLocation: 's3://somewhere-else/' },
        QueryExecutionContext: { Database: 'countersign' },
      }),
    );
    const execution = await runUntilDone(QueryExecutionId!);
    expect(execution).toMatchObject({
      QueryExecutionId,
      StatementType: 'DML',
      WorkGroup: WORKGROUP,
      Status: { State: 'SUCCEEDED' },
      ResultConfiguration: {
        OutputLocation: `${RESULTS_LOCATION}${QueryExecutionId}.csv`,
        EncryptionConfiguration: { EncryptionOption: 'SSE_KMS' },
      },
      QueryExecutionContext: { Database: 'countersign' },
      EngineVersion: { EffectiveEngineVersion: 'Athena engine version 3' },
    });
    expect(execution.Status?.SubmissionDateTime).toBeInstanceOf(Date);
    expect(execution.Status?.CompletionDateTime).toBeInstanceOf(Date);
    expect(execution.Statistics?.TotalExecutionTimeInMillis).toBeGreaterThanOrEqual(0);
  });

  it('fails bad SQL with DuckDB’s message, and refuses its results', async () => {
    const error = await run('SELEC nonsense FROM nowhere').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AthenaQueryError);
    expect((error as AthenaQueryError).state).toBe('FAILED');
    expect((error as Error).message).toMatch(/syntax error/i);
    const failed = await run('SELECT no_such_column FROM countersign.audit_records').catch((e: unknown) => e);
    expect((failed as Error).message).toMatch(/no_such_column/);
    await expect(
      twin.athena.send(
        new GetQueryResultsCommand({ QueryExecutionId: (error as AthenaQueryError).executionId }),
      ),
    ).rejects.toThrow(/Final query state: FAILED/);
  });

  it('reads only the archive: no host files, no writes, no DDL, one statement', async () => {
    for (const sql of [
      "SELECT * FROM read_text('/etc/passwd')",
      "COPY (SELECT 1) TO '/tmp/countersign-athena-escape.csv'",
      'CREATE TABLE countersign.x AS SELECT 1',
      'DROP VIEW countersign.audit_records',
      'SELECT 1; SELECT 2',
      'INSTALL httpfs',
      'SET enable_external_access = true',
    ]) {
      const outcome = await run(sql).catch((caught: unknown) => caught);
      expect(outcome, sql).toBeInstanceOf(AthenaQueryError);
    }
    const still = await run('SELECT count(*) FROM countersign.audit_records');
    expect(Number(still.rows[0]![0])).toBeGreaterThan(0);
  });

  it('returns the same execution for the same ClientRequestToken', async () => {
    const token = 'a'.repeat(40);
    const start = (QueryString: string) =>
      twin.athena.send(
        new StartQueryExecutionCommand({ QueryString, WorkGroup: WORKGROUP, ClientRequestToken: token }),
      );
    const first = await start('SELECT 42');
    const again = await start('SELECT 42');
    expect(again.QueryExecutionId).toBe(first.QueryExecutionId);
    await expect(start('SELECT 43')).rejects.toBeInstanceOf(InvalidRequestException);
  });

  it('cancels a queued query; an unknown execution or workgroup is an InvalidRequestException', async () => {
    const slow = await twin.athena.send(
      new StartQueryExecutionCommand({
        QueryString: 'SELECT count(*) FROM range(3000000000) a',
        WorkGroup: WORKGROUP,
      }),
    );
    const queued = await twin.athena.send(
      new StartQueryExecutionCommand({ QueryString: 'SELECT 1', WorkGroup: WORKGROUP }),
    );
    await twin.athena.send(new StopQueryExecutionCommand({ QueryExecutionId: queued.QueryExecutionId }));
    await twin.athena.send(new StopQueryExecutionCommand({ QueryExecutionId: slow.QueryExecutionId }));
    expect((await runUntilDone(queued.QueryExecutionId!)).Status?.State).toBe('CANCELLED');
    expect((await runUntilDone(slow.QueryExecutionId!)).Status?.State).toBe('CANCELLED');
    await expect(
      twin.athena.send(new GetQueryExecutionCommand({ QueryExecutionId: 'no-such-id' })),
    ).rejects.toBeInstanceOf(InvalidRequestException);
    await expect(
      twin.athena.send(new StartQueryExecutionCommand({ QueryString: 'SELECT 1', WorkGroup: 'nope' })),
    ).rejects.toThrow(/WorkGroup nope is not found/);
  });

  it('lists and reads the named queries and the workgroup', async () => {
    const { NamedQueryIds } = await twin.athena.send(new ListNamedQueriesCommand({ WorkGroup: WORKGROUP }));
    expect(NamedQueryIds).toHaveLength(NAMED_AUDIT_QUERIES.length);
    const { NamedQueries, UnprocessedNamedQueryIds } = await twin.athena.send(
      new BatchGetNamedQueryCommand({ NamedQueryIds: [...NamedQueryIds!, 'missing'] }),
    );
    expect(NamedQueries?.map((query) => query.Name).sort()).toEqual(
      NAMED_AUDIT_QUERIES.map((query) => query.name).sort(),
    );
    expect(UnprocessedNamedQueryIds?.map((entry) => entry.NamedQueryId)).toEqual(['missing']);
    const { NamedQuery } = await twin.athena.send(
      new GetNamedQueryCommand({ NamedQueryId: NamedQueryIds![0] }),
    );
    expect(NamedQuery?.Database).toBe('countersign');
    const { WorkGroup } = await twin.athena.send(new GetWorkGroupCommand({ WorkGroup: WORKGROUP }));
    expect(WorkGroup?.Configuration).toMatchObject({
      EnforceWorkGroupConfiguration: true,
      ResultConfiguration: { OutputLocation: RESULTS_LOCATION },
    });
  });
});

describe('the AWS CLI', () => {
  const cli = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        'aws',
        [...args, '--endpoint-url', twin.endpoint, '--region', 'us-east-1', '--output', 'json'],
        {
          env: {
            ...process.env,
            AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
            AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
            AWS_CONFIG_FILE: '/dev/null',
            AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
          },
        },
        (error, stdout, stderr) =>
          resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), stdout, stderr }),
      );
    });

  it('runs a named query and gets its rows', async (context) => {
    const version = await cli(['--version']);
    if (version.code !== 0) {
      console.log('AWS CLI not installed: the CLI half of the Athena test was not run');
      context.skip();
    }
    const query = NAMED_AUDIT_QUERIES.find((candidate) => candidate.name === 'approvals-per-approver')!;
    const started = await cli([
      'athena',
      'start-query-execution',
      '--work-group',
      WORKGROUP,
      '--query-string',
      query.sql,
    ]);
    expect(started.code, started.stderr).toBe(0);
    const id = JSON.parse(started.stdout).QueryExecutionId as string;
    await runUntilDone(id);
    const results = await cli(['athena', 'get-query-results', '--query-execution-id', id]);
    expect(results.code, results.stderr).toBe(0);
    const rows = JSON.parse(results.stdout).ResultSet.Rows as { Data: { VarCharValue?: string }[] }[];
    expect(rows.map((row) => row.Data[0]?.VarCharValue)).toEqual(['approver', 'alice', 'carol']);
  });
});

describe('countersign audit', () => {
  let dataDir: string;
  const countersign = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: unknown) => void out.push(String(line)));
    const error = vi
      .spyOn(console, 'error')
      .mockImplementation((line: unknown) => void err.push(String(line)));
    const write = vi
      .spyOn(process.stderr, 'write')
      .mockImplementation((chunk: unknown) => err.push(String(chunk)) > 0);
    try {
      const code = await main([...args, '--url', twin.endpoint, '--data-dir', dataDir]);
      return { code, stdout: out.join('\n'), stderr: err.join('') };
    } finally {
      log.mockRestore();
      error.mockRestore();
      write.mockRestore();
    }
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'countersign-cli-'));
    await writeFile(join(dataDir, 'operator-credentials.json'), JSON.stringify(TEST_CREDENTIALS));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('query prints rows as a table, CSV or JSON, with a progress line on stderr', async () => {
    const sql =
      "SELECT r.request_id, json_extract_scalar(r.data, '$.decision') AS decision FROM countersign.audit_records r WHERE r.kind = 'DECIDED' ORDER BY 1";
    const table = await countersign('audit', 'query', sql);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^request_id\s+decision$/);
    expect(table.stdout).toContain('deploy-bot:r3');
    expect(table.stderr).toMatch(/SUCCEEDED \d+\.\d s, \d+\.\d\d MB scanned/);
    const csv = await countersign('audit', 'query', sql, '--format', 'csv');
    expect(csv.stdout.split('\r\n')).toEqual([
      'request_id,decision',
      'deploy-bot:bg1,BREAK_GLASS',
      'deploy-bot:r3,DENIED',
      'invoice-bot:r1,APPROVED',
      'invoice-bot:r2,APPROVED',
    ]);
    const json = await countersign('audit', 'query', sql, '--format', 'json');
    expect(JSON.parse(json.stdout)[0]).toEqual({ request_id: 'deploy-bot:bg1', decision: 'BREAK_GLASS' });
  });

  it('bad SQL exits 1 with the engine’s reason; bad usage exits 2', async () => {
    const bad = await countersign('audit', 'query', 'SELEC 1');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/the query failed: .*syntax error/i);
    expect((await countersign('audit', 'query')).code).toBe(2);
    expect((await countersign('audit', 'query', 'SELECT 1', '--format', 'xml')).code).toBe(2);
    expect((await countersign('audit', 'queries', 'run', 'no-such-query')).code).toBe(2);
  });

  it('queries lists the named queries and runs one by name', async () => {
    const listed = await countersign('audit', 'queries');
    expect(listed.code).toBe(0);
    for (const query of NAMED_AUDIT_QUERIES) expect(listed.stdout).toContain(query.name);
    const ran = await countersign('audit', 'queries', 'run', 'refused-votes', '--format', 'json');
    expect(ran.code, ran.stderr).toBe(0);
    expect(JSON.parse(ran.stdout).map((row: { code: string }) => row.code)).toEqual([
      'REQUESTER',
      'NOT_IN_GROUP',
    ]);
  });
});

async function runUntilDone(id: string) {
  for (;;) {
    const { QueryExecution } = await twin.athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    if (!['QUEUED', 'RUNNING'].includes(QueryExecution?.Status?.State ?? '')) return QueryExecution!;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
