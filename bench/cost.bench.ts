/**
 * What approvals cost in AWS: the demo mix (local/product/demo.ts: six requests, four of which
 * people approve, one denied by policy, one allowed) run through a twin that counts what AWS would
 * bill (local/aws/usage.ts), round after round, every pending request approved by eligible
 * reviewers through the REST API. Counted: state transitions (from each execution's history, as
 * Step Functions bills them), Lambda invocations and GB-seconds (each function's memory setting ×
 * its measured durations), DynamoDB read and write request units (consumed capacity as DynamoDB
 * computes it), EventBridge events published, S3 requests, KMS and Secrets Manager calls, HTTP API
 * requests (the votes). Priced at the list prices below and given per 1,000 human-approved
 * requests (the usage of the rounds run, divided by the approvals they held). Goal (issue 15):
 * ≤ $0.30.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetExecutionHistoryCommand, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { resourceNameOf } from '../lambdas/domain/step-up.ts';
import { BilledUnit, type Usage, UsageMeter } from '../local/aws/usage.ts';
import { runDemo } from '../local/product/demo.ts';
import type { BenchOptions, Figure } from './figures.ts';
import { startQuietTwin, type TwinClient } from './twin-client.ts';

/**
 * List prices, us-east-1, on-demand, no free tier, as of 2026-11-29: aws.amazon.com/step-functions/pricing/,
 * aws.amazon.com/lambda/pricing/ (Arm), aws.amazon.com/dynamodb/pricing/on-demand/ (after the
 * November 2024 cut), aws.amazon.com/eventbridge/pricing/ (custom events), aws.amazon.com/s3/pricing/
 * (S3 Standard requests), aws.amazon.com/kms/pricing/ (asymmetric ECC requests),
 * aws.amazon.com/secrets-manager/pricing/, aws.amazon.com/api-gateway/pricing/ (HTTP APIs).
 */
export const PRICES_USD = {
  stateTransition: 0.025 / 1_000,
  lambdaRequest: 0.2 / 1_000_000,
  lambdaArmGbSecond: 0.0000133334,
  dynamoDbWriteRequestUnit: 0.625 / 1_000_000,
  dynamoDbReadRequestUnit: 0.125 / 1_000_000,
  eventBridgeEvent: 1 / 1_000_000,
  s3WriteRequest: 0.005 / 1_000,
  s3ReadRequest: 0.0004 / 1_000,
  kmsAsymmetricRequest: 0.15 / 10_000,
  kmsRequest: 0.03 / 10_000,
  secretsManagerCall: 0.05 / 10_000,
  httpApiRequest: 1 / 1_000_000,
} as const;

const ROUNDS = { full: 25, quick: 1 } as const;
const GOAL_USD = 0.3;
const DIRECTORY_PATH = new URL('../countersign.local.json', import.meta.url);
/** S3 operations billed at the read rate; every other S3 call is billed as a write (PUT, COPY, LIST …). */
const S3_READS = new Set(['GetObject', 'HeadObject', 'GetObjectTagging', 'GetBucketLocation']);

interface DirectoryUser {
  readonly id: string;
  readonly groups: readonly string[];
}

interface Pending {
  readonly id: string;
  readonly arn: string;
  readonly groups: readonly string[];
  readonly stepUp: boolean;
  readonly requesters: readonly string[];
}

/** Approves a pending request with eligible reviewers, one vote at a time, until it is decided. */
async function approve(
  client: TwinClient,
  pending: Pending,
  users: readonly DirectoryUser[],
): Promise<number> {
  const eligible = users.filter(
    (user) =>
      !pending.requesters.includes(user.id) && user.groups.some((group) => pending.groups.includes(group)),
  );
  let votes = 0;
  for (const user of eligible) {
    const { status, body } = await client.api(
      'POST',
      `/api/requests/${encodeURIComponent(pending.id)}/votes`,
      user.id,
      {
        vote: 'approve',
        ...(pending.stepUp ? { stepUpConfirmation: resourceNameOf(pending.arn) } : {}),
      },
    );
    if (status !== 201)
      throw new Error(`${user.id}'s vote on ${pending.id} refused: ${JSON.stringify(body)}`);
    votes += 1;
    const detail = (await client.api('GET', `/api/requests/${encodeURIComponent(pending.id)}`, user.id))
      .body as {
      request: { status: string };
    };
    if (detail.request.status !== 'PENDING') return votes;
  }
  throw new Error(`${pending.id} is still pending after every eligible reviewer approved`);
}

