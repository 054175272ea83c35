/**
 * The twin's DynamoDB: an embedded dynalite persisted under `<dataDir>/dynamodb`, listening on an
 * internal loopback port, with the stack's table created from the template when it is missing.
 * The protocol front forwards DynamoDB requests to it after checking their signature; handlers in
 * the twin talk to it directly.
 */
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DynamoDBClient,
  ListTablesCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import type { TwinTable } from '../cloudformation/template.ts';

export interface LocalDynamo {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** An abstract-level iterator, as dynalite's read streams use it. */
export interface LevelIterator {
  close(): Promise<void>;
  return?: () => Promise<void>;
}

/** The part of dynalite's store (dynalite/db) the twin wraps: its abstract-level database. */
export interface DynaliteStore {
  readonly db: {
    keys(options?: unknown): LevelIterator;
    values(options?: unknown): LevelIterator;
  };
}

const requireCommonJs = createRequire(import.meta.url);

/**
 * dynalite ends the iterator under each of its read streams (Query, Scan, listings) by calling its
 * `return()`, which abstract-level's iterators do not have (they have `close()`): every read left
 * its iterator open, holding its read-ahead items and a LevelDB snapshot for as long as the twin
 * ran (about 10 KB a request in the twin's heap, and the LevelDB data the snapshots pinned).
 */
export function closeEndedIterators(store: DynaliteStore): void {
  const { db } = store;
  for (const method of ['keys', 'values'] as const) {
    const open = db[method].bind(db);
    db[method] = (options) => {
      const iterator = open(options);
      iterator.return ??= () => iterator.close();
      return iterator;
    };
  }
}

/** dynalite's server, its read iterators closed when their stream ends (its store is made inside `dynalite()`). */
function dynaliteClosingIterators(options: Parameters<typeof dynalite>[0]) {
  const db = requireCommonJs('dynalite/db') as { create: (options: unknown) => DynaliteStore };
  const create = db.create;
  db.create = (storeOptions) => {
    const store = create(storeOptions);
    closeEndedIterators(store);
    return store;
  };
  try {
    return dynalite(options);
  } finally {
    db.create = create;
  }
}

function createTableInput(table: TwinTable): CreateTableCommandInput {
  const onDemand = (indexes: unknown[]) =>
    indexes.map((index) => {
      const { ProvisionedThroughput: _throughput, ...rest } = index as Record<string, unknown>;
      return rest;
    });
  return {
    TableName: table.name,
    KeySchema: table.keySchema as CreateTableCommandInput['KeySchema'],
    AttributeDefinitions: table.attributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
    BillingMode: 'PAY_PER_REQUEST',
    ...(table.globalSecondaryIndexes.length > 0
      ? {
          GlobalSecondaryIndexes: onDemand(
            table.globalSecondaryIndexes,
          ) as unknown as CreateTableCommandInput['GlobalSecondaryIndexes'],
        }
      : {}),
    ...(table.localSecondaryIndexes.length > 0
      ? {
          LocalSecondaryIndexes:
            table.localSecondaryIndexes as CreateTableCommandInput['LocalSecondaryIndexes'],
        }
      : {}),
  };
}

/** Creates each table that does not exist yet, exactly as the template declares it. */
async function ensureTables(endpoint: string, tables: readonly TwinTable[], log: (line: string) => void) {
  const client = new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'twin', secretAccessKey: 'twin-internal' },
  });
  try {
    const existing = new Set((await client.send(new ListTablesCommand({}))).TableNames ?? []);
    for (const table of tables) {
      if (existing.has(table.name)) continue;
      log(`creating DynamoDB table ${table.name}`);
      await client.send(new CreateTableCommand(createTableInput(table)));
      await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 0.05 }, { TableName: table.name });
    }
  } finally {
    client.destroy();
  }
}

export async function startLocalDynamo(options: {
  path: string;
  tables: readonly TwinTable[];
  log: (line: string) => void;
}): Promise<LocalDynamo> {
  const server = dynaliteClosingIterators({
    path: options.path,
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const stop = () =>
    new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  try {
    await ensureTables(endpoint, options.tables, options.log);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, stop };
}
