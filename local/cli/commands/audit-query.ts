/**
 * `countersign audit query "<sql>" [--format table|csv|json]`, `countersign audit queries` (the
 * named queries of the workgroup) and `countersign audit queries run <name>`: SQL over the audit
 * archive through the Athena API, the twin's by default, AWS's with `--aws`. A progress line on
 * stderr while a query runs; a query Athena fails (bad SQL) exits 1 with Athena's reason; bad
 * usage exits 2.
 */
import { BatchGetNamedQueryCommand, ListNamedQueriesCommand, type NamedQuery } from '@aws-sdk/client-athena';
import { AthenaQueryError, type QueryRun } from '../../../lambdas/adapters/athena/athena-query-runner.ts';
import { ATHENA_OPTIONS, type AthenaTarget, athenaTarget, runWithProgress } from '../audit-athena.ts';
import { ExitCode, parseCommandLine, printJson, renderTable, runCommand, UsageError } from '../output.ts';

const USAGE = [
  'countersign audit query "<sql>" [--format table|csv|json] [--aws] [--workgroup <name>] [--url <twin>] [--data-dir <dir>]',
  '       countersign audit queries [run <name> [--format table|csv|json]] [--aws] [--workgroup <name>]',
].join('\n');

const FORMATS = ['table', 'csv', 'json'] as const;
type Format = (typeof FORMATS)[number];

function csvField(value: string | null): string {
  if (value === null) return '';
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** The result as a table (NULL shown as such), RFC 4180 CSV with a header, or a JSON array of objects. */
export function formatRun(run: QueryRun, format: Format): string {
  const names = run.columns.map((column) => column.name);
  if (format === 'csv') {
    return [names, ...run.rows].map((row) => row.map(csvField).join(',')).join('\r\n');
  }
  if (format === 'json') {
    return JSON.stringify(
      run.rows.map((row) => Object.fromEntries(names.map((name, index) => [name, row[index] ?? null]))),
      null,
      2,
    );
  }
  return renderTable(
    run.rows,
    names.map((name, index) => ({ header: name, value: (row) => row[index] ?? 'NULL' })),
  );
}

async function namedQueries(target: AthenaTarget): Promise<NamedQuery[]> {
  const ids: string[] = [];
  let token: string | undefined;
  do {
    const page = await target.client.send(
      new ListNamedQueriesCommand({
        WorkGroup: target.workGroup,
        ...(token === undefined ? {} : { NextToken: token }),
      }),
    );
    ids.push(...(page.NamedQueryIds ?? []));
    token = page.NextToken;
  } while (token !== undefined);
  const queries: NamedQuery[] = [];
  for (let index = 0; index < ids.length; index += 50) {
    const batch = await target.client.send(
      new BatchGetNamedQueryCommand({ NamedQueryIds: ids.slice(index, index + 50) }),
    );
    queries.push(...(batch.NamedQueries ?? []));
  }
  return queries.sort((a, b) => (a.Name ?? '').localeCompare(b.Name ?? ''));
}

async function runAndPrint(target: AthenaTarget, sql: string, format: Format): Promise<number> {
  try {
    const run = await runWithProgress(target, sql);
    console.log(formatRun(run, format));
    if (format === 'table') console.error(`${run.rows.length} row(s), query ${run.executionId}`);
    return ExitCode.ok;
  } catch (error) {
    if (!(error instanceof AthenaQueryError)) throw error;
    console.error(
      `countersign audit: the query ${error.state === 'FAILED' ? 'failed' : 'was cancelled'}: ${error.message}`,
    );
    return ExitCode.failure;
  }
}

export async function run(args: string[]): Promise<number> {
  return runCommand('audit', USAGE, args, async () => {
    const { values, positionals } = parseCommandLine({
      args,
      allowPositionals: true,
      options: { ...ATHENA_OPTIONS, format: { type: 'string', default: 'table' } },
    });
    const format = values.format as Format;
    if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
    const [subcommand, ...rest] = positionals;
    if (subcommand === 'query') {
      const [sql, ...extra] = rest;
      if (sql === undefined || sql.trim() === '' || extra.length > 0)
        throw new UsageError('exactly one SQL query (quoted) is required');
      const target = await athenaTarget(values);
      return runAndPrint(target, sql, format);
    }
    if (subcommand === 'queries') {
      const [action, name, ...extra] = rest;
      if (
        extra.length > 0 ||
        (action !== undefined && action !== 'run') ||
        (action === 'run' && name === undefined)
      )
        throw new UsageError('use "audit queries" to list them or "audit queries run <name>"');
      const target = await athenaTarget(values);
      const queries = await namedQueries(target);
      if (action === undefined) {
        if (format === 'json')
          printJson(
            queries.map(({ Name, Description, QueryString }) => ({ Name, Description, QueryString })),
          );
        else
          console.log(
            renderTable(queries, [
              { header: 'NAME', value: (query) => query.Name ?? '' },
              { header: 'DESCRIPTION', value: (query) => query.Description ?? '' },
            ]),
          );
        return ExitCode.ok;
      }
      const query = queries.find((candidate) => candidate.Name === name);
      if (query?.QueryString === undefined) {
        throw new UsageError(
          `no named query "${name}" in workgroup ${target.workGroup} (audit queries lists them)`,
        );
      }
      return runAndPrint(target, query.QueryString, format);
    }
    throw new UsageError('the subcommands are "query" and "queries"');
  });
}
