/**
 * Runs one SQL query through the Athena API (AWS's or the twin's, whichever the client points at)
 * and reads every result page: StartQueryExecution, GetQueryExecution until a final state
 * (reporting progress), then GetQueryResults with NextToken, the header row dropped. A query that
 * ends FAILED or CANCELLED throws AthenaQueryError with Athena's StateChangeReason.
 */
import {
  type AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  type QueryExecution,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { CountersignError } from '../../domain/errors.ts';

export class AthenaQueryError extends CountersignError {
  readonly executionId: string;
  readonly state: string;

  constructor(executionId: string, state: string, reason: string) {
    super(`query ${executionId} ${state}: ${reason}`);
    this.executionId = executionId;
    this.state = state;
  }
}

export interface QueryProgress {
  readonly executionId: string;
  readonly state: string;
  readonly elapsedMs: number;
  readonly bytesScanned: number;
}

export interface QueryRun {
  readonly executionId: string;
  readonly sql: string;
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  /** Values as text, null for SQL NULL. */
  readonly rows: readonly (readonly (string | null)[])[];
  readonly bytesScanned: number;
}

export interface RunQueryOptions {
  readonly sql: string;
  readonly workGroup: string;
  /** @default 'countersign' */
  readonly database?: string;
  readonly onProgress?: (progress: QueryProgress) => void;
  /** @default 200 */
  readonly pollIntervalMs?: number;
}

const FINAL_STATES = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
const PAGE_SIZE = 1000;

export async function runAthenaQuery(client: AthenaClient, options: RunQueryOptions): Promise<QueryRun> {
  const started = Date.now();
  const { QueryExecutionId: executionId } = await client.send(
    new StartQueryExecutionCommand({
      QueryString: options.sql,
      WorkGroup: options.workGroup,
      QueryExecutionContext: { Database: options.database ?? 'countersign' },
    }),
  );
  if (executionId === undefined) throw new CountersignError('Athena returned no QueryExecutionId');
  let execution: QueryExecution | undefined;
  for (;;) {
    ({ QueryExecution: execution } = await client.send(
      new GetQueryExecutionCommand({ QueryExecutionId: executionId }),
    ));
    const state = execution?.Status?.State ?? 'UNKNOWN';
    options.onProgress?.({
      executionId,
      state,
      elapsedMs: Date.now() - started,
      bytesScanned: execution?.Statistics?.DataScannedInBytes ?? 0,
    });
    if (FINAL_STATES.has(state)) break;
    await new Promise((resolve) => setTimeout(resolve, options.pollIntervalMs ?? 200));
  }
  const state = execution?.Status?.State ?? 'UNKNOWN';
  if (state !== 'SUCCEEDED') {
    throw new AthenaQueryError(executionId, state, execution?.Status?.StateChangeReason ?? 'no reason given');
  }
  const rows: (string | null)[][] = [];
  let columns: { name: string; type: string }[] = [];
  let nextToken: string | undefined;
  let first = true;
  do {
    const page = await client.send(
      new GetQueryResultsCommand({
        QueryExecutionId: executionId,
        MaxResults: PAGE_SIZE,
        ...(nextToken === undefined ? {} : { NextToken: nextToken }),
      }),
    );
    if (first) {
      columns = (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((column) => ({
        name: column.Name ?? '',
        type: column.Type ?? 'varchar',
      }));
    }
    const pageRows = (page.ResultSet?.Rows ?? []).map((row) =>
      (row.Data ?? []).map((datum) => datum.VarCharValue ?? null),
    );
    // The header row opens the first page of a SELECT's results.
    rows.push(...(first ? pageRows.slice(1) : pageRows));
    first = false;
    nextToken = page.NextToken;
  } while (nextToken !== undefined);
  return {
    executionId,
    sql: options.sql,
    columns,
    rows,
    bytesScanned: execution?.Statistics?.DataScannedInBytes ?? 0,
  };
}

/** Rows as objects keyed by column name. */
export function rowObjects(run: QueryRun): Record<string, string | null>[] {
  return run.rows.map((row) =>
    Object.fromEntries(run.columns.map((column, index) => [column.name, row[index] ?? null])),
  );
}
