/**
 * Load and soak: the twin taking a fixed rate of work for a fixed time (60 s; `--quick` 3 s), open
 * loop (each request leaves at its scheduled time whether or not the earlier ones have answered, and
 * its latency counts from that time, so a stall is not hidden by sending less), on loopback, and
 * stopping by itself. The mix: agents' requests through EventBridge PutEvents (each starts a
 * workflow the policy decides) and reviewers reading the REST API (the request list, and one
 * request). Errors: a refused or failed call, and afterwards (untimed) any request sent whose
 * workflow did not finish: goal 0. Memory, after a warm-up at the same rate: the process's RSS (the
 * twin with its functions' threads) sampled every second, and every 5 seconds the twin's heap and
 * the functions' heaps each after a full collection (what is kept: a heap in use saws with
 * garbage), their slope by least squares (goal: the heaps'; RSS, which swung from −40 to +21 MB/min
 * between runs of the same code, is reported); flat means no growth the work does not explain. Baseline for the p99: the same calls one at a time before the load.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { RunningTwin } from '../local/twin/index.ts';
import type { BenchOptions, Figure } from './figures.ts';
import { percentile } from './measure.ts';
import { startQuietTwin, type TwinClient } from './twin-client.ts';

interface LoadShape {
  /**
   * The same load first, unmeasured but for its errors: the twin's functions start their threads,
   * their caches and V8's heaps fill (each function's heap grows toward its memory size before V8
   * collects hard); memory grows for about two minutes here and levels off, and only growth after
   * that would be a leak.
   */
  readonly warmUpSeconds: number;
  readonly seconds: number;
  /** Agent requests a second, one PutEvents call each. */
  readonly putEventsPerSecond: number;
  /** REST API reads a second, alternating the list and one request. */
  readonly restPerSecond: number;
  /** Calls one at a time for the baseline. */
  readonly idleSamples: number;
}
const SHAPES: Readonly<Record<'full' | 'quick', LoadShape>> = {
  full: { warmUpSeconds: 120, seconds: 60, putEventsPerSecond: 2, restPerSecond: 10, idleSamples: 40 },
  quick: { warmUpSeconds: 1, seconds: 3, putEventsPerSecond: 2, restPerSecond: 4, idleSamples: 4 },
};
/** How long the workflows of the last requests may take to finish once the load has stopped. */
const DRAIN_MS = 120_000;
const MB = 1024 * 1024;
/** "Memory flat": what a minute may add once warm (the samples' noise is a few MB). */
const FLAT_MB_PER_MINUTE = 10;

type Kind = 'putEvents' | 'rest';

interface Outcome {
  readonly kind: Kind;
  readonly ms: number;
  readonly error?: string;
}

/**
 * One call of the mix: `n` counts the calls of its kind; `sent` collects the requests sent, the
 * reads alternate the list and `known`, a request already decided.
 */
function call(
  client: TwinClient,
  kind: Kind,
  n: number,
  sent: string[],
  known?: string,
): () => Promise<void> {
  if (kind === 'putEvents') {
    return async () => {
      const request = client.request('iam:GetRole', { roleName: 'invoice-exporter' });
      sent.push(request.requestId);
      await client.send([request]);
    };
  }
  return async () => {
    const path = n % 2 === 0 || known === undefined ? '/api/requests' : client.path(known);
    const { status, body } = await client.api('GET', path, 'alice');
    if (status !== 200) throw new Error(`GET ${path}: ${status} ${JSON.stringify(body)}`);
  };
}

async function timed(kind: Kind, from: number, run: () => Promise<void>): Promise<Outcome> {
  try {
    await run();
    return { kind, ms: performance.now() - from };
  } catch (error) {
    return { kind, ms: performance.now() - from, error: String(error) };
  }
}

/** Least-squares slope of (seconds, MB) samples, in MB per minute. */
export function slopePerMinute(samples: readonly (readonly [number, number])[]): number {
  const n = samples.length;
  if (n < 2) return 0;
  const meanX = samples.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = samples.reduce((sum, [, y]) => sum + y, 0) / n;
  const covariance = samples.reduce((sum, [x, y]) => sum + (x - meanX) * (y - meanY), 0);
  const variance = samples.reduce((sum, [x]) => sum + (x - meanX) ** 2, 0);
  return variance === 0 ? 0 : (covariance / variance) * 60;
}

/**
 * A full collection of the twin's heap (this process's), for measuring what is kept: V8 collects only
 * when it needs to, so the heap in use saws up and down with garbage.
 */
const collectGarbage = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();
/** How often the heap is measured after a full collection (each one pauses the twin briefly). */
const HEAP_SAMPLE_EVERY_SECONDS = 5;

/** Every call of `seconds` of the schedule, at its time: kinds interleaved evenly over the seconds. */
function schedule(shape: LoadShape, seconds: number): { at: number; kind: Kind; n: number }[] {
  const calls: { at: number; kind: Kind; n: number }[] = [];
  for (const [kind, rate] of [
    ['putEvents', shape.putEventsPerSecond],
    ['rest', shape.restPerSecond],
  ] as const) {
    for (let n = 0; n < seconds * rate; n += 1) calls.push({ at: (n * 1000) / rate, kind, n });
  }
  return calls.sort((a, b) => a.at - b.at);
}

