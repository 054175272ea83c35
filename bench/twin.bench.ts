/**
 * The twin under load, measured from the outside as an agent and a reviewer see it: throughput of
 * auto-allowed requests (PutEvents to decided), latency from PutEvents to a pending review
 * (recorded and reviewers notified), and from the deciding vote to the finished workflow. The
 * baseline is raw dynalite as the twin runs it (on disk, the stack's table): PutItems as many and
 * as concurrent as the throughput requests, and one at a time for the latency. Goals (issue 15):
 * at least 60 decisions/s, request → pending p99 ≤ 100 ms.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { TableKey } from '../lambdas/adapters/dynamodb/table-layout.ts';
import type { TwinTable } from '../local/aws/cloudformation/template.ts';
import { startLocalDynamo } from '../local/aws/dynamodb/dynalite-server.ts';
import type { RunningTwin } from '../local/twin/index.ts';
import type { BenchOptions, Figure } from './figures.ts';
import { percentile } from './measure.ts';
import { type Detail, startQuietTwin, type TwinClient } from './twin-client.ts';

interface Sizes {
  /** Requests sent at once for the throughput, and PutItems for its baseline. */
  readonly throughput: number;
  /**
   * Rounds of `throughput` requests sent, untimed, between the first (cold) round and the timed one:
   * the functions' and the twin's code is compiled by V8's optimizing tiers as it runs hot, which in
   * 17 isolates takes a few hundred decisions (the first 200 after a start cost ~40% more CPU).
   */
  readonly warmUpRounds: number;
  /** Approvals one at a time for the latencies, and PutItems for theirs. */
  readonly latency: number;
  /** Approvals one at a time before those, untimed (the functions' first runs of that path). */
  readonly latencyWarmUp: number;
}
const SIZES: Readonly<Record<'full' | 'quick', Sizes>> = {
  full: { throughput: 200, warmUpRounds: 4, latency: 200, latencyWarmUp: 3 },
  quick: { throughput: 10, warmUpRounds: 1, latency: 3, latencyWarmUp: 1 },
};
/** Often enough to time 200 decisions to 1%. */
const THROUGHPUT_POLL_MS = 20;

interface Throughput {
  readonly perSecond: number;
  /** CPU time of the whole process (the twin, its functions' threads, the bench's client) per decision. */
  readonly cpuMs: number;
}

interface TwinFigures {
  /** Warm: after the cold round and the warm-up rounds. */
  readonly throughput: Throughput;
  /** The first round after the twin started. */
  readonly coldThroughput: Throughput;
  readonly toPendingP50Ms: number;
  readonly toPendingP99Ms: number;
  readonly voteToDecisionP50Ms: number;
  readonly voteToDecisionP99Ms: number;
  readonly atOnceToPendingP50Ms: number;
  readonly atOnceToPendingP99Ms: number;
}

/**
 * Auto-allowed requests sent at once (10 per PutEvents call), until every one's workflow has
 * finished: decided, recorded and its `Action Decided` published. Watched through Step Functions'
 * ListExecutions, newest first, down to the round's own (polling each request through the REST API
 * would run the API function 200 times every few milliseconds and measure that instead); then,
 * untimed, every request is read back through the API: none may be lost or left undecided.
 */
async function measureThroughput(bench: TwinClient, count: number): Promise<Throughput> {
  const requests = Array.from({ length: count }, () =>
    bench.request('iam:GetRole', { roleName: 'invoice-exporter' }),
  );
  const sentAt = new Date();
  const start = performance.now();
  const cpu = process.cpuUsage();
  await bench.sendAll(requests);
  await bench.until(
    'every throughput request to be decided',
    async () => ((await bench.finishedExecutions(sentAt)) >= count ? true : undefined),
    THROUGHPUT_POLL_MS,
  );
  const seconds = (performance.now() - start) / 1000;
  const { user, system } = process.cpuUsage(cpu);
  const undecided: string[] = [];
  for (const { requestId } of requests) {
    const detail = await bench.detail(requestId);
    if (detail?.request.status !== 'APPROVED') undecided.push(`${requestId}: ${detail?.request.status}`);
  }
  if (undecided.length > 0)
    throw new Error(`requests lost or not approved by policy: ${undecided.join(', ')}`);
  return { perSecond: count / seconds, cpuMs: (user + system) / 1000 / count };
}

