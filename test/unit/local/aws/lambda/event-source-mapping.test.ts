/**
 * The twin's stream event source mapping, as Lambda documents it for DynamoDB streams: filter
 * criteria, batches, ReportBatchItemFailures (retry from the lowest failed item), bisect on a
 * function error, retry limits with the on-failure record, and a checkpoint that survives a restart
 * so nothing is skipped.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TwinEventSourceMapping } from '../../../../../local/aws/cloudformation/template.ts';
import {
  type PolledRecord,
  type PolledStream,
  StreamEventSourceMapping,
} from '../../../../../local/aws/lambda/event-source-mapping.ts';

const MAPPING: TwinEventSourceMapping = {
  logicalId: 'Mapping',
  functionName: 'archiver',
  eventSourceArn: 'arn:aws:dynamodb:local:000000000000:table/t/stream/1',
  batchSize: 4,
  maximumBatchingWindowSeconds: 0,
  startingPosition: 'TRIM_HORIZON',
  enabled: true,
  filterPatterns: [],
  reportBatchItemFailures: true,
  bisectBatchOnFunctionError: true,
  maximumRetryAttempts: 2,
  maximumRecordAgeSeconds: -1,
  onFailureDestination: 'arn:aws:sqs:local:000000000000:dlq',
};

interface Payload {
  readonly n: number;
  readonly audit: boolean;
}

class MemoryStream implements PolledStream {
  readonly arn = MAPPING.eventSourceArn;
  readonly shardId = 'shard-1';
  readonly records: PolledRecord[] = [];
  /** What the mapping said it delivered, in order. */
  readonly released: string[] = [];

  append(...payloads: Payload[]): void {
    for (const payload of payloads) {
      this.records.push({
        sequenceNumber: String(this.records.length + 1).padStart(5, '0'),
        arrivedAt: Date.now(),
        payload,
      });
    }
  }

  read(after: string | undefined, limit: number): readonly PolledRecord[] {
    return this.records
      .filter((record) => after === undefined || record.sequenceNumber > after)
      .slice(0, limit);
  }

  latest(): string | undefined {
    return this.records.at(-1)?.sequenceNumber;
  }

  release(upTo: string): void {
    this.released.push(upTo);
  }
}

let directory: string;
let stream: MemoryStream;
let mappings: StreamEventSourceMapping[];

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'esm-'));
  stream = new MemoryStream();
  mappings = [];
});
afterEach(async () => {
  for (const mapping of mappings) await mapping.stop();
  await rm(directory, { recursive: true, force: true });
});

interface Harness {
  readonly mapping: StreamEventSourceMapping;
  /** The numbers of each invocation's records. */
  readonly invocations: number[][];
  readonly failures: Record<string, unknown>[];
}

function start(
  respond: (payloads: Payload[]) => unknown,
  overrides: Partial<TwinEventSourceMapping> = {},
  pollIntervalMs = 5,
): Harness {
  const invocations: number[][] = [];
  const failures: Record<string, unknown>[] = [];
  const mapping = new StreamEventSourceMapping({
    mapping: { ...MAPPING, ...overrides },
    functionArn: 'arn:aws:lambda:local:000000000000:function:archiver',
    stream,
    matches: (payload) => (payload as Payload).audit,
    invoke: async (event) => {
      const payloads = (event as { Records: Payload[] }).Records;
      invocations.push(payloads.map((payload) => payload.n));
      return respond(payloads);
    },
    onFailure: async (_destination, record) => {
      failures.push(record);
    },
    checkpointPath: join(directory, 'checkpoint.json'),
    log: () => undefined,
    retryDelayMs: () => 1,
    pollIntervalMs,
  });
  mappings.push(mapping);
  return { mapping, invocations, failures };
}

const audit = (...numbers: number[]) => numbers.map((n) => ({ n, audit: true }));
const delivered = (harness: Harness) => new Set(harness.invocations.flat());

