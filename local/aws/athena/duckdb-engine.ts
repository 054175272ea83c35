/**
 * The twin's query engine: DuckDB (in memory, one connection) over the archive files, exposing
 * schema `countersign` and view `audit_records` with the Glue table's columns, types and partition
 * columns, and the Trino macros, so the named queries run as written. Each archive file is
 * decoded once into a Parquet copy beside it, which queries read. Only single SELECT statements
 * run (Athena's DML); DuckDB may touch nothing but the archive cache (external access off, the
 * directory allowed, the configuration locked), so a query cannot read the host's files, write
 * files or load extensions.
 */
import { rm, stat } from 'node:fs/promises';
import { DuckDBConnection, DuckDBInstance, type DuckDBType, StatementType } from '@duckdb/node-api';
import {
  AUDIT_COLUMNS,
  AUDIT_DATABASE,
  AUDIT_PARTITION_COLUMNS,
  AUDIT_TABLE,
} from '../../../lambdas/domain/audit-queries.ts';
import { CountersignError } from '../../../lambdas/domain/errors.ts';
import type { ArchiveFiles } from './archive-files.ts';
import { TRINO_MACROS } from './trino-macros.ts';

/** A query DuckDB refused or failed: its message is the execution's StateChangeReason. */
export class QueryFailedError extends CountersignError {}

export interface ResultColumn {
  readonly name: string;
  /** Athena's type name (`varchar`, `bigint`, `timestamp with time zone` …). */
  readonly type: string;
}

export interface QueryResult {
  readonly columns: readonly ResultColumn[];
  /** Each value as Athena sends it (text), null for SQL NULL. */
  readonly rows: readonly (readonly (string | null)[])[];
  readonly bytesScanned: number;
}

const HIVE_TO_DUCKDB = { int: 'INTEGER', string: 'VARCHAR' } as const;

/** DuckDB's type names as Athena (Trino) names them. */
function athenaType(type: DuckDBType): string {
  const name = type.toString();
  const simple: Record<string, string> = {
    VARCHAR: 'varchar',
    INTEGER: 'integer',
    BIGINT: 'bigint',
    HUGEINT: 'decimal',
    SMALLINT: 'smallint',
    TINYINT: 'tinyint',
    DOUBLE: 'double',
    FLOAT: 'real',
    BOOLEAN: 'boolean',
    DATE: 'date',
    TIMESTAMP: 'timestamp',
    'TIMESTAMP WITH TIME ZONE': 'timestamp with time zone',
    JSON: 'json',
    UUID: 'uuid',
    INTERVAL: 'interval day to second',
  };
  if (simple[name] !== undefined) return simple[name];
  if (name.startsWith('DECIMAL')) return 'decimal';
  if (name.endsWith('[]')) return 'array';
  if (name.startsWith('STRUCT')) return 'row';
  if (name.startsWith('MAP')) return 'map';
  return 'varchar';
}

