/**
 * Athena on the twin (JSON 1.1, `X-Amz-Target: AmazonAthena.*`) over DuckDB: StartQueryExecution
 * (QueryExecutionContext, WorkGroup, ClientRequestToken idempotency), GetQueryExecution (QUEUED →
 * RUNNING → SUCCEEDED | FAILED | CANCELLED, statistics, StateChangeReason), GetQueryResults (the
 * header row first, ResultSetMetadata.ColumnInfo with Athena's type names, MaxResults ≤ 1000,
 * NextToken), StopQueryExecution, ListNamedQueries, GetNamedQuery, BatchGetNamedQuery, GetWorkGroup
 * and ListWorkGroups. The workgroups and named queries are the template's; queries run one at a
 * time (the others wait QUEUED) on the archive as it is when they start.
 *
 * Deviations, named: results are paged from memory (the last MAX_KEPT executions) and not written
 * as CSV to the result location, which is reported as Athena would name it; DataScannedInBytes is
 * the stored size of every archive object the table covers (the twin does not prune partitions);
 * ExecutionParameters are refused.
 */
import { createHash, randomUUID } from 'node:crypto';
import * as z from 'zod';
import { AwsProtocolError } from '../front/errors.ts';
import { jsonService } from '../front/json-service.ts';
import type { JsonAwsService } from '../front/service.ts';
import { type ArchiveQueryEngine, QueryFailedError, type QueryResult } from './duckdb-engine.ts';

export const ATHENA_TARGET_PREFIX = 'AmazonAthena';
export const ENGINE_VERSION = 'Athena engine version 3';
/** Athena's workgroup when a request names none. */
export const PRIMARY_WORKGROUP = 'primary';
const MAX_RESULTS = 1000;
const MAX_NAMED_QUERY_PAGE = 50;
const MAX_KEPT = 500;

export const QueryState = {
  queued: 'QUEUED',
  running: 'RUNNING',
  succeeded: 'SUCCEEDED',
  failed: 'FAILED',
  cancelled: 'CANCELLED',
} as const;
type QueryState = (typeof QueryState)[keyof typeof QueryState];

/** An `AWS::Athena::WorkGroup` of the template. */
export interface TemplateWorkGroup {
  readonly name: string;
  readonly description?: string;
  readonly outputLocation?: string;
  readonly enforce: boolean;
  readonly bytesScannedCutoffPerQuery?: number;
  readonly encryption?: { readonly EncryptionOption: string; readonly KmsKey?: string };
}

/** An `AWS::Athena::NamedQuery` of the template. */
export interface TemplateNamedQuery {
  readonly id: string;
  readonly name: string;
  readonly description?: string;
  readonly database: string;
  readonly queryString: string;
  readonly workGroup: string;
}

