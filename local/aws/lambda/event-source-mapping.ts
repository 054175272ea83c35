/**
 * Lambda's event source mapping for a stream (one shard), as the Lambda developer guide describes
 * it for DynamoDB Streams:
 * - the shard is polled at a base rate of 4 times a second: a record written while the mapping is
 *   idle waits for the next poll (up to 250 ms), as in Lambda, where the functions a stream feeds
 *   run after the write and elsewhere, not in its path; after a batch the shard is read again at
 *   once, so records that arrived meanwhile go out in the next batch;
 * - records are read after the checkpoint, in order, one batch at a time (up to BatchSize,
 *   gathered for up to MaximumBatchingWindowInSeconds); records FilterCriteria does not match are
 *   dropped before batching and only move the checkpoint;
 * - a batch that succeeds moves the checkpoint past it. With ReportBatchItemFailures the function
 *   may answer `{"batchItemFailures":[{"itemIdentifier":"<seq>"}]}`: the checkpoint moves to just
 *   before the lowest one and the records from it on are retried (bisected there, which is the
 *   same thing); an empty or absent list is success; an empty, null or unknown identifier fails
 *   the whole batch;
 * - a function error (a throw, a timeout) retries the batch; with BisectBatchOnFunctionError it is
 *   split in two and each half retried (splitting is not counted as a retry);
 * - after MaximumRetryAttempts retries, or once its oldest record is older than
 *   MaximumRecordAgeInSeconds, a batch goes to the on-failure destination (its position, never its
 *   records) and the checkpoint moves past it.
 * The checkpoint is persisted after every move (written whole, then renamed), so a restarted twin
 * goes on where it was: a batch delivered but not yet checkpointed is delivered again (at least
 * once, as in Lambda); none is skipped.
 */
import { randomUUID } from 'node:crypto';
import type { TwinEventSourceMapping } from '../cloudformation/template.ts';
import { readJsonFile, writeJsonFileAtomic } from '../files.ts';

/** A record of the polled stream. */
export interface PolledRecord {
  readonly sequenceNumber: string;
  /** When the record entered the stream (epoch milliseconds). */
  readonly arrivedAt: number;
  /** What goes into the event's `Records[]`. */
  readonly payload: unknown;
}

/** The stream a mapping polls. */
export interface PolledStream {
  readonly arn: string;
  readonly shardId: string;
  /** Records after `after` (all kept ones when undefined), oldest first, at most `limit`. */
  read(after: string | undefined, limit: number): readonly PolledRecord[];
  /** The newest record's sequence number. */
  latest(): string | undefined;
  /** Every record up to `upTo` is delivered (checkpointed): the stream need not keep it for this mapping. */
  release(upTo: string): void;
}

export interface EventSourceMappingOptions {
  readonly mapping: TwinEventSourceMapping;
  readonly functionArn: string;
  readonly stream: PolledStream;
  /** Whether a record passes the mapping's FilterCriteria. */
  readonly matches: (payload: unknown) => boolean;
  /** Invokes the function synchronously; throws for a function error. */
  readonly invoke: (event: unknown) => Promise<unknown>;
  /** Sends the on-failure record to the destination (an SQS queue ARN). */
  readonly onFailure: (destinationArn: string, record: Record<string, unknown>) => Promise<void>;
  /** Where the checkpoint is kept. */
  readonly checkpointPath: string;
  readonly log: (line: string) => void;
  /** @default Date.now */
  readonly now?: () => number;
  /** Before the n-th retry of a batch (n ≥ 1). @default 100 ms × n, at most 2 s */
  readonly retryDelayMs?: (attempt: number) => number;
  /** How often an idle stream is polled (Lambda's base rate for DynamoDB Streams). @default 250 */
  readonly pollIntervalMs?: number;
}

interface Batch {
  readonly records: readonly PolledRecord[];
  /** Retries so far. */
  readonly retries: number;
}

type Outcome =
  | { readonly kind: 'done' }
  | { readonly kind: 'retry-from'; readonly index: number }
  | { readonly kind: 'failed'; readonly functionError: boolean; readonly reason: string };

