/**
 * Load and soak: the twin taking a fixed rate of work for a fixed time (60 s; `--quick` 3 s), open
 * loop (each request leaves at its scheduled time whether or not the earlier ones have answered, and
 * its latency counts from that time, so a stall is not hidden by sending less), on loopback, and
 * stopping by itself. The mix: agents' requests through EventBridge PutEvents (each starts a
 * workflow the policy decides) and reviewers reading the REST API (the request list, and one
 * request). Errors: a refused or failed call, and afterwards (untimed) any request sent whose
 * workflow did not finish: goal 0. Memory: the process's RSS (the twin with its functions' threads)
 * and the twin's heap sampled every second, their slope by least squares; flat means no growth the
 * work does not explain. Baseline for the p99: the same calls one at a time before the load.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import type { BenchOptions, Figure } from './figures.ts';
import { percentile } from './measure.ts';
import { startQuietTwin, type TwinClient } from './twin-client.ts';

interface LoadShape {
  readonly seconds: number;
  /** Agent requests a second, one PutEvents call each. */
  readonly putEventsPerSecond: number;
  /** REST API reads a second, alternating the list and one request. */
  readonly restPerSecond: number;
  /** Calls one at a time for the baseline. */
  readonly idleSamples: number;
}
const SHAPES: Readonly<Record<'full' | 'quick', LoadShape>> = {
  full: { seconds: 180, putEventsPerSecond: 2, restPerSecond: 10, idleSamples: 40 },
  quick: { seconds: 3, putEventsPerSecond: 2, restPerSecond: 4, idleSamples: 4 },
};
/** How long the workflows of the last requests may take to finish once the load has stopped. */
const DRAIN_MS = 120_000;
const MB = 1024 * 1024;

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

/** Every call of the schedule, at its time: kinds interleaved evenly over the seconds. */
function schedule(shape: LoadShape): { at: number; kind: Kind; n: number }[] {
  const calls: { at: number; kind: Kind; n: number }[] = [];
  for (const [kind, rate] of [
    ['putEvents', shape.putEventsPerSecond],
    ['rest', shape.restPerSecond],
  ] as const) {
    for (let n = 0; n < shape.seconds * rate; n += 1) calls.push({ at: (n * 1000) / rate, kind, n });
  }
  return calls.sort((a, b) => a.at - b.at);
}

async function runLoad(client: TwinClient, shape: LoadShape, sent: string[], known: string | undefined) {
  const rss: [number, number][] = [];
  const heap: [number, number][] = [];
  const start = performance.now();
  const sample = () => {
    const seconds = (performance.now() - start) / 1000;
    const memory = process.memoryUsage();
    rss.push([seconds, memory.rss / MB]);
    heap.push([seconds, memory.heapUsed / MB]);
  };
  sample();
  const sampler = setInterval(sample, 1000);
  const outcomes: Promise<Outcome>[] = [];
  try {
    for (const { at, kind, n } of schedule(shape)) {
      const wait = start + at - performance.now();
      if (wait > 0) await delay(wait);
      outcomes.push(timed(kind, start + at, call(client, kind, n, sent, known)));
    }
    const r = { outcomes: await Promise.all(outcomes), rss, heap };
    (await import('node:fs')).writeFileSync('/tmp/prof/load-mem.json', JSON.stringify({ rss, heap }));
    return r;
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
    const load = await runLoad(client, shape, sent, known);
    // Untimed: every request sent must be decided; one that is not was lost.
    const deadline = performance.now() + DRAIN_MS;
    while ((await client.finishedExecutions()) < sent.length && performance.now() < deadline) {
      await delay(200);
    }
    const unfinished = Math.max(0, sent.length - (await client.finishedExecutions()));
    const errors = load.outcomes.filter((outcome) => outcome.error !== undefined);
    for (const { error } of errors.slice(0, 3)) console.error(`load: ${error}`);
    const latencies = (kind?: Kind) =>
      load.outcomes
        .filter((outcome) => kind === undefined || outcome.kind === kind)
        .map((outcome) => outcome.ms)
        .sort((a, b) => a - b);
    const calls = load.outcomes.length;
    const ms = (value: number) => Math.round(value);
    return [
      {
        name: 'loadErrorRate',
        value: (errors.length + unfinished) / calls,
        unit: '',
        goal: { atMost: 0 },
        note: `${errors.length} failed, ${unfinished} unfinished of ${calls} calls in ${shape.seconds} s`,
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
        note: `RSS ${ms(load.rss[0]![1])} → ${ms(load.rss.at(-1)![1])} MB`,
      },
      {
        name: 'loadHeapSlopeMbPerMinute',
        value: Number(slopePerMinute(load.heap).toFixed(1)),
        unit: 'MB/min',
        note: `heap ${ms(load.heap[0]![1])} → ${ms(load.heap.at(-1)![1])} MB`,
      },
    ];
  } finally {
    client.destroy();
    await twin.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
