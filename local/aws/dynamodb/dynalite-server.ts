/**
 * The twin's DynamoDB: an embedded dynalite persisted under `<dataDir>/dynamodb`, with the stack's
 * table created from the template when it is missing. The protocol front hands it DynamoDB requests
 * after checking their signature, in this process: dynalite's own request handler (its validation,
 * its errors, its answer byte for byte) is called with the request, without the loopback socket
 * and second HTTP parse a forwarded request cost (about a third of a write's time in the twin).
 * It also listens on an internal loopback port, for callers outside the twin's process. The
 * streams' own reads of the items a write changes (two a write) read dynalite's store directly
 * (`readItem`): GetItem's table lookup and key check, and a synchronous LevelDB read, without a
 * request's JSON text, request id, CRC32 and headers, which were most of such a read's CPU.
 *
 * dynalite reads the table's description from LevelDB (and parses it) at every operation; here it
 * is kept in memory once the table is ACTIVE, until dynalite writes the description again
 * (UpdateTable, DeleteTable): every operation still sees the description LevelDB holds.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
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

/** What dynalite answers a request: its status, its headers (lower-cased) and its JSON body. */
export interface DynaliteResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

export interface LocalDynamo {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  /**
   * Serves one DynamoDB API request (`POST /`, its headers lower-cased: `x-amz-target`,
   * `content-type`, a SigV4 `authorization` and `x-amz-date`, which dynalite requires but does not
   * verify: the front has) with dynalite's handler, in this process.
   */
  request(headers: Readonly<Record<string, string>>, body: Buffer): Promise<DynaliteResponse>;
  /**
   * The item under `key` as stored now (a consistent read), for the twin's own reads of the items
   * a write changes (the streams' images): read from dynalite's store, the key checked against the
   * table as GetItem checks it, without the request's envelope (JSON text both ways, the request
   * id, the CRC32, the headers) that nobody reads there.
   */
  readItem(
    table: string,
    key: Readonly<Record<string, unknown>>,
  ): Promise<Record<string, unknown> | undefined>;
  stop(): Promise<void>;
}

/**
 * Calls dynalite's request handler with a request that has no socket: the head it reads, the body
 * as one `data` event, and a response that collects what it writes. dynalite reads only these.
 */
function serveInProcess(
  handler: RequestListener,
  headers: Readonly<Record<string, string>>,
  body: Buffer,
): Promise<DynaliteResponse> {
  return new Promise((resolve, reject) => {
    const request = Object.assign(new EventEmitter(), { method: 'POST', url: '/', headers: { ...headers } });
    const written: Record<string, string> = {};
    const response = {
      statusCode: 200,
      setHeader(name: string, value: number | string) {
        written[name.toLowerCase()] = String(value);
      },
      end(data?: string) {
        resolve({ statusCode: response.statusCode, headers: written, body: Buffer.from(data ?? '', 'utf8') });
      },
    };
    try {
      handler(request as unknown as IncomingMessage, response as unknown as ServerResponse);
      if (body.length > 0) request.emit('data', body);
      request.emit('end');
    } catch (error) {
      reject(error);
    }
  });
}

type Callback = (error: unknown, value?: unknown) => void;

/** An abstract-level iterator, as dynalite's read streams use it. */
export interface LevelIterator {
  close(): Promise<void>;
  return?: () => Promise<void>;
}

/** The parts of dynalite's store (dynalite/db) the twin wraps or reads. */
export interface DynaliteStore {
  /** Its abstract-level database (classic-level on disk, memory-level without a path). */
  readonly db: {
    keys(options?: unknown): LevelIterator;
    values(options?: unknown): LevelIterator;
    /** abstract-level's synchronous read, the value decoded (JSON), undefined when missing. */
    getSync(key: string): unknown;
  };
  getTable(name: string, checkStatus: boolean | Callback, cb?: Callback): void;
  readonly tableDb: {
    put(key: string, value: unknown, ...rest: unknown[]): unknown;
    del(key: string, ...rest: unknown[]): unknown;
    batch(...rest: unknown[]): unknown;
  };
}

const requireCommonJs = createRequire(import.meta.url);

/**
 * Keeps each ACTIVE table's description in memory: dynalite's actions ask `store.getTable` for it
 * at every operation. Any write to the descriptions (UpdateTable, DeleteTable, a table that turns
 * ACTIVE) forgets them all; a table that is not ACTIVE is always read from LevelDB. The twin
 * never changes a table once created: only dynalite's own UpdateTable and DeleteTable (which
 * change the description they were given before writing it) would.
 */
