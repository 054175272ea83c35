/**
 * The benches' client of a twin they start themselves (twin, load): an agent sending requests with
 * PutEvents, reviewers using the REST API with the dev issuer's tokens, Step Functions for the
 * workflows, all through the twin's real protocols on loopback.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Attr } from '../lambdas/adapters/dynamodb/request-item.ts';
import { TABLE_LAYOUT, TableKey } from '../lambdas/adapters/dynamodb/table-layout.ts';
import { AuditKind, type AuditRecord } from '../lambdas/domain/audit-record.ts';
import { publicRequestId, type RequestRecord } from '../lambdas/domain/schemas.ts';
import type { UsageMeter } from '../local/aws/usage.ts';
import { startLocalTwin } from '../local/product/local-twin.ts';
import type { RunningTwin } from '../local/twin/index.ts';

const POLL_MS = 5;
const GIVE_UP_MS = 120_000;
const DIRECTORY_PATH = new URL('../countersign.local.json', import.meta.url);
/** Powertools settings that keep the twin's handlers quiet (no log lines, no EMF documents). */
const QUIET_FUNCTIONS = { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' } as const;

export interface Agent {
  readonly id: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface Detail {
  readonly request: RequestRecord;
  readonly timeline: readonly AuditRecord[];
}

export class TwinClient {
  readonly #twin: RunningTwin;
  readonly #agent: Agent;
  readonly #events: EventBridgeClient;
  readonly sfn: SFNClient;
  readonly #table: DynamoDBDocumentClient;
  readonly #tableName: string;
  readonly #tokens = new Map<string, string>();
  readonly #stateMachineArn: string;

  constructor(twin: RunningTwin, agent: Agent) {
    this.#twin = twin;
    this.#agent = agent;
    this.#stateMachineArn = twin.stack.stateMachines[0]!.arn;
    const common = { endpoint: twin.endpoint, region: twin.region };
    this.#events = new EventBridgeClient({
      ...common,
      credentials: { accessKeyId: agent.accessKeyId, secretAccessKey: agent.secretAccessKey },
    });
    this.sfn = new SFNClient({ ...common, credentials: { ...twin.operatorCredentials } });
    this.#table = DynamoDBDocumentClient.from(
      new DynamoDBClient({ ...common, credentials: { ...twin.operatorCredentials } }),
    );
    this.#tableName = twin.stack.tables[0]!.name;
  }

  destroy(): void {
    this.#events.destroy();
    this.sfn.destroy();
    this.#table.destroy();
  }

  /** An approval the policies ask people for: attaching a managed policy to a role. */
  approvalRequest() {
    return this.request('iam:AttachRolePolicy', {
      roleName: 'invoice-exporter',
      policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
    });
  }

  request(action: string, parameters: Record<string, string>) {
    return {
      requestId: `bench-${randomUUID()}`,
      agent: { id: this.#agent.id },
      action,
      resource: { arn: 'arn:aws:iam::123456789012:role/invoice-exporter' },
      parameters,
      justification: 'benchmark',
    };
  }

  /** Sends requests 10 per PutEvents call (EventBridge's limit), the calls at once. */
  async sendAll(details: readonly { requestId: string }[]): Promise<void> {
    const batches = Array.from({ length: Math.ceil(details.length / 10) }, (_, i) =>
      details.slice(i * 10, i * 10 + 10),
    );
    await Promise.all(batches.map((batch) => this.send(batch)));
  }

  async send(details: readonly { requestId: string }[]): Promise<void> {
    const result = await this.#events.send(
      new PutEventsCommand({
        Entries: details.map((detail) => ({
          EventBusName: 'countersign',
          Source: `countersign.agent.${this.#agent.id}`,
          DetailType: 'Action Requested',
          Detail: JSON.stringify(detail),
        })),
      }),
    );
    if ((result.FailedEntryCount ?? 0) > 0)
      throw new Error(`PutEvents failed: ${JSON.stringify(result.Entries)}`);
  }

  async #token(user: string): Promise<string> {
    const cached = this.#tokens.get(user);
    if (cached !== undefined) return cached;
    const response = await fetch(`${this.#twin.url}/local/token`, {
      method: 'POST',
      body: JSON.stringify({ user }),
    });
    const { token } = (await response.json()) as { token: string };
    this.#tokens.set(user, token);
    return token;
  }

  async api(
    method: string,
    path: string,
    as: string,
    body?: unknown,
  ): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${this.#twin.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${await this.#token(as)}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: await response.json() };
  }

  /**
   * Where a request the bench sent stands, read from the table: its status (undefined until it is
   * stored) and, once its trail has the NOTIFIED record (reviewers were asked), that record's time.
   * One consistent BatchGetItem of the two items, light enough to poll without loading the twin the
   * way the API's detail does (a Lambda invocation, a token check, a read and a query).
   */
  async reviewState(requestId: string): Promise<{ status?: string; notifiedAt?: number }> {
    const id = publicRequestId(this.#agent.id, requestId);
    const [request, notified] = [TableKey.request(id), TableKey.audit(id, AuditKind.notified)];
    const sortKey = TABLE_LAYOUT.sortKey;
    const { Responses } = await this.#table.send(
      new BatchGetCommand({
        RequestItems: {
          [this.#tableName]: {
            Keys: [request, notified],
            ConsistentRead: true,
            ProjectionExpression: '#sortKey, #status, #at',
            ExpressionAttributeNames: { '#sortKey': sortKey, '#status': Attr.status, '#at': 'at' },
          },
        },
      }),
    );
    // A key left unprocessed reads as not there yet: the caller polls again.
    const items = Responses?.[this.#tableName] ?? [];
    const status = items.find((item) => item[sortKey] === request[sortKey])?.[Attr.status];
    const at = items.find((item) => item[sortKey] === notified[sortKey])?.at;
    return {
      ...(typeof status === 'string' ? { status } : {}),
      ...(typeof at === 'string' ? { notifiedAt: Date.parse(at) } : {}),
    };
  }

  /**
   * Waits until reviewers of a request the bench sent were asked, and answers when (the NOTIFIED
   * record's time); fails at once when the request was decided without review.
   */
  async reviewersAsked(requestId: string, pollMs?: number): Promise<number> {
    return this.until(
      `${requestId}'s reviewers to be asked`,
      async () => {
        const { status, notifiedAt } = await this.reviewState(requestId);
        if (status !== undefined && status !== 'PENDING') {
          throw new Error(`${requestId} was decided without review: ${status}`);
        }
        return notifiedAt;
      },
      pollMs,
    );
  }

  /** The API's path of a request the bench sent with this (client) request id. */
  path(requestId: string): string {
    return `/api/requests/${publicRequestId(this.#agent.id, requestId)}`;
  }

  async detail(requestId: string): Promise<Detail | undefined> {
    const { status, body } = await this.api('GET', this.path(requestId), 'alice');
    return status === 200 ? (body as Detail) : undefined;
  }

  /**
   * Executions of the state machine that are no longer running: all of them (the bench's twin starts
   * empty), or those started at `since` or later. ListExecutions answers newest first, so the pages
   * are read only down to the first execution older than `since`, whatever ran before. Counted by
   * ARN: an execution started between two pages moves the others one place down, and the next page
   * repeats the last of the one before.
   */
  async finishedExecutions(since?: Date): Promise<number> {
    const finished = new Set<string>();
    let nextToken: string | undefined;
    do {
      const page = await this.sfn.send(
        new ListExecutionsCommand({
          stateMachineArn: this.#stateMachineArn,
          maxResults: since === undefined ? 1000 : 100,
          nextToken,
        }),
      );
      const executions = page.executions ?? [];
      const recent = executions.filter(
        (execution) => since === undefined || (execution.startDate ?? since) >= since,
      );
      for (const { executionArn, status } of recent) {
        if (executionArn !== undefined && status !== 'RUNNING') finished.add(executionArn);
      }
      nextToken = recent.length < executions.length ? undefined : page.nextToken;
    } while (nextToken !== undefined);
    return finished.size;
  }

  /** Polls until `probe` answers; fails after GIVE_UP_MS with `what`. */
  async until<T>(what: string, probe: () => Promise<T | undefined>, pollMs = POLL_MS): Promise<T> {
    const deadline = performance.now() + GIVE_UP_MS;
    while (performance.now() < deadline) {
      const value = await probe();
      if (value !== undefined) return value;
      await delay(pollMs);
    }
    throw new Error(`gave up waiting for ${what}`);
  }
}

/** A twin on a free loopback port with its data in `dataDir`, its functions quiet (counting what it serves into `meter`), and a client of it. */
export async function startQuietTwin(
  dataDir: string,
  meter?: UsageMeter,
): Promise<{ twin: RunningTwin; client: TwinClient }> {
  const directory = JSON.parse(await readFile(DIRECTORY_PATH, 'utf8')) as { agents: Agent[] };
  const twin = await startLocalTwin({
    port: 0,
    dataDir,
    meter,
    log: () => undefined,
    // The functions' own logs and EMF metrics are not the bench's output: the table is.
    extend: () => ({ environment: QUIET_FUNCTIONS }),
  });
  return { twin, client: new TwinClient(twin, directory.agents[0]!) };
}
