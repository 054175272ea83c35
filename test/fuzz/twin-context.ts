/**
 * The twin the door fuzzers aim at, as `npm start` runs it, on a free port and a temp data dir,
 * with two requests to aim votes at (one decided by policy alone, one pending) and what is needed
 * to read the stored state before and after: every item of every request partition (the request
 * with its votes and decision, its audit records, its chat messages) and every S3 object. Free of
 * vitest, so `npm run fuzz` can run it as a plain script.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand, paginateScan } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ListBucketsCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { publicRequestId } from '../../lambdas/domain/schemas.ts';
import { startLocalTwin } from '../../local/product/local-twin.ts';
import type { RunningTwin } from '../../local/twin/index.ts';
import { DIRECTORY_PATH, type LocalDirectory, localDirectory } from '../support/doors.ts';

export interface FuzzTwin {
  readonly twin: RunningTwin;
  readonly directory: LocalDirectory;
  readonly agent: LocalDirectory['agents'][number];
  /** A request the policy approved alone (decided): votes on it must be refused. */
  readonly decidedId: string;
  /** A request awaiting approval that the fuzzers never vote on validly. */
  readonly pendingId: string;
  /** A bearer token of the twin's dev issuer for `user`. */
  token(user: string): Promise<string>;
  /**
   * The stored state a door must not change: request partitions (`everything`: every item of the
   * table, so classifications and privileged calls too) and S3 objects,
   * canonical JSON.
   */
  state(options?: { readonly everything?: boolean }): Promise<string>;
  /** Waits until every execution but the pending request's has ended. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

const REQUEST_PARTITION = 'REQ#';
const AUDIT_SEQUENCE = 'AUDITSEQ';
const ARCHIVE_PREFIXES = ['audit/', 'digests/'];

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

export async function startFuzzTwin(): Promise<FuzzTwin> {
  const dataDir = await mkdtemp(join(tmpdir(), 'countersign-fuzz-'));
  const twin = await startLocalTwin({
    port: 0,
    host: '127.0.0.1',
    dataDir,
    log: () => undefined,
    directoryPath: DIRECTORY_PATH,
  });
  const directory = await localDirectory();
  const agent = directory.agents[0]!;
  const aws = { endpoint: twin.endpoint, region: twin.region, maxAttempts: 1 };
  const operator = { ...aws, credentials: { ...twin.operatorCredentials } };
  const dynamodb = new DynamoDBClient(operator);
  const s3 = new S3Client({ ...operator, forcePathStyle: true });
  const sfn = new SFNClient(operator);
  const events = new EventBridgeClient({
    ...aws,
    credentials: { accessKeyId: agent.accessKeyId, secretAccessKey: agent.secretAccessKey },
  });
  const tokens = new Map<string, string>();

  async function token(user: string): Promise<string> {
    const cached = tokens.get(user);
    if (cached !== undefined) return cached;
    const response = await fetch(`${twin.url}/local/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user }),
    });
    const { token: minted } = (await response.json()) as { token: string };
    tokens.set(user, minted);
    return minted;
  }

  async function status(requestId: string): Promise<string | undefined> {
    const response = await fetch(`${twin.url}/api/requests/${encodeURIComponent(requestId)}`, {
      headers: { authorization: `Bearer ${await token('alice')}` },
    });
    if (response.status !== 200) return undefined;
    const body = (await response.json()) as { request: { status: string }; timeline: { kind: string }[] };
    return body.request.status === 'PENDING' && !body.timeline.some((record) => record.kind === 'NOTIFIED')
      ? undefined
      : body.request.status;
  }

  async function ask(action: string, parameters: Record<string, unknown>): Promise<string> {
    const clientRequestId = `fuzz-${randomUUID()}`;
    await events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: 'countersign',
            Source: `countersign.agent.${agent.id}`,
            DetailType: 'Action Requested',
            Detail: JSON.stringify({
              requestId: clientRequestId,
              agent: { id: agent.id, onBehalfOf: agent.owner },
              action,
              resource: { arn: 'arn:aws:iam::123456789012:role/invoice-exporter', type: 'AWS::IAM::Role' },
              parameters,
              justification: 'fuzzing target',
            }),
          },
        ],
      }),
    );
    return publicRequestId(agent.id, clientRequestId);
  }

  const decidedId = await ask('iam:GetRole', { roleName: 'invoice-exporter' });
  const pendingId = await ask('iam:AttachRolePolicy', {
    roleName: 'invoice-exporter',
    policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
  });
  await until('the decided request', async () =>
    (await status(decidedId)) === 'APPROVED' ? true : undefined,
  );
  await until('the pending request', async () =>
    (await status(pendingId)) === 'PENDING' ? true : undefined,
  );

  async function state(options: { readonly everything?: boolean } = {}): Promise<string> {
    const tables = (await dynamodb.send(new ListTablesCommand({}))).TableNames ?? [];
    const items: Record<string, unknown>[] = [];
    for (const table of tables) {
      for await (const page of paginateScan(
        { client: dynamodb },
        { TableName: table, ConsistentRead: true },
      )) {
        for (const raw of page.Items ?? []) {
          const item = unmarshall(raw);
          // A request's audit sequence counter only moves with the audit records beside it, compared here.
          const kept = options.everything === true || String(item.pk ?? '').startsWith(REQUEST_PARTITION);
          if (kept && item.sk !== AUDIT_SEQUENCE) {
            items.push({ table, ...item });
          }
        }
      }
    }
    const objects: unknown[] = [];
    for (const bucket of (await s3.send(new ListBucketsCommand({}))).Buckets ?? []) {
      const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket.Name }));
      for (const version of listed.Versions ?? []) {
        // The audit archive copies the table's audit records (compared above) on its own schedule.
        if (ARCHIVE_PREFIXES.some((prefix) => version.Key?.startsWith(prefix))) continue;
        objects.push([bucket.Name, version.Key, version.VersionId, version.ETag]);
      }
    }
    const canonical = (value: unknown): string =>
      JSON.stringify(value, (_key, nested) =>
        nested !== null && typeof nested === 'object' && !Array.isArray(nested)
          ? Object.fromEntries(Object.entries(nested).sort(([a], [b]) => a.localeCompare(b)))
          : nested,
      );
    return canonical({
      items: items.map(canonical).sort(),
      objects: objects.map((object) => JSON.stringify(object)).sort(),
    });
  }

  async function settled(): Promise<void> {
    await until('executions to end', async () => {
      const running = await sfn.send(
        new ListExecutionsCommand({
          stateMachineArn: twin.stack.stateMachines[0]!.arn,
          statusFilter: 'RUNNING',
          maxResults: 1000,
        }),
      );
      // The pending request's execution waits for votes that never come.
      return (running.executions ?? []).length <= 1 ? true : undefined;
    });
  }

  // The decided request's workflow publishes (and attaches its receipt) after it is decided: the
  // state the doors must leave unchanged is the state once that work is done.
  await settled();
  const initial = await state();
  await until('the fixtures to settle', async () => {
    await sleep(500);
    return (await state()) === initial ? true : undefined;
  });

  return {
    twin,
    directory,
    agent,
    decidedId,
    pendingId,
    token,
    state,
    settled,
    async stop() {
      for (const client of [dynamodb, s3, sfn, events]) client.destroy();
      await twin.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
