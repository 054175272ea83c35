/**
 * DynamoDB Streams for the twin's tables (dynalite has none): every write that reaches the twin's
 * DynamoDB through the front is captured as a stream record, as DynamoDB writes one, with the old
 * and new images the table's StreamViewType asks for, in write order, with increasing sequence
 * numbers. A write that changes nothing (a failed condition, the same item put again) makes no
 * record, as in DynamoDB.
 *
 * How it stays exact under concurrency and restarts:
 * - Writes to one item are serialized here (a keyed lock held from before the write until its
 *   record is appended), and the old and new images are read from dynalite under that lock, so a
 *   record shows exactly what its write changed.
 * - Before a write is forwarded, an intent (the items and their old images) is appended to the
 *   stream's journal; after it, the records and a `done`. A twin that stops between the two finds
 *   the intent at its next start, reads the items again and appends the records their change
 *   calls for: no write is lost from the stream, none recorded twice. Lines are appended with one
 *   write each and read back up to the last complete line, so a torn last line is ignored.
 * - The caller is answered once its write is done, before its records are appended (as DynamoDB
 *   answers a write before its stream record can be read): the intent already covers the write,
 *   and the items' lock is held until the records are in, so the next write to them is recorded
 *   after them. `settled()` waits for the records of every write answered so far.
 * - The journal is as durable as the table itself (dynalite does not fsync its writes either);
 *   records older than 24 hours (the stream's retention) are dropped at start.
 */
import { randomUUID } from 'node:crypto';
import { type FileHandle, mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TwinTable } from '../cloudformation/template.ts';
import { temporaryPathFor } from '../files.ts';
import type { LocalDynamo } from './dynalite-server.ts';

/** A stream record as Lambda hands it to a function (the DynamoDB event's `Records[]`). */
export interface DynamoDbStreamRecord {
  readonly eventID: string;
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly eventVersion: '1.1';
  readonly eventSource: 'aws:dynamodb';
  readonly awsRegion: string;
  readonly dynamodb: {
    readonly ApproximateCreationDateTime: number;
    readonly Keys: AttributeMap;
    readonly NewImage?: AttributeMap;
    readonly OldImage?: AttributeMap;
    readonly SequenceNumber: string;
    readonly SizeBytes: number;
    readonly StreamViewType: string;
  };
  readonly eventSourceARN: string;
}

type AttributeMap = Readonly<Record<string, unknown>>;

interface ItemRef {
  readonly table: string;
  readonly key: AttributeMap;
}

type JournalLine =
  | {
      readonly t: 'intent';
      readonly id: string;
      readonly items: (ItemRef & { readonly old?: AttributeMap })[];
    }
  | { readonly t: 'record'; readonly record: DynamoDbStreamRecord }
  | { readonly t: 'done'; readonly id: string };

interface QueuedLines {
  readonly lines: JournalLine[];
  readonly waiters: { resolve: () => void; reject: (error: unknown) => void }[];
}

const RETENTION_MS = 24 * 3_600_000;
const SEQUENCE_DIGITS = 21;
const JOURNAL = 'journal.jsonl';

/** The write operations of DynamoDB's API and the items each one names. */
function itemsWritten(
  operation: string,
  body: Readonly<Record<string, unknown>>,
  keyOf: (table: string, item: AttributeMap) => AttributeMap | undefined,
): ItemRef[] {
  const refs: ItemRef[] = [];
  const add = (table: unknown, item: unknown) => {
    if (typeof table !== 'string' || typeof item !== 'object' || item === null) return;
    const key = keyOf(table, item as AttributeMap);
    if (key !== undefined) refs.push({ table, key });
  };
  switch (operation) {
    case 'PutItem':
      add(body.TableName, body.Item);
      break;
    case 'UpdateItem':
    case 'DeleteItem':
      add(body.TableName, body.Key);
      break;
    case 'BatchWriteItem':
      for (const [table, requests] of Object.entries(
        (body.RequestItems ?? {}) as Record<string, unknown[]>,
      )) {
        for (const request of Array.isArray(requests) ? requests : []) {
          const entry = request as { PutRequest?: { Item?: unknown }; DeleteRequest?: { Key?: unknown } };
          add(table, entry.PutRequest?.Item ?? entry.DeleteRequest?.Key);
        }
      }
      break;
    case 'TransactWriteItems':
      for (const item of (body.TransactItems ?? []) as Record<
        string,
        { TableName?: unknown; Item?: unknown; Key?: unknown }
      >[]) {
        const action = item.Put ?? item.Update ?? item.Delete;
        if (action !== undefined) add(action.TableName, action.Item ?? action.Key);
      }
      break;
  }
  return refs;
}