async function runLoad(
  twin: RunningTwin,
  client: TwinClient,
  shape: LoadShape,
  seconds: number,
  sent: string[],
  known: string | undefined,
) {
  const rss: [number, number][] = [];
  const heap: [number, number][] = [];
  const functionsHeap: [number, number][] = [];
  const collections: Promise<void>[] = [];
  let collectionFailure: unknown;
  const start = performance.now();
  const sample = () => {
    const seconds = (performance.now() - start) / 1000;
    rss.push([seconds, process.memoryUsage.rss() / MB]);
    if (rss.length % HEAP_SAMPLE_EVERY_SECONDS === 1) {
      collectGarbage();
      heap.push([seconds, process.memoryUsage().heapUsed / MB]);
      // Settled here, thrown at the end: a worker that crashes fails the bench, not the process.
      collections.push(
        twin.functionsHeapAfterCollection().then(
          (bytes) => {
            functionsHeap.push([seconds, bytes / MB]);
          },
          (error: unknown) => {
            collectionFailure ??= error;
          },
        ),
      );
    }
  };
  sample();
  const sampler = setInterval(sample, 1000);
  const outcomes: Promise<Outcome>[] = [];
  try {
    for (const { at, kind, n } of schedule(shape, seconds)) {
      const wait = start + at - performance.now();
      if (wait > 0) await delay(wait);
      outcomes.push(timed(kind, start + at, call(client, kind, n, sent, known)));
    }
    const done = await Promise.all(outcomes);
    await Promise.all(collections);
    if (collectionFailure !== undefined) throw collectionFailure;
    return { outcomes: done, rss, heap, functionsHeap };
  } finally {
    clearInterval(sampler);
  }
}

export async function measure({ quick }: BenchOptions): Promise<Figure[]> {
  const shape = SHAPES[quick ? 'quick' : 'full'];
  const dataDir = await mkdtemp(join(tmpdir(), 'countersign-load-'));
  const { twin, client } = await startQuietTwin(dataDir);
  try {
    const sent: string[] = [];
    const idle: number[] = [];
    // Warm: the API function's first call, the reviewer's token and each client's connection.
    for (const kind of ['putEvents', 'rest'] as const) await call(client, kind, 0, sent)();
    await client.until('the first request to be decided', async () =>
      (await client.finishedExecutions()) > 0 ? true : undefined,
    );
    const known = sent[0];
    for (let n = 0; n < shape.idleSamples; n += 1) {
      const kind: Kind = n % 5 === 0 ? 'putEvents' : 'rest';
      const outcome = await timed(kind, performance.now(), call(client, kind, n, sent, known));
      if (outcome.error !== undefined) throw new Error(`before the load: ${outcome.error}`);
      idle.push(outcome.ms);
    }
    const warmUp = await runLoad(twin, client, shape, shape.warmUpSeconds, sent, known);
    const load = await runLoad(twin, client, shape, shape.seconds, sent, known);
    // Untimed: every request sent must be decided; one that is not was lost.
    const deadline = performance.now() + DRAIN_MS;
    while ((await client.finishedExecutions()) < sent.length && performance.now() < deadline) {
      await delay(200);
    }
    const unfinished = Math.max(0, sent.length - (await client.finishedExecutions()));
    const errors = [...warmUp.outcomes, ...load.outcomes].filter((outcome) => outcome.error !== undefined);
    for (const { error } of errors.slice(0, 3)) console.error(`load: ${error}`);
    const latencies = (kind?: Kind) =>
      load.outcomes
        .filter((outcome) => kind === undefined || outcome.kind === kind)
        .map((outcome) => outcome.ms)
        .sort((a, b) => a - b);
    const calls = warmUp.outcomes.length + load.outcomes.length;
    const ms = (value: number) => Math.round(value);
    return [
      {
        name: 'loadErrorRate',
        value: (errors.length + unfinished) / calls,
        unit: '',
        goal: { atMost: 0 },
        note: `${errors.length} failed, ${unfinished} unfinished of ${calls} calls in ${shape.warmUpSeconds + shape.seconds} s`,
      },
      {
        name: 'loadP99Ms',
        value: ms(percentile(latencies(), 0.99)),
        unit: 'ms',
        baseline: {
          name: 'loadIdleP99Ms',
          value: ms(
            percentile(
              idle.sort((a, b) => a - b),
              0.99,
            ),
          ),
        },
        note: `${shape.putEventsPerSecond} PutEvents/s + ${shape.restPerSecond} REST/s`,
      },
      { name: 'loadPutEventsP99Ms', value: ms(percentile(latencies('putEvents'), 0.99)), unit: 'ms' },
      { name: 'loadRestP99Ms', value: ms(percentile(latencies('rest'), 0.99)), unit: 'ms' },
      {
        name: 'loadRssSlopeMbPerMinute',
        value: Number(slopePerMinute(load.rss).toFixed(1)),
        unit: 'MB/min',
        // No goal: native memory (LevelDB's, the allocator's for some 20 threads) still grows here, for
        // about five minutes of this load, then stays level; what V8 keeps is the goal's (below).
        note: `RSS ${ms(load.rss[0]![1])} → ${ms(load.rss.at(-1)![1])} MB after ${shape.warmUpSeconds} s of warm-up`,
      },
      {
        name: 'loadHeapSlopeMbPerMinute',
        value: Number(slopePerMinute(load.heap).toFixed(1)),
        unit: 'MB/min',
        goal: { atMost: FLAT_MB_PER_MINUTE },
        note: `twin heap after a full collection ${ms(load.heap[0]![1])} → ${ms(load.heap.at(-1)![1])} MB`,
      },
      {
        name: 'loadFunctionsHeapSlopeMbPerMinute',
        value: Number(slopePerMinute(load.functionsHeap).toFixed(1)),
        unit: 'MB/min',
        goal: { atMost: FLAT_MB_PER_MINUTE },
        note: `the functions' heaps after a full collection ${ms(load.functionsHeap[0]![1])} → ${ms(load.functionsHeap.at(-1)![1])} MB`,
      },
    ];
  } finally {
    client.destroy();
    await twin.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