describe('the stream event source mapping', () => {
  it('delivers matching records in batches and moves the checkpoint past filtered ones', async () => {
    stream.append(...audit(1, 2), { n: 3, audit: false }, ...audit(4, 5, 6), { n: 7, audit: false });
    const harness = start(() => ({ batchItemFailures: [] }));
    await harness.mapping.start();
    await harness.mapping.drain();
    expect(harness.invocations.flat()).toEqual([1, 2, 4, 5, 6]);
    expect(harness.invocations.every((batch) => batch.length <= MAPPING.batchSize)).toBe(true);
    expect(harness.mapping.checkpoint).toBe('00007');
    // Only what is checkpointed is released, so the stream may forget it.
    expect(stream.released.at(-1)).toBe('00007');
    expect(stream.released).toEqual([...stream.released].sort());
  });

  it('retries from the lowest reported item: nothing before it again, nothing after it lost', async () => {
    stream.append(...audit(1, 2, 3, 4));
    let failOnce = true;
    const harness = start((payloads) => {
      if (failOnce && payloads.some((payload) => payload.n === 2)) {
        failOnce = false;
        // Items 2 and 4 failed: Lambda retries from 2 (the lowest), so 3 and 4 come again with it.
        return { batchItemFailures: [{ itemIdentifier: '00004' }, { itemIdentifier: '00002' }] };
      }
      return { batchItemFailures: [] };
    });
    await harness.mapping.start();
    await harness.mapping.drain();
    expect(harness.invocations).toEqual([
      [1, 2, 3, 4],
      [2, 3, 4],
    ]);
    expect(harness.failures).toEqual([]);
  });

  it('bisects a batch whose function fails, isolating the poison record and sending it to the destination', async () => {
    stream.append(...audit(1, 2, 3, 4));
    const harness = start((payloads) => {
      if (payloads.some((payload) => payload.n === 3)) throw new Error('poison');
      return {};
    });
    await harness.mapping.start();
    await harness.mapping.drain();
    // Every good record is delivered; the poison alone is given up after its retries.
    expect([...delivered(harness)].sort()).toEqual([1, 2, 3, 4]);
    expect(harness.invocations.filter((batch) => batch.length === 1 && batch[0] === 3)).toHaveLength(
      MAPPING.maximumRetryAttempts + 1,
    );
    expect(harness.failures).toHaveLength(1);
    expect(harness.failures[0]).toMatchObject({
      requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3 },
      responseContext: { functionError: 'Unhandled' },
      DDBStreamBatchInfo: { startSequenceNumber: '00003', endSequenceNumber: '00003', batchSize: 1 },
    });
    expect(harness.mapping.checkpoint).toBe('00004');
  });

  it('treats an answer naming no record of the batch as a failure of the whole batch', async () => {
    stream.append(...audit(1));
    const harness = start(() => ({ batchItemFailures: [{ itemIdentifier: 'not-a-record' }] }), {
      maximumRetryAttempts: 1,
    });
    await harness.mapping.start();
    await harness.mapping.drain();
    expect(harness.invocations).toEqual([[1], [1]]);
    expect(harness.failures).toHaveLength(1);
  });

  it('goes on from its persisted checkpoint after a restart: nothing skipped, nothing done again', async () => {
    stream.append(...audit(1, 2));
    const first = start(() => ({}));
    await first.mapping.start();
    await first.mapping.drain();
    await first.mapping.stop();
    stream.append(...audit(3, 4, 5));
    const second = start(() => ({}));
    await second.mapping.start();
    await second.mapping.drain();
    expect(first.invocations.flat()).toEqual([1, 2]);
    expect(second.invocations.flat()).toEqual([3, 4, 5]);
  });

  it('polls an idle stream at its rate: a record written meanwhile waits for the next poll, or a drain', async () => {
    const harness = start(() => ({ batchItemFailures: [] }), {}, 60_000);
    await harness.mapping.start();
    // The first poll found nothing; the next one is a minute away.
    await new Promise((resolve) => setTimeout(resolve, 20));
    stream.append(...audit(1, 2));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(harness.invocations).toEqual([]);
    await harness.mapping.drain();
    expect(harness.invocations).toEqual([[1, 2]]);
  });

  it('starts at LATEST when it has no checkpoint and is told to', async () => {
    stream.append(...audit(1, 2));
    const harness = start(() => ({}), { startingPosition: 'LATEST' });
    await harness.mapping.start();
    stream.append(...audit(3));
    await harness.mapping.drain();
    expect(harness.invocations.flat()).toEqual([3]);
  });
});