/** A stable UUID-shaped id for a template resource (Athena's named query ids are UUIDs). */
export function templateResourceUuid(logicalId: string): string {
  const hex = createHash('sha256').update(`athena:${logicalId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

interface Execution {
  readonly id: string;
  readonly query: string;
  readonly workGroup: string;
  readonly database?: string;
  readonly outputLocation?: string;
  readonly submittedAt: Date;
  state: QueryState;
  reason?: string;
  startedAt?: Date;
  completedAt?: Date;
  result?: QueryResult;
  cancel?: () => void;
}

function invalid(message: string): AwsProtocolError {
  return new AwsProtocolError('InvalidRequestException', message, 400);
}

function parseInput<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const result = schema.safeParse(input);
  if (!result.success) {
    const problem = result.error.issues[0]!;
    throw new AwsProtocolError(
      'InvalidRequestException',
      `1 validation error detected: Value at '${problem.path.join('.')}' failed to satisfy constraint: ${problem.message}`,
    );
  }
  return result.data;
}

const StartInput = z.object({
  QueryString: z.string().min(1).max(262144),
  ClientRequestToken: z.string().min(32).max(128).optional(),
  QueryExecutionContext: z
    .object({ Database: z.string().optional(), Catalog: z.string().optional() })
    .optional(),
  ResultConfiguration: z.object({ OutputLocation: z.string().optional() }).loose().optional(),
  WorkGroup: z.string().optional(),
  ExecutionParameters: z.array(z.string()).optional(),
});
const ExecutionInput = z.object({ QueryExecutionId: z.string().min(1).max(128) });
const ResultsInput = ExecutionInput.extend({
  MaxResults: z.number().int().min(1).max(MAX_RESULTS).optional(),
  NextToken: z.string().max(1024).optional(),
});
const ListNamedInput = z.object({
  MaxResults: z.number().int().min(0).max(MAX_NAMED_QUERY_PAGE).optional(),
  NextToken: z.string().max(1024).optional(),
  WorkGroup: z.string().optional(),
});
const NamedInput = z.object({ NamedQueryId: z.string().min(1) });
const BatchNamedInput = z.object({ NamedQueryIds: z.array(z.string()).min(1).max(50) });
const WorkGroupInput = z.object({ WorkGroup: z.string().min(1) });

function offsetToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset }), 'utf8').toString('base64url');
}

function tokenOffset(token: string | undefined): number {
  if (token === undefined) return 0;
  try {
    const { offset } = z
      .object({ offset: z.number().int().nonnegative() })
      .parse(JSON.parse(Buffer.from(token, 'base64url').toString('utf8')));
    return offset;
  } catch {
    throw invalid('The NextToken is not valid.');
  }
}

export class LocalAthena {
  readonly #engine: ArchiveQueryEngine;
  readonly #workGroups: readonly TemplateWorkGroup[];
  readonly #namedQueries: readonly TemplateNamedQuery[];
  readonly #executions = new Map<string, Execution>();
  readonly #tokens = new Map<string, string>();
  #queue: Promise<void> = Promise.resolve();
  readonly #createdAt = new Date();

  constructor(options: {
    readonly engine: ArchiveQueryEngine;
    readonly workGroups: readonly TemplateWorkGroup[];
    readonly namedQueries: readonly TemplateNamedQuery[];
  }) {
    this.#engine = options.engine;
    this.#workGroups = [
      { name: PRIMARY_WORKGROUP, enforce: false },
      ...options.workGroups.filter((group) => group.name !== PRIMARY_WORKGROUP),
    ];
    this.#namedQueries = options.namedQueries;
  }

  #workGroup(name: string): TemplateWorkGroup {
    const group = this.#workGroups.find((candidate) => candidate.name === name);
    if (group === undefined) throw invalid(`WorkGroup ${name} is not found.`);
    return group;
  }

  #execution(id: string): Execution {
    const execution = this.#executions.get(id);
    if (execution === undefined) throw invalid(`QueryExecution ${id} was not found`);
    return execution;
  }

  startQueryExecution(input: unknown) {
    const request = parseInput(StartInput, input);
    const group = this.#workGroup(request.WorkGroup ?? PRIMARY_WORKGROUP);
    if (request.ExecutionParameters !== undefined)
      throw invalid('The twin does not support ExecutionParameters');
    if (request.ClientRequestToken !== undefined) {
      const known = this.#tokens.get(request.ClientRequestToken);
      const previous = known === undefined ? undefined : this.#executions.get(known);
      if (previous !== undefined) {
        if (previous.query !== request.QueryString || previous.workGroup !== group.name)
          throw invalid('Idempotent parameters do not match the request with the same ClientRequestToken');
        return { QueryExecutionId: previous.id };
      }
    }
    const requested = request.ResultConfiguration?.OutputLocation;
    const base = group.enforce ? group.outputLocation : (requested ?? group.outputLocation);
    if (base === undefined) {
      throw invalid(
        'No output location provided. An output location is required either through the Workgroup result configuration setting or as an API input.',
      );
    }
    const id = randomUUID();
    const execution: Execution = {
      id,
      query: request.QueryString,
      workGroup: group.name,
      ...(request.QueryExecutionContext?.Database === undefined
        ? {}
        : { database: request.QueryExecutionContext.Database }),
      outputLocation: `${base.endsWith('/') ? base : `${base}/`}${id}.csv`,
      submittedAt: new Date(),
      state: QueryState.queued,
    };
    this.#executions.set(id, execution);
    if (request.ClientRequestToken !== undefined) this.#tokens.set(request.ClientRequestToken, id);
    this.#forgetOld();
    this.#queue = this.#queue.then(() => this.#run(execution, group));
    return { QueryExecutionId: id };
  }

  async #run(execution: Execution, group: TemplateWorkGroup): Promise<void> {
    if (execution.state !== QueryState.queued) return;
    execution.state = QueryState.running;
    execution.startedAt = new Date();
    let cancelled = false;
    execution.cancel = () => {
      cancelled = true;
      this.#engine.interrupt();
    };
    try {
      const result = await this.#engine.run(execution.query);
      if (cancelled) return;
      if (
        group.bytesScannedCutoffPerQuery !== undefined &&
        result.bytesScanned > group.bytesScannedCutoffPerQuery
      ) {
        execution.state = QueryState.failed;
        execution.reason = 'Query cancelled! : Bytes scanned limit was exceeded';
        return;
      }
      execution.result = result;
      execution.state = QueryState.succeeded;
    } catch (error) {
      if (cancelled) return;
      execution.state = QueryState.failed;
      execution.reason =
        error instanceof QueryFailedError ? error.message : `Internal error: ${(error as Error).message}`;
    } finally {
      delete execution.cancel;
      if (cancelled) execution.state = QueryState.cancelled;
      execution.completedAt = new Date();
    }
  }

  #forgetOld(): void {
    for (const [id, execution] of this.#executions) {
      if (this.#executions.size <= MAX_KEPT) return;
      if (execution.state === QueryState.queued || execution.state === QueryState.running) continue;
      this.#executions.delete(id);
    }
  }

  getQueryExecution(input: unknown) {
    const execution = this.#execution(parseInput(ExecutionInput, input).QueryExecutionId);
    const group = this.#workGroup(execution.workGroup);
    const now = new Date();
    const end = execution.completedAt ?? now;
    const queuedMs = (execution.startedAt ?? now).getTime() - execution.submittedAt.getTime();
    const engineMs = execution.startedAt === undefined ? 0 : end.getTime() - execution.startedAt.getTime();
    return {
      QueryExecution: {
        QueryExecutionId: execution.id,
        Query: execution.query,
        StatementType: 'DML',
        SubstatementType: 'SELECT',
        ResultConfiguration: {
          OutputLocation: execution.outputLocation,
          ...(group.encryption === undefined ? {} : { EncryptionConfiguration: group.encryption }),
        },
        ...(execution.database === undefined
          ? {}
          : { QueryExecutionContext: { Database: execution.database, Catalog: 'awsdatacatalog' } }),
        Status: {
          State: execution.state,
          ...(execution.reason === undefined ? {} : { StateChangeReason: execution.reason }),
          SubmissionDateTime: execution.submittedAt,
          ...(execution.completedAt === undefined ? {} : { CompletionDateTime: execution.completedAt }),
          ...(execution.state === QueryState.failed
            ? {
                AthenaError: {
                  ErrorCategory: 2,
                  ErrorType: 1100,
                  Retryable: false,
                  ErrorMessage: execution.reason,
                },
              }
            : {}),
        },
        Statistics: {
          EngineExecutionTimeInMillis: engineMs,
          DataScannedInBytes: execution.result?.bytesScanned ?? 0,
          TotalExecutionTimeInMillis: end.getTime() - execution.submittedAt.getTime(),
          QueryQueueTimeInMillis: queuedMs,
          ServicePreProcessingTimeInMillis: 0,
          QueryPlanningTimeInMillis: 0,
          ServiceProcessingTimeInMillis: 0,
        },
        WorkGroup: execution.workGroup,
        EngineVersion: { SelectedEngineVersion: ENGINE_VERSION, EffectiveEngineVersion: ENGINE_VERSION },
      },
    };
  }

  getQueryResults(input: unknown) {
    const request = parseInput(ResultsInput, input);
    const execution = this.#execution(request.QueryExecutionId);
    if (execution.state === QueryState.queued || execution.state === QueryState.running)
      throw invalid(`Query has not yet finished. Current state: ${execution.state}`);
    if (execution.result === undefined)
      throw invalid(`Query did not finish successfully. Final query state: ${execution.state}`);
    const { columns, rows } = execution.result;
    const offset = tokenOffset(request.NextToken);
    const limit = request.MaxResults ?? MAX_RESULTS;
    // The header row is the first row of the first page, as Athena sends it for a SELECT.
    const header = offset === 0 ? [{ Data: columns.map((column) => ({ VarCharValue: column.name })) }] : [];
    const first = offset === 0 ? 0 : offset - 1;
    const count = limit - header.length;
    const page = rows.slice(first, first + count).map((row) => ({
      Data: row.map((value) => (value === null ? {} : { VarCharValue: value })),
    }));
    const next = first + count;
    return {
      UpdateCount: 0,
      ResultSet: {
        Rows: [...header, ...page],
        ResultSetMetadata: {
          ColumnInfo: columns.map((column) => ({
            CatalogName: 'hive',
            SchemaName: '',
            TableName: '',
            Name: column.name,
            Label: column.name,
            Type: column.type,
            Precision: 0,
            Scale: 0,
            Nullable: 'UNKNOWN',
            CaseSensitive: column.type === 'varchar',
          })),
        },
      },
      ...(next < rows.length ? { NextToken: offsetToken(next + 1) } : {}),
    };
  }

  stopQueryExecution(input: unknown) {
    const execution = this.#execution(parseInput(ExecutionInput, input).QueryExecutionId);
    if (execution.state === QueryState.queued) {
      execution.state = QueryState.cancelled;
      execution.completedAt = new Date();
    } else if (execution.state === QueryState.running) {
      execution.cancel?.();
    }
    return {};
  }

  listNamedQueries(input: unknown) {
    const request = parseInput(ListNamedInput, input);
    const group = this.#workGroup(request.WorkGroup ?? PRIMARY_WORKGROUP);
    const ids = this.#namedQueries.filter((query) => query.workGroup === group.name).map((query) => query.id);
    const offset = tokenOffset(request.NextToken);
    const limit =
      request.MaxResults === undefined || request.MaxResults === 0
        ? MAX_NAMED_QUERY_PAGE
        : request.MaxResults;
    return {
      NamedQueryIds: ids.slice(offset, offset + limit),
      ...(offset + limit < ids.length ? { NextToken: offsetToken(offset + limit) } : {}),
    };
  }

  #namedQuery(query: TemplateNamedQuery) {
    return {
      Name: query.name,
      ...(query.description === undefined ? {} : { Description: query.description }),
      Database: query.database,
      QueryString: query.queryString,
      NamedQueryId: query.id,
      WorkGroup: query.workGroup,
    };
  }

  getNamedQuery(input: unknown) {
    const id = parseInput(NamedInput, input).NamedQueryId;
    const query = this.#namedQueries.find((candidate) => candidate.id === id);
    if (query === undefined) throw invalid(`NamedQuery ${id} was not found`);
    return { NamedQuery: this.#namedQuery(query) };
  }

  batchGetNamedQuery(input: unknown) {
    const ids = parseInput(BatchNamedInput, input).NamedQueryIds;
    const found = ids.flatMap((id) => this.#namedQueries.filter((query) => query.id === id));
    return {
      NamedQueries: found.map((query) => this.#namedQuery(query)),
      UnprocessedNamedQueryIds: ids
        .filter((id) => !found.some((query) => query.id === id))
        .map((id) => ({
          NamedQueryId: id,
          ErrorCode: 'INVALID_INPUT',
          ErrorMessage: `NamedQuery ${id} was not found`,
        })),
    };
  }

  getWorkGroup(input: unknown) {
    const group = this.#workGroup(parseInput(WorkGroupInput, input).WorkGroup);
    return {
      WorkGroup: {
        Name: group.name,
        State: 'ENABLED',
        ...(group.description === undefined ? {} : { Description: group.description }),
        CreationTime: this.#createdAt,
        Configuration: {
          ...(group.outputLocation === undefined
            ? {}
            : {
                ResultConfiguration: {
                  OutputLocation: group.outputLocation,
                  ...(group.encryption === undefined ? {} : { EncryptionConfiguration: group.encryption }),
                },
              }),
          EnforceWorkGroupConfiguration: group.enforce,
          ...(group.bytesScannedCutoffPerQuery === undefined
            ? {}
            : { BytesScannedCutoffPerQuery: group.bytesScannedCutoffPerQuery }),
          EngineVersion: { SelectedEngineVersion: ENGINE_VERSION, EffectiveEngineVersion: ENGINE_VERSION },
        },
      },
    };
  }

  listWorkGroups() {
    return {
      WorkGroups: this.#workGroups.map((group) => ({
        Name: group.name,
        State: 'ENABLED',
        ...(group.description === undefined ? {} : { Description: group.description }),
        CreationTime: this.#createdAt,
        EngineVersion: { SelectedEngineVersion: ENGINE_VERSION, EffectiveEngineVersion: ENGINE_VERSION },
      })),
    };
  }

  /** Waits for every queued query, then closes DuckDB. */
  async close(): Promise<void> {
    for (const execution of this.#executions.values()) execution.cancel?.();
    await this.#queue;
    this.#engine.close();
  }
}

/** Athena's JSON protocol on the front: JSON 1.1, `X-Amz-Target: AmazonAthena.<Operation>`. */
export function athenaService(athena: LocalAthena): JsonAwsService {
  return jsonService({
    signingName: 'athena',
    targetPrefix: ATHENA_TARGET_PREFIX,
    jsonVersion: '1.1',
    operations: {
      StartQueryExecution: (input) => athena.startQueryExecution(input),
      GetQueryExecution: (input) => athena.getQueryExecution(input),
      GetQueryResults: (input) => athena.getQueryResults(input),
      StopQueryExecution: (input) => athena.stopQueryExecution(input),
      ListNamedQueries: (input) => athena.listNamedQueries(input),
      GetNamedQuery: (input) => athena.getNamedQuery(input),
      BatchGetNamedQuery: (input) => athena.batchGetNamedQuery(input),
      GetWorkGroup: (input) => athena.getWorkGroup(input),
      ListWorkGroups: () => athena.listWorkGroups(),
    },
  });
}