/** One round of the demo mix: sent, each review-waiting request approved; the human approvals and votes. */
async function round(
  client: TwinClient,
  target: Parameters<typeof runDemo>[0],
  users: readonly DirectoryUser[],
): Promise<{ approvals: number; votes: number }> {
  const ids = await runDemo(target);
  let approvals = 0;
  let votes = 0;
  for (const id of ids) {
    const detail = await client.until(`${id} to be decided or waiting for review`, async () => {
      const { status, body } = await client.api('GET', `/api/requests/${encodeURIComponent(id)}`, 'alice');
      if (status !== 200) return undefined;
      const { request, timeline } = body as {
        request: {
          status: string;
          resource: { arn: string };
          agent: { id: string; onBehalfOf?: string; owner?: string };
          policy: { groups: string[]; stepUp: boolean };
        };
        timeline: { kind: string }[];
      };
      if (request.status !== 'PENDING') return { request, pending: false };
      return timeline.some((record) => record.kind === 'NOTIFIED') ? { request, pending: true } : undefined;
    });
    if (!detail.pending) continue;
    const { agent, policy, resource } = detail.request;
    votes += await approve(
      client,
      {
        id,
        arn: resource.arn,
        groups: policy.groups,
        stepUp: policy.stepUp,
        requesters: [agent.id, agent.onBehalfOf, agent.owner].filter(
          (who): who is string => who !== undefined,
        ),
      },
      users,
    );
    approvals += 1;
  }
  return { approvals, votes };
}