/**
 * One approval at a time: PutEvents → reviewers notified, then the deciding vote → workflow done.
 * The first `warmUp` are not timed: the throughput requests are auto-allowed, so these are the first
 * runs of the approval path's functions. "Reviewers notified" is the NOTIFIED record in the table,
 * polled with one consistent read: polling the API's detail instead (a Lambda invocation, a token
 * check, a read and a query every few milliseconds, in this process) loaded the two cores as much as
 * the approval being timed did. The API is asked once it is there, untimed, and must agree.
 */
async function measureLatencies(twin: RunningTwin, bench: TwinClient, samples: number, warmUp: number) {
  const toPending: number[] = [];
  const voteToDecision: number[] = [];
  for (let sample = -warmUp; sample < samples; sample += 1) {
    // As the agent bench does: each sample starts once what the earlier ones wrote to the table's
    // stream has been handed to its functions (the archiver, above all) and they have returned,
    // untimed. In AWS that work runs in functions of their own; here it shares the two cores.
    await twin.drainEventSourceMappings();
    const request = bench.approvalRequest();
    const sent = performance.now();
    await bench.send([request]);
    await bench.reviewersAsked(request.requestId);
    const requestToPending = performance.now() - sent;
    // What the API shows then (untimed): the request pending, reviewers asked.
    const shown = await bench.api('GET', bench.path(request.requestId), 'alice');
    const detail = shown.status === 200 ? (shown.body as Detail) : undefined;
    if (
      detail?.request.status !== 'PENDING' ||
      !detail.timeline.some((record) => record.kind === 'NOTIFIED')
    ) {
      throw new Error(
        `the API disagrees that ${request.requestId} is pending with its reviewers asked: HTTP ${shown.status}, status ${detail?.request.status}, timeline ${detail?.timeline.map((record) => record.kind).join(', ')}`,
      );
    }
    const pending = detail.request;

    const voted = performance.now();
    const vote = await bench.api('POST', `${bench.path(request.requestId)}/votes`, 'carol', {
      vote: 'approve',
    });
    if (vote.status !== 201) throw new Error(`vote refused: ${JSON.stringify(vote.body)}`);
    await bench.until(`${request.requestId}'s workflow to finish`, async () => {
      const { status } = await bench.sfn.send(
        new DescribeExecutionCommand({ executionArn: pending.executionArn }),
      );
      return status === 'RUNNING' ? undefined : status;
    });
    if (sample >= 0) {
      toPending.push(requestToPending);
      voteToDecision.push(performance.now() - voted);
    }
  }
  toPending.sort((a, b) => a - b);
  voteToDecision.sort((a, b) => a - b);
  return {
    toPendingP50Ms: percentile(toPending, 0.5),
    toPendingP99Ms: percentile(toPending, 0.99),
    voteToDecisionP50Ms: percentile(voteToDecision, 0.5),
    voteToDecisionP99Ms: percentile(voteToDecision, 0.99),
  };
}

/**
 * Approvals sent at once (10 per PutEvents call, as the throughput requests), after everything else:
 * from the sending to each request's NOTIFIED record, by the record's own time (taken just before
 * its write, so a few milliseconds low). No goal: it is how long
 * the twin takes to work through them all at its throughput, the concurrent reading of "request →
 * pending" beside the one-at-a-time figure.
 */
async function measureAtOnce(bench: TwinClient, count: number) {
  const requests = Array.from({ length: count }, () => bench.approvalRequest());
  // Wall clock, as the records' times are.
  const sentAt = Date.now();
  await bench.sendAll(requests);
  const toPending: number[] = [];
  for (const { requestId } of requests) {
    toPending.push((await bench.reviewersAsked(requestId, THROUGHPUT_POLL_MS)) - sentAt);
  }
  toPending.sort((a, b) => a - b);
  return {
    atOnceToPendingP50Ms: percentile(toPending, 0.5),
    atOnceToPendingP99Ms: percentile(toPending, 0.99),
  };
}

async function measureTwin(dataDir: string, sizes: Sizes): Promise<TwinFigures & { table: TwinTable }> {
  const { twin, client: bench } = await startQuietTwin(dataDir);
  try {
    // Each round starts once what the one before wrote to the table's stream has been handed to its
    // functions (the archiver above all), as the latencies below do.
    const coldThroughput = await measureThroughput(bench, sizes.throughput);
    for (let round = 0; round < sizes.warmUpRounds; round += 1) {
      await twin.drainEventSourceMappings();
      await measureThroughput(bench, sizes.throughput);
    }
    await twin.drainEventSourceMappings();
    const throughput = await measureThroughput(bench, sizes.throughput);
    // One at a time means one at a time: what the throughput requests set off (their audit records
    // to the archive) is done before the first approval is timed.
    await twin.drainEventSourceMappings();
    const latencies = await measureLatencies(twin, bench, sizes.latency, sizes.latencyWarmUp);
    return {
      throughput,
      coldThroughput,
      ...latencies,
      ...(await measureAtOnce(bench, sizes.throughput)),
      table: twin.stack.tables[0]!,
    };
  } finally {
    bench.destroy();
    await twin.stop();
  }
}