/**
 * 32 hex digits, as a stream record's eventID: a random (version 4) UUID without its dashes, 122
 * random bits. Node draws UUIDs from a pool of random bytes it refills in bulk, where a
 * `randomBytes` call per id (and a hash of it) cost a call into the system's generator each.
 */
function randomId(): string {
  return randomUUID().replaceAll('-', '');
}

/**
 * Items compare by content: attribute order is not part of an item (nor of a map in it). Compared
 * in place, without the sorted text of both items a comparison used to build.
 */
function sameItem(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) &&
      Array.isArray(b) &&
      a.length === b.length &&
      a.every((element, index) => sameItem(element, b[index]))
    );
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const names = Object.keys(left);
  return (
    names.length === Object.keys(right).length &&
    names.every((name) => Object.hasOwn(right, name) && sameItem(left[name], right[name]))
  );
}

/** A key as text, the same whatever the order of its attributes: the lock of one item. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Serializes async work per key; different keys run concurrently. */
class KeyedLocks {
  readonly #tails = new Map<string, Promise<void>>();

  async hold<T>(keys: readonly string[], work: () => Promise<T>): Promise<T> {
    // One order for everyone: two writes naming the same items never wait on each other in a circle.
    const sorted = [...new Set(keys)].sort();
    const releases: (() => void)[] = [];
    for (const key of sorted) {
      const previous = this.#tails.get(key) ?? Promise.resolve();
      let release!: () => void;
      const tail = new Promise<void>((resolve) => {
        release = resolve;
      });
      this.#tails.set(key, tail);
      releases.push(() => {
        release();
        if (this.#tails.get(key) === tail) this.#tails.delete(key);
      });
      await previous;
    }
    try {
      return await work();
    } finally {
      for (const release of releases) release();
    }
  }
}

/**
 * One table's stream: its records (newest last) and its journal. In memory it keeps only the
 * records some reader has not passed yet: the journal keeps every record of the last 24 hours (a
 * reader added at the next start reads them there), and keeping them all here grew the twin by
 * every write for as long as it ran.
 */
class TableStream {
  readonly records: DynamoDbStreamRecord[] = [];
  /** Where each event source mapping reading the stream is (undefined: it has read nothing yet). */
  readonly #positions = new Map<string, string | undefined>();
  #latest: string | undefined;
  #nextSequence = 1;

  constructor(
    readonly table: TwinTable & { readonly stream: NonNullable<TwinTable['stream']> },
    readonly keyNames: readonly string[],
  ) {}