/** "Lambda polls shards in your DynamoDB stream for records at a base rate of 4 times per second." */
const BASE_POLL_INTERVAL_MS = 250;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class StreamEventSourceMapping {
  readonly #options: EventSourceMappingOptions;
  readonly #now: () => number;
  #checkpoint: string | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #wake: (() => void) | undefined;
  readonly #advanced = new Set<() => void>();
  #urgent = 0;

  constructor(options: EventSourceMappingOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get checkpoint(): string | undefined {
    return this.#checkpoint;
  }

  /** Loads the checkpoint (or takes the starting position) and starts polling. */
  async start(): Promise<void> {
    const stored = (await readJsonFile(this.#options.checkpointPath)) as { checkpoint?: string } | undefined;
    if (stored?.checkpoint !== undefined) this.#checkpoint = stored.checkpoint;
    else if (this.#options.mapping.startingPosition === 'LATEST') {
      await this.#moveCheckpoint(this.#options.stream.latest());
    }
    if (!this.#options.mapping.enabled) return;
    this.#running = this.#loop();
  }

  /**
   * Resolves once every record in the stream now has been delivered (or sent to the destination):
   * polls at once rather than at the next tick of the base rate, and skips the batching window.
   */
  async drain(): Promise<void> {
    const target = this.#options.stream.latest();
    this.#urgent += 1;
    try {
      while (target !== undefined && (this.#checkpoint === undefined || this.#checkpoint < target)) {
        if (this.#stopped || this.#running === undefined)
          throw new Error(`event source mapping ${this.#options.mapping.logicalId} is not running`);
        await new Promise<void>((resolve) => {
          this.#advanced.add(resolve);
          this.#wake?.();
        });
      }
    } finally {
      this.#urgent -= 1;
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#running;
  }

  async #loop(): Promise<void> {
    const { mapping } = this.#options;
    while (!this.#stopped) {
      try {
        const read = this.#options.stream.read(this.#checkpoint, mapping.batchSize);
        if (read.length === 0) {
          await this.#sleep(this.#options.pollIntervalMs ?? BASE_POLL_INTERVAL_MS);
          continue;
        }
        if (
          read.length < mapping.batchSize &&
          mapping.maximumBatchingWindowSeconds > 0 &&
          this.#urgent === 0
        ) {
          // Gather for the batching window, unless someone waits for the stream to drain.
          await this.#sleep(mapping.maximumBatchingWindowSeconds * 1000);
          if (this.#stopped) return;
        }
        await this.#processFrom(this.#options.stream.read(this.#checkpoint, Number.MAX_SAFE_INTEGER));
      } catch (error) {
        this.#options.log(
          `event source mapping ${mapping.logicalId}: ${(error as Error).stack ?? String(error)}`,
        );
        await this.#sleep(this.#options.pollIntervalMs ?? BASE_POLL_INTERVAL_MS);
      }
    }
  }

  /** Takes the next batch of matching records from `available` and delivers it. */
  async #processFrom(available: readonly PolledRecord[]): Promise<void> {
    const { mapping } = this.#options;
    const batch: PolledRecord[] = [];
    let lastRead: string | undefined;
    for (const record of available) {
      if (batch.length === mapping.batchSize) break;
      lastRead = record.sequenceNumber;
      if (this.#options.matches(record.payload)) batch.push(record);
    }
    if (batch.length > 0) await this.#deliver(batch);
    // Filtered-out records after the batch are consumed too.
    await this.#moveCheckpoint(lastRead);
  }

  async #deliver(records: readonly PolledRecord[]): Promise<void> {
    const { mapping } = this.#options;
    const queue: Batch[] = [{ records, retries: 0 }];
    while (queue.length > 0 && !this.#stopped) {
      const batch = queue.shift()!;
      const oldest = batch.records[0]!.arrivedAt;
      if (
        mapping.maximumRecordAgeSeconds >= 0 &&
        this.#now() - oldest > mapping.maximumRecordAgeSeconds * 1000
      ) {
        await this.#giveUp(batch, 'RecordAgeExceeded', false);
        continue;
      }
      if (batch.retries > 0)
        await sleep((this.#options.retryDelayMs ?? ((n) => Math.min(100 * n, 2000)))(batch.retries));
      const outcome = await this.#invoke(batch.records);
      if (outcome.kind === 'done') {
        await this.#moveCheckpoint(batch.records.at(-1)!.sequenceNumber);
        continue;
      }
      if (outcome.kind === 'retry-from') {
        // Everything before the first failed record is done.
        if (outcome.index > 0) await this.#moveCheckpoint(batch.records[outcome.index - 1]!.sequenceNumber);
        const rest = { records: batch.records.slice(outcome.index), retries: batch.retries + 1 };
        if (this.#exhausted(rest)) await this.#giveUp(rest, 'RetryAttemptsExhausted', false);
        else queue.unshift(rest);
        continue;
      }
      this.#options.log(
        `event source mapping ${mapping.logicalId}: batch of ${batch.records.length} failed (${outcome.reason})`,
      );
      if (outcome.functionError && mapping.bisectBatchOnFunctionError && batch.records.length > 1) {
        const half = Math.ceil(batch.records.length / 2);
        queue.unshift(
          { records: batch.records.slice(0, half), retries: batch.retries },
          { records: batch.records.slice(half), retries: batch.retries },
        );
        continue;
      }
      const again = { records: batch.records, retries: batch.retries + 1 };
      if (this.#exhausted(again)) await this.#giveUp(again, 'RetryAttemptsExhausted', outcome.functionError);
      else queue.unshift(again);
    }
  }

  #exhausted(batch: Batch): boolean {
    const limit = this.#options.mapping.maximumRetryAttempts;
    return limit >= 0 && batch.retries > limit;
  }

  async #invoke(records: readonly PolledRecord[]): Promise<Outcome> {
    let response: unknown;
    try {
      response = await this.#options.invoke({ Records: records.map((record) => record.payload) });
    } catch (error) {
      return { kind: 'failed', functionError: true, reason: (error as Error).message };
    }
    if (!this.#options.mapping.reportBatchItemFailures) return { kind: 'done' };
    const failures = (response as { batchItemFailures?: unknown } | null | undefined)?.batchItemFailures;
    if (failures === undefined || failures === null || (Array.isArray(failures) && failures.length === 0)) {
      return { kind: 'done' };
    }
    if (!Array.isArray(failures))
      return { kind: 'failed', functionError: false, reason: 'batchItemFailures is not a list' };
    let lowest: number | undefined;
    for (const failure of failures) {
      const identifier = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
      const index =
        typeof identifier === 'string'
          ? records.findIndex((record) => record.sequenceNumber === identifier)
          : -1;
      if (index < 0) {
        return {
          kind: 'failed',
          functionError: false,
          reason: `itemIdentifier ${JSON.stringify(identifier)} names no record of the batch`,
        };
      }
      lowest = lowest === undefined ? index : Math.min(lowest, index);
    }
    return { kind: 'retry-from', index: lowest! };
  }

  async #giveUp(
    batch: Batch,
    condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded',
    functionError: boolean,
  ): Promise<void> {
    const { mapping, stream } = this.#options;
    const first = batch.records[0]!;
    const last = batch.records.at(-1)!;
    const record = {
      requestContext: {
        requestId: randomUUID(),
        functionArn: this.#options.functionArn,
        condition,
        // A batch given up carries the retry that will not run: its count is the invocations made.
        approximateInvokeCount: batch.retries,
      },
      responseContext: {
        statusCode: 200,
        executedVersion: '$LATEST',
        ...(functionError ? { functionError: 'Unhandled' } : {}),
      },
      version: '1.0',
      timestamp: new Date(this.#now()).toISOString(),
      DDBStreamBatchInfo: {
        shardId: stream.shardId,
        startSequenceNumber: first.sequenceNumber,
        endSequenceNumber: last.sequenceNumber,
        approximateArrivalOfFirstRecord: new Date(first.arrivedAt).toISOString(),
        approximateArrivalOfLastRecord: new Date(last.arrivedAt).toISOString(),
        batchSize: batch.records.length,
        streamArn: stream.arn,
      },
    };
    if (mapping.onFailureDestination !== undefined)
      await this.#options.onFailure(mapping.onFailureDestination, record);
    this.#options.log(
      `event source mapping ${mapping.logicalId}: records ${first.sequenceNumber}–${last.sequenceNumber} given up (${condition})${mapping.onFailureDestination === undefined ? '' : `, sent to ${mapping.onFailureDestination}`}`,
    );
    await this.#moveCheckpoint(last.sequenceNumber);
  }

  async #moveCheckpoint(to: string | undefined): Promise<void> {
    if (to === undefined || (this.#checkpoint !== undefined && to <= this.#checkpoint)) return;
    await writeJsonFileAtomic(this.#options.checkpointPath, { checkpoint: to });
    this.#checkpoint = to;
    this.#options.stream.release(to);
    const waiting = [...this.#advanced];
    this.#advanced.clear();
    for (const resolve of waiting) resolve();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }
}