/** A request record's size, so the baseline writes what the twin writes. */
const ITEM_PAYLOAD = 'x'.repeat(1_500);

/** Raw dynalite, on disk under `dir`, with the stack's table: PutItems at once, then one at a time. */
async function measureDynalite(dir: string, table: TwinTable, sizes: Sizes) {
  const dynamo = await startLocalDynamo({ path: dir, tables: [table], log: () => undefined });
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'local',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const put = (n: number) => {
    const { pk, sk } = TableKey.request(`bench-${randomUUID()}-${n}`);
    return client.send(
      new PutItemCommand({
        TableName: table.name,
        Item: { pk: { S: pk }, sk: { S: sk }, payload: { S: ITEM_PAYLOAD } },
      }),
    );
  };
  try {
    const start = performance.now();
    await Promise.all(Array.from({ length: sizes.throughput }, (_, n) => put(n)));
    const putsPerSecond = sizes.throughput / ((performance.now() - start) / 1000);
    const latencies: number[] = [];
    for (let n = 0; n < sizes.latency; n += 1) {
      const sent = performance.now();
      await put(n);
      latencies.push(performance.now() - sent);
    }
    latencies.sort((a, b) => a - b);
    return { putsPerSecond, putP99Ms: percentile(latencies, 0.99) };
  } finally {
    client.destroy();
    await dynamo.stop();
  }
}

export async function measure({ quick }: BenchOptions): Promise<Figure[]> {
  const sizes = SIZES[quick ? 'quick' : 'full'];
  const dataDir = await mkdtemp(join(tmpdir(), 'countersign-bench-'));
  try {
    const twin = await measureTwin(join(dataDir, 'twin'), sizes);
    const dynalite = await measureDynalite(join(dataDir, 'dynalite'), twin.table, sizes);
    const ms = (value: number) => Math.round(value);
    return [
      {
        name: 'twinDecidedPerSecond',
        value: Math.round(twin.throughput.perSecond),
        unit: '/s',
        baseline: { name: 'twinDynalitePutItemsPerSecond', value: Math.round(dynalite.putsPerSecond) },
        goal: { atLeast: 60 },
        note: `warm: after ${(1 + sizes.warmUpRounds) * sizes.throughput} earlier decisions`,
      },
      {
        name: 'twinRequestToPendingP99Ms',
        value: ms(twin.toPendingP99Ms),
        unit: 'ms',
        baseline: { name: 'twinDynalitePutItemP99Ms', value: ms(dynalite.putP99Ms) },
        goal: { atMost: 100 },
      },
      // On a shared machine the CPU a decision costs says more than the wall time it took.
      { name: 'twinCpuMsPerDecision', value: ms(twin.throughput.cpuMs), unit: 'ms' },
      {
        name: 'twinColdDecidedPerSecond',
        value: Math.round(twin.coldThroughput.perSecond),
        unit: '/s',
        note: `the first ${sizes.throughput} after the twin started; ${ms(twin.coldThroughput.cpuMs)} ms of CPU a decision`,
      },
      { name: 'twinColdCpuMsPerDecision', value: ms(twin.coldThroughput.cpuMs), unit: 'ms' },
      { name: 'twinRequestToPendingP50Ms', value: ms(twin.toPendingP50Ms), unit: 'ms' },
      { name: 'twinVoteToDecisionP50Ms', value: ms(twin.voteToDecisionP50Ms), unit: 'ms' },
      { name: 'twinVoteToDecisionP99Ms', value: ms(twin.voteToDecisionP99Ms), unit: 'ms' },
      {
        name: 'twinRequestToPendingAtOnceP99Ms',
        value: ms(twin.atOnceToPendingP99Ms),
        unit: 'ms',
        note: `${sizes.throughput} approvals sent at once; p50 ${ms(twin.atOnceToPendingP50Ms)} ms`,
      },
      { name: 'twinRequests', value: sizes.throughput, unit: '' },
    ];
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}