  nextSequenceNumber(): string {
    return String(this.#nextSequence++).padStart(SEQUENCE_DIGITS, '0');
  }

  restore(record: DynamoDbStreamRecord): void {
    this.append(record);
    this.#nextSequence = Math.max(this.#nextSequence, Number(record.dynamodb.SequenceNumber) + 1);
  }

  append(record: DynamoDbStreamRecord): void {
    this.records.push(record);
    this.#latest = record.dynamodb.SequenceNumber;
  }

  /** The newest record's sequence number, kept or not. */
  get latest(): string | undefined {
    return this.#latest;
  }

  /** Records after `after` (every kept one when undefined), oldest first, at most `limit`. */
  read(after: string | undefined, limit: number): DynamoDbStreamRecord[] {
    const start =
      after === undefined ? 0 : this.records.findIndex((record) => record.dynamodb.SequenceNumber > after);
    return start < 0 ? [] : this.records.slice(start, start + limit);
  }

  /** A reader that must be kept for, from before its first read. */
  addReader(reader: string): void {
    this.#positions.set(reader, undefined);
  }

  /** `reader` is past `upTo`; what every reader is past is dropped from memory. */
  release(reader: string, upTo: string): void {
    this.#positions.set(reader, upTo);
    let lowest: string | undefined;
    for (const position of this.#positions.values()) {
      if (position === undefined) return;
      if (lowest === undefined || position < lowest) lowest = position;
    }
    if (lowest === undefined) return;
    const kept = this.records.findIndex((record) => record.dynamodb.SequenceNumber > lowest);
    this.records.splice(0, kept < 0 ? this.records.length : kept);
  }
}

export interface LocalDynamoStreamsOptions {
  /** Where the journals live (the twin uses `<dataDir>/dynamodb-streams`). */
  readonly directory: string;
  readonly tables: readonly TwinTable[];
  /** The embedded dynalite, read for the images (in this process). */
  readonly dynalite: Pick<LocalDynamo, 'readItem'>;
  readonly region: string;
  readonly log: (line: string) => void;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

export class LocalDynamoStreams {
  readonly #streams = new Map<string, TableStream>();
  readonly #locks = new KeyedLocks();
  readonly #dynalite: Pick<LocalDynamo, 'readItem'>;
  readonly #region: string;
  readonly #now: () => Date;
  readonly #log: (line: string) => void;
  readonly #path: string;
  /** The writes answered whose records are still being appended. */
  readonly #recording = new Set<Promise<void>>();
  #journal: FileHandle | undefined;
  /** The journal's writes, one after another (never rejects: each write's callers get its error). */
  #appending: Promise<void> = Promise.resolve();
  /** Lines waiting for the next write, with their callers. */
  #queued: QueuedLines | undefined;

  private constructor(options: LocalDynamoStreamsOptions) {
    this.#dynalite = options.dynalite;
    this.#region = options.region;
    this.#now = options.now ?? (() => new Date());
    this.#log = options.log;
    this.#path = join(options.directory, JOURNAL);
    for (const table of options.tables) {
      if (table.stream === undefined) continue;
      const keyNames = (table.keySchema as { AttributeName?: string }[]).map((key) =>
        String(key.AttributeName),
      );
      this.#streams.set(table.name, new TableStream(table as TableStream['table'], keyNames));
    }
  }

  /** Reads the journals, finishes what a stop interrupted, drops what is past retention. */
  static async open(options: LocalDynamoStreamsOptions): Promise<LocalDynamoStreams> {
    const streams = new LocalDynamoStreams(options);
    await mkdir(options.directory, { recursive: true });
    await streams.#recover(options.log);
    return streams;
  }