function quoted(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

const PARQUET = '.parquet';

/** Only archive objects carry both partitions in their key; anything else under the prefix is not a row. */
const PARTITIONED_PATH = /\/dt=\d{4}-\d{2}-\d{2}\/hour=\d{2}\/[^/]+$/;

const TABLE_COLUMNS = [...AUDIT_COLUMNS, ...AUDIT_PARTITION_COLUMNS];

/** One archive file's records as the table's columns (without the partitions, which its path carries). */
function recordsSql(path: string): string {
  const jsonColumns = AUDIT_COLUMNS.map(
    (column) =>
      `${quoted(column.jsonField)}: ${quoted('jsonText' in column ? 'JSON' : HIVE_TO_DUCKDB[column.hiveType])}`,
  );
  const selected = AUDIT_COLUMNS.map((column) =>
    'jsonText' in column
      ? `CAST("${column.jsonField}" AS VARCHAR) AS ${column.name}`
      : `"${column.jsonField}" AS ${column.name}`,
  );
  return `SELECT ${selected.join(', ')}
FROM read_json([${quoted(path)}], format = 'newline_delimited', compression = 'gzip', columns = {${jsonColumns.join(', ')}})`;
}

/** The view over the Parquet copies of the archive files (an empty relation with the same columns when there are none). */
export function auditViewSql(parquetPaths: readonly string[]): string {
  const target = `${AUDIT_DATABASE}.${AUDIT_TABLE}`;
  if (parquetPaths.length === 0) {
    const columns = TABLE_COLUMNS.map(
      (column) => `CAST(NULL AS ${HIVE_TO_DUCKDB[column.hiveType]}) AS ${column.name}`,
    );
    return `CREATE OR REPLACE VIEW ${target} AS SELECT ${columns.join(', ')} WHERE false`;
  }
  const hiveTypes = AUDIT_PARTITION_COLUMNS.map(
    (column) => `${quoted(column.name)}: ${quoted(HIVE_TO_DUCKDB[column.hiveType])}`,
  );
  return `CREATE OR REPLACE VIEW ${target} AS SELECT ${TABLE_COLUMNS.map((column) => `"${column.name}"`).join(', ')}
FROM read_parquet([${parquetPaths.map(quoted).join(', ')}], hive_partitioning = true, hive_types = {${hiveTypes.join(', ')}})`;
}

function text(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  return String(value);
}

export class ArchiveQueryEngine {
  readonly #instance: DuckDBInstance;
  readonly #connection: DuckDBConnection;
  readonly #files: () => Promise<ArchiveFiles>;
  /** Archive file → the version (inode, size, mtime) its Parquet copy was made from. */
  readonly #converted = new Map<string, string>();

  private constructor(
    instance: DuckDBInstance,
    connection: DuckDBConnection,
    files: () => Promise<ArchiveFiles>,
  ) {
    this.#instance = instance;
    this.#connection = connection;
    this.#files = files;
  }

  /** `root`: the only directory DuckDB may read; `files`: the archive files now (synced before each query). */
  static async open(options: {
    readonly root: string;
    readonly files: () => Promise<ArchiveFiles>;
  }): Promise<ArchiveQueryEngine> {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await DuckDBConnection.create(instance);
    const root = options.root.endsWith('/') ? options.root : `${options.root}/`;
    for (const statement of [
      `SET allowed_directories = [${quoted(root)}]`,
      'SET enable_external_access = false',
      'SET autoinstall_known_extensions = false',
      'SET autoload_known_extensions = false',
      'SET lock_configuration = true',
      `CREATE SCHEMA ${AUDIT_DATABASE}`,
      ...TRINO_MACROS,
      auditViewSql([]),
    ]) {
      await connection.run(statement);
    }
    return new ArchiveQueryEngine(instance, connection, options.files);
  }

  /** Runs one SELECT over the archive as it is now; throws QueryFailedError with DuckDB's message. */
  async run(sql: string): Promise<QueryResult> {
    const files = await this.#files();
    try {
      await this.#connection.run(auditViewSql(await this.#parquetCopies(files.paths)));
      const statements = await this.#connection.extractStatements(sql);
      if (statements.count !== 1) {
        throw new QueryFailedError(`Only one sql statement is allowed. Got: ${statements.count}`);
      }
      const prepared = await statements.prepare(0);
      if (prepared.statementType !== StatementType.SELECT) {
        throw new QueryFailedError('The twin runs only SELECT queries on the audit archive');
      }
      const result = await prepared.runAndReadAll();
      const types = result.columnTypes();
      const columns = result.columnNames().map((name, index) => ({ name, type: athenaType(types[index]!) }));
      const rows = result.getRows().map((row) => row.map(text));
      return { columns, rows, bytesScanned: files.bytes };
    } catch (error) {
      if (error instanceof QueryFailedError) throw error;
      throw new QueryFailedError((error as Error).message, { cause: error });
    }
  }

  /**
   * Each archive file is parsed once per version into a Parquet copy beside it (in the same
   * partition directories), and queries read the copies: gzip JSON is decoded at ingest, not on
   * every query. Copies of files no longer current are removed.
   */
  async #parquetCopies(paths: readonly string[]): Promise<string[]> {
    const partitioned = paths.filter((path) => PARTITIONED_PATH.test(path));
    const current = new Set(partitioned);
    for (const path of this.#converted.keys()) {
      if (current.has(path)) continue;
      await rm(`${path}${PARQUET}`, { force: true });
      this.#converted.delete(path);
    }
    for (const path of partitioned) {
      const file = await stat(path);
      const version = `${file.ino}:${file.size}:${file.mtimeMs}`;
      if (this.#converted.get(path) === version) continue;
      this.#converted.delete(path);
      await this.#connection.run(
        `COPY (${recordsSql(path)}) TO ${quoted(`${path}${PARQUET}`)} (FORMAT parquet)`,
      );
      this.#converted.set(path, version);
    }
    return partitioned.map((path) => `${path}${PARQUET}`);
  }

  /** Stops the running query (DuckDB raises an INTERRUPT error in it). */
  interrupt(): void {
    this.#connection.interrupt();
  }

  close(): void {
    this.#connection.closeSync();
    this.#instance.closeSync();
  }
}