/** State transitions of every execution, as Step Functions bills them: each state entered. */
async function stateTransitions(client: TwinClient, stateMachineArn: string): Promise<number> {
  let transitions = 0;
  let nextToken: string | undefined;
  do {
    const page = await client.sfn.send(
      new ListExecutionsCommand({ stateMachineArn, maxResults: 1000, nextToken }),
    );
    for (const execution of page.executions ?? []) {
      let historyToken: string | undefined;
      do {
        const history = await client.sfn.send(
          new GetExecutionHistoryCommand({
            executionArn: execution.executionArn,
            maxResults: 1000,
            nextToken: historyToken,
          }),
        );
        transitions += (history.events ?? []).filter((event) => event.type?.endsWith('StateEntered')).length;
        historyToken = history.nextToken;
      } while (historyToken !== undefined);
    }
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return transitions;
}

interface CostLine {
  readonly item: string;
  readonly quantity: number;
  readonly usd: number;
}

/** The bill of what was counted, line by line. */
export function price(usage: Usage, transitions: number, httpApiRequests: number): CostLine[] {
  const calls = (prefix: string, filter: (operation: string) => boolean = () => true) =>
    Object.entries(usage.calls)
      .filter(([action]) => action.startsWith(prefix) && filter(action.slice(prefix.length)))
      .reduce((sum, [, count]) => sum + count, 0);
  const functions = Object.values(usage.functions);
  const invocations = functions.reduce((sum, fn) => sum + fn.invocations, 0);
  // Lambda bills each invocation's duration rounded up to the millisecond; the sum is within a ms each.
  const gbSeconds = functions.reduce((sum, fn) => sum + (fn.memoryMb / 1024) * (fn.durationMs / 1000), 0);
  const writeUnits = usage.units[BilledUnit.dynamoDbWrite] ?? 0;
  const readUnits = usage.units[BilledUnit.dynamoDbRead] ?? 0;
  const s3Reads = calls('s3:', (operation) => S3_READS.has(operation));
  const s3Writes = calls('s3:', (operation) => !S3_READS.has(operation));
  const kmsSigns = calls('kms:', (operation) => operation === 'Sign');
  const kmsOther = calls('kms:', (operation) => operation !== 'Sign');
  const events = usage.units[BilledUnit.eventBridgeEvents] ?? 0;
  const secrets = calls('secretsmanager:');
  return [
    {
      item: 'Step Functions state transitions',
      quantity: transitions,
      usd: transitions * PRICES_USD.stateTransition,
    },
    { item: 'Lambda requests', quantity: invocations, usd: invocations * PRICES_USD.lambdaRequest },
    { item: 'Lambda GB-seconds (Arm)', quantity: gbSeconds, usd: gbSeconds * PRICES_USD.lambdaArmGbSecond },
    {
      item: 'DynamoDB write request units',
      quantity: writeUnits,
      usd: writeUnits * PRICES_USD.dynamoDbWriteRequestUnit,
    },
    {
      item: 'DynamoDB read request units',
      quantity: readUnits,
      usd: readUnits * PRICES_USD.dynamoDbReadRequestUnit,
    },
    { item: 'EventBridge events', quantity: events, usd: events * PRICES_USD.eventBridgeEvent },
    {
      item: 'S3 requests',
      quantity: s3Reads + s3Writes,
      usd: s3Reads * PRICES_USD.s3ReadRequest + s3Writes * PRICES_USD.s3WriteRequest,
    },
    {
      item: 'KMS requests',
      quantity: kmsSigns + kmsOther,
      usd: kmsSigns * PRICES_USD.kmsAsymmetricRequest + kmsOther * PRICES_USD.kmsRequest,
    },
    { item: 'Secrets Manager calls', quantity: secrets, usd: secrets * PRICES_USD.secretsManagerCall },
    {
      item: 'HTTP API requests',
      quantity: httpApiRequests,
      usd: httpApiRequests * PRICES_USD.httpApiRequest,
    },
  ];
}

export async function measure({ quick }: BenchOptions): Promise<Figure[]> {
  const rounds = ROUNDS[quick ? 'quick' : 'full'];
  const dataDir = await mkdtemp(join(tmpdir(), 'countersign-cost-'));
  const meter = new UsageMeter();
  const { twin, client } = await startQuietTwin(dataDir, meter);
  try {
    const config = JSON.parse(await readFile(DIRECTORY_PATH, 'utf8')) as {
      users: DirectoryUser[];
      agents: { id: string; owner: string; accessKeyId: string; secretAccessKey: string }[];
    };
    const agent = config.agents[0]!;
    const target = { endpoint: twin.endpoint, busName: 'countersign', agent, region: twin.region };
    let approvals = 0;
    let votes = 0;
    for (let n = 0; n < rounds; n += 1) {
      const done = await round(client, target, config.users);
      approvals += done.approvals;
      votes += done.votes;
    }
    await client.until('every workflow to finish', async () =>
      (await client.finishedExecutions()) >= rounds * 6 ? true : undefined,
    );
    const lines = price(
      meter.snapshot(),
      await stateTransitions(client, twin.stack.stateMachines[0]!.arn),
      votes,
    );
    const perThousand = 1000 / approvals;
    const total = lines.reduce((sum, line) => sum + line.usd, 0) * perThousand;
    const largest = lines.reduce((max, line) => (line.usd > max.usd ? line : max));
    const camel = (item: string) =>
      item
        .replace(/\(.*\)/, '')
        .replace(/[^A-Za-z0-9\s]/g, ' ')
        .trim()
        .replace(/(?:^|\s+)(\w)/g, (_, letter: string) => letter.toUpperCase());
    return [
      {
        name: 'costUsdPer1000Approvals',
        value: Number(total.toFixed(4)),
        unit: 'USD',
        goal: { atMost: GOAL_USD },
        note: `largest: ${largest.item}; ${approvals} approvals in ${rounds} rounds of the demo mix`,
      },
      // The items in cents: most are fractions of one.
      ...lines.map((line) => ({
        name: `cost${camel(line.item)}CentsPer1000Approvals`,
        value: Number((line.usd * perThousand * 100).toFixed(3)),
        unit: '¢',
        note: `${Number((line.quantity * perThousand).toFixed(1)).toLocaleString('en-US')} per 1,000 approvals`,
      })),
    ];
  } finally {
    client.destroy();
    await twin.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