  /**
   * The stream of a stream ARN, as `reader` (an event source mapping) reads it. Every reader is
   * added before the stream is read, so none misses a record another one released.
   */
  source(
    streamArn: string,
    reader: string,
  ):
    | {
        read(after: string | undefined, limit: number): readonly DynamoDbStreamRecord[];
        latest(): string | undefined;
        release(upTo: string): void;
      }
    | undefined {
    const stream = [...this.#streams.values()].find((candidate) => candidate.table.stream.arn === streamArn);
    if (stream === undefined) return undefined;
    stream.addReader(reader);
    return {
      read: (after, limit) => stream.read(after, limit),
      latest: () => stream.latest,
      release: (upTo) => stream.release(reader, upTo),
    };
  }

  /**
   * Runs a DynamoDB API call (`forward`) and records what it changed in the streams of the tables
   * it writes to, as its input (`input`, the call's parsed body) names them. Calls that write to no
   * streamed table are forwarded as they are.
   */
  async capture<R>(
    operation: string,
    input: Readonly<Record<string, unknown>>,
    forward: () => Promise<R>,
  ): Promise<R> {
    const items = itemsWritten(operation, input, (table, item) => this.#keyOf(table, item));
    if (items.length === 0) return forward();
    return new Promise<R>((answer, fail) => {
      const recorded = this.#locks.hold(
        items.map((item) => `${item.table}\u0000${canonical(item.key)}`),
        async () => {
          const id = randomId();
          let olds: (AttributeMap | undefined)[];
          try {
            olds = await Promise.all(items.map((item) => this.#read(item)));
            await this.#append([
              {
                t: 'intent',
                id,
                items: items.map((item, index) => ({
                  ...item,
                  ...(olds[index] === undefined ? {} : { old: olds[index] }),
                })),
              },
            ]);
          } catch (error) {
            // Nothing forwarded: the write fails as it is, the stream has nothing to record.
            fail(error);
            return;
          }
          await forward().then(answer, fail);
          await this.#settle(id, items, olds);
        },
      );
      // The write is answered already: a record that cannot be appended now (the journal failing)
      // is appended from its intent at the next start, as after a stop.
      const tracked = recorded.catch((error: unknown) =>
        this.#log(`DynamoDB Streams: records left to the next start: ${String(error)}`),
      );
      this.#recording.add(tracked);
      void tracked.finally(() => this.#recording.delete(tracked));
    });
  }

  /** Resolves once the records of every write answered so far are appended. */
  async settled(): Promise<void> {
    await Promise.all(this.#recording);
  }

  async close(): Promise<void> {
    await this.settled();
    await this.#appending;
    await this.#journal?.close();
    this.#journal = undefined;
  }

  #keyOf(table: string, item: AttributeMap): AttributeMap | undefined {
    const stream = this.#streams.get(table);
    if (stream === undefined) return undefined;
    const key: Record<string, unknown> = {};
    for (const name of stream.keyNames) {
      if (item[name] === undefined) return undefined;
      key[name] = item[name];
    }
    return key;
  }

  async #read(item: ItemRef): Promise<AttributeMap | undefined> {
    return this.#dynalite.readItem(item.table, item.key);
  }

  /** Reads the items again and appends a record for each that changed, then the intent's `done`. */
  async #settle(
    id: string,
    items: readonly ItemRef[],
    olds: readonly (AttributeMap | undefined)[],
  ): Promise<void> {
    const news = await Promise.all(items.map((item) => this.#read(item)));
    const lines: JournalLine[] = [];
    items.forEach((item, index) => {
      const record = this.#recordOf(item, olds[index], news[index]);
      if (record !== undefined) lines.push({ t: 'record', record });
    });
    lines.push({ t: 'done', id });
    await this.#append(lines);
  }

  #recordOf(
    item: ItemRef,
    old: AttributeMap | undefined,
    next: AttributeMap | undefined,
  ): DynamoDbStreamRecord | undefined {
    if (sameItem(old, next)) return undefined;
    const stream = this.#streams.get(item.table)!;
    const view = stream.table.stream.viewType;
    const withNew = next !== undefined && (view === 'NEW_IMAGE' || view === 'NEW_AND_OLD_IMAGES');
    const withOld = old !== undefined && (view === 'OLD_IMAGE' || view === 'NEW_AND_OLD_IMAGES');
    const images = { ...(withNew ? { NewImage: next } : {}), ...(withOld ? { OldImage: old } : {}) };
    return {
      eventID: randomId(),
      eventName: old === undefined ? 'INSERT' : next === undefined ? 'REMOVE' : 'MODIFY',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: this.#region,
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(this.#now().getTime() / 1000),
        Keys: item.key,
        ...images,
        // Numbered when appended, below: the journal's order is the stream's.
        SequenceNumber: '',
        SizeBytes: Buffer.byteLength(JSON.stringify({ Keys: item.key, ...images })),
        StreamViewType: view,
      },
      eventSourceARN: stream.table.stream.arn,
    };
  }

  /**
   * Appends lines, numbering records as they go in. Writes are serialized; lines handed in while
   * one is being written go together in the next (a group commit: one write for all the writes
   * waiting, in the order they came). Resolves once the caller's lines are written.
   */
  #append(lines: readonly JournalLine[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.#queued === undefined) {
        const batch: QueuedLines = { lines: [], waiters: [] };
        this.#queued = batch;
        this.#appending = this.#appending
          .then(() => {
            // Taken now: whatever is handed in from here on goes in the next write.
            if (this.#queued === batch) this.#queued = undefined;
            return this.#write(batch.lines);
          })
          .then(
            () => {
              for (const waiter of batch.waiters) waiter.resolve();
            },
            (error: unknown) => {
              for (const waiter of batch.waiters) waiter.reject(error);
            },
          );
      }
      this.#queued.lines.push(...lines);
      this.#queued.waiters.push({ resolve, reject });
    });
  }