function cacheTableDescriptions(store: DynaliteStore): void {
  const active = new Map<string, unknown>();
  // A description read while a write to the descriptions was in flight may be the old one: kept
  // only when no write started or finished since the read began.
  let writes = 0;
  let inFlight = 0;
  const forget = () => {
    writes += 1;
    active.clear();
  };
  const read = store.getTable.bind(store);
  store.getTable = (name, checkStatus, cb) => {
    const done = (typeof checkStatus === 'function' ? checkStatus : cb)!;
    const cached = active.get(name);
    if (cached !== undefined) {
      process.nextTick(done, null, cached);
      return;
    }
    const writesBefore = writes;
    const remember: Callback = (error, table) => {
      const status = (table as { TableStatus?: string } | undefined)?.TableStatus;
      if (error === null && status === 'ACTIVE' && inFlight === 0 && writes === writesBefore) {
        active.set(name, table);
      }
      done(error, table);
    };
    // As dynalite's own getTable reads its arguments: (name, cb) checks the status too.
    if (typeof checkStatus === 'function') read(name, remember);
    else read(name, checkStatus, remember);
  };
  const { tableDb } = store;
  for (const method of ['put', 'del', 'batch'] as const) {
    const write = tableDb[method].bind(tableDb) as (...args: unknown[]) => unknown;
    tableDb[method] = (...args: unknown[]) => {
      forget();
      inFlight += 1;
      const finished = () => {
        inFlight -= 1;
        forget();
      };
      const last = args.at(-1);
      if (typeof last === 'function') {
        return write(...args.slice(0, -1), (...results: unknown[]) => {
          finished();
          (last as (...results: unknown[]) => void)(...results);
        });
      }
      const result = write(...args);
      void Promise.resolve(result).then(finished, finished);
      return result;
    };
  }
}

/**
 * dynalite ends the iterator under each of its read streams (Query, Scan, listings) by calling its
 * `return()`, which abstract-level's iterators do not have (they have `close()`): every read left
 * its iterator open, holding its read-ahead items and a LevelDB snapshot for as long as the twin
 * ran (about 10 KB a request in the twin's heap, and the LevelDB data the snapshots pinned).
 */
export function closeEndedIterators(store: Pick<DynaliteStore, 'db'>): void {
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

/**
 * dynalite's server, with its store's table descriptions cached and its read iterators closed when
 * their stream ends (the store is made inside `dynalite()`).
 */
function dynaliteWithCachedTables(options: Parameters<typeof dynalite>[0]) {
  const db = requireCommonJs('dynalite/db') as { create: (options: unknown) => DynaliteStore };
  const create = db.create;
  let made: DynaliteStore | undefined;
  db.create = (storeOptions) => {
    const store = create(storeOptions);
    cacheTableDescriptions(store);
    closeEndedIterators(store);
    made = store;
    return store;
  };
  try {
    const server = dynalite(options);
    return { server, store: made! };
  } finally {
    db.create = create;
  }
}

/** dynalite's key functions, as its GetItem action checks a key and makes the item's LevelDB key. */
const dynaliteDb = requireCommonJs('dynalite/db') as {
  validateKey(key: Readonly<Record<string, unknown>>, table: unknown): unknown;
  createKey(key: Readonly<Record<string, unknown>>, table: unknown): string;
};

/** dynalite's error, as its actions hand it back, as an Error. */
function dynaliteError(operation: string, error: unknown): Error {
  const { body } = error as { body?: { __type?: string; message?: string } };
  return body === undefined
    ? (error as Error)
    : new Error(`dynalite ${operation}: ${String(body.__type)}: ${String(body.message ?? '')}`);
}

/**
 * The item under `key`, as dynalite's GetItem action reads it (the table's description, the key
 * checked against it, the item's LevelDB key), read synchronously: an item is a few hundred bytes
 * LevelDB finds in memory, and its asynchronous read (a task on libuv's thread pool, a promise
 * and dynalite's setImmediate before its callback) cost the main thread several times the read.
 * A write's callback comes after LevelDB applied it, so the read sees every write answered.
 */
function readItemSync(
  store: DynaliteStore,
  table: string,
  key: Readonly<Record<string, unknown>>,
): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve, reject) => {
    store.getTable(table, (error, description) => {
      if (error !== null && error !== undefined) return reject(dynaliteError('GetItem', error));
      const invalid = dynaliteDb.validateKey(key, description);
      if (invalid !== null && invalid !== undefined) return reject(dynaliteError('GetItem', invalid));
      try {
        const item = store.db.getSync(`item-${table}~${dynaliteDb.createKey(key, description)}`);
        resolve((item ?? undefined) as Record<string, unknown> | undefined);
      } catch (readError) {
        reject(readError);
      }
    });
  });
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
  const { server, store } = dynaliteWithCachedTables({
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
  const [handler] = server.listeners('request') as RequestListener[];
  // As over its port: once stopping, a request is refused (as a closed port refuses a connection)
  // and the store closes after the requests it is serving have their answers.
  let stopping = false;
  const serving = new Set<Promise<unknown>>();
  const request = (headers: Readonly<Record<string, string>>, body: Buffer) => {
    if (stopping) return Promise.reject(new Error('the twin’s DynamoDB is stopped'));
    const answer = serveInProcess(handler!, headers, body);
    serving.add(answer);
    const settled = () => serving.delete(answer);
    answer.then(settled, settled);
    return answer;
  };
  const readItem = (table: string, key: Readonly<Record<string, unknown>>) => {
    if (stopping) return Promise.reject(new Error('the twin’s DynamoDB is stopped'));
    const read = readItemSync(store, table, key);
    // Tracked as a request is: the store closes after the reads it is serving.
    serving.add(read);
    const settled = () => serving.delete(read);
    read.then(settled, settled);
    return read;
  };
  const stop = async () => {
    stopping = true;
    await Promise.allSettled([...serving]);
    await new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve())),
    );
  };
  try {
    await ensureTables(endpoint, options.tables, options.log);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, request, readItem, stop };
}