  /** Writes lines in one write, numbering records as they go in, then adds them to their streams. */
  async #write(lines: readonly JournalLine[]): Promise<void> {
    const numbered = lines.map((line) => {
      if (line.t !== 'record') return line;
      const stream = this.#streams.get(this.#tableOfArn(line.record.eventSourceARN))!;
      return {
        t: 'record' as const,
        record: {
          ...line.record,
          dynamodb: { ...line.record.dynamodb, SequenceNumber: stream.nextSequenceNumber() },
        },
      };
    });
    this.#journal ??= await open(this.#path, 'a');
    await this.#journal.write(numbered.map((line) => `${JSON.stringify(line)}\n`).join(''));
    for (const line of numbered) {
      if (line.t !== 'record') continue;
      this.#streams.get(this.#tableOfArn(line.record.eventSourceARN))!.append(line.record);
    }
  }

  #tableOfArn(arn: string): string {
    for (const [name, stream] of this.#streams) if (stream.table.stream.arn === arn) return name;
    throw new Error(`no stream ${arn}`);
  }

  async #recover(log: (line: string) => void): Promise<void> {
    const text = await readFile(this.#path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw error;
    });
    // Up to the last complete line: a line torn by a stop mid-write is not a line.
    const complete = text.slice(0, text.lastIndexOf('\n') + 1);
    const open = new Map<string, (ItemRef & { readonly old?: AttributeMap })[]>();
    const horizon = Math.floor((this.#now().getTime() - RETENTION_MS) / 1000);
    for (const raw of complete.split('\n')) {
      if (raw.length === 0) continue;
      const line = JSON.parse(raw) as JournalLine;
      if (line.t === 'intent') open.set(line.id, line.items);
      else if (line.t === 'done') open.delete(line.id);
      else {
        const stream = this.#streams.get(this.#tableOfArnOrUndefined(line.record.eventSourceARN) ?? '');
        if (stream === undefined) continue;
        // Numbers keep counting past dropped records, as a stream's sequence numbers only grow.
        stream.restore(line.record);
      }
    }
    for (const stream of this.#streams.values()) {
      const kept = stream.records.filter((record) => record.dynamodb.ApproximateCreationDateTime >= horizon);
      stream.records.splice(0, stream.records.length, ...kept);
    }
    // Rewritten with what is kept: the records in retention; finished intents need no memory.
    const temporary = temporaryPathFor(this.#path);
    const kept = [...this.#streams.values()].flatMap((stream) =>
      stream.records.map((record) => ({ t: 'record', record })),
    );
    const pending = [...open.entries()].map(([id, items]) => ({ t: 'intent', id, items }));
    await writeFile(temporary, [...kept, ...pending].map((line) => `${JSON.stringify(line)}\n`).join(''));
    await rename(temporary, this.#path);
    for (const [id, items] of open) {
      const known = items.filter((item) => this.#streams.has(item.table));
      log(`DynamoDB streams: finishing a write the last run was stopped in (${known.length} item(s))`);
      await this.#settle(
        id,
        known,
        known.map((item) => item.old),
      );
    }
  }

  #tableOfArnOrUndefined(arn: string): string | undefined {
    for (const [name, stream] of this.#streams) if (stream.table.stream.arn === arn) return name;
    return undefined;
  }
}
