/**
 * The end-to-end harness: a twin on a free port with a temp data dir, and the only ways in that a
 * user has: AWS SDK clients (EventBridge as the agent, Step Functions as the operator) and HTTP
 * (the dev issuer's tokens and the REST API).
 */
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import {
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, vi } from 'vitest';
import type { Eligibility } from '../../../lambdas/domain/approval.ts';
import type { AuditRecord } from '../../../lambdas/domain/audit-record.ts';
import { publicRequestId, type RequestRecord } from '../../../lambdas/domain/schemas.ts';
import { ENV } from '../../../lambdas/handlers/environment-names.ts';
import type { UsageMeter } from '../../../local/aws/usage.ts';
import { startLocalTwin } from '../../../local/product/local-twin.ts';
import {
  FAULTS_SIGNING_NAME,
  FAULTS_TARGET_PREFIX,
  type FaultSpecInput,
  type RunningTwin,
} from '../../../local/twin/index.ts';
import { signedJsonCall } from '../../support/doors.ts';

/**
 * How long a poll waits for the twin to finish what it started (a workflow's last steps): vitest's
 * default of one second is a timing assertion that a busy shared machine fails.
 */
export const EVENTUALLY = { timeout: 15_000, interval: 50 } as const;

export const REPO_ROOT = join(import.meta.dirname, '..', '..', '..');
export const DIRECTORY_PATH = join(REPO_ROOT, 'countersign.local.json');
const ACCOUNT = '123456789012';

export interface Agent {
  readonly id: string;
  readonly owner: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export async function demoAgent(): Promise<Agent> {
  const directory = JSON.parse(await readFile(DIRECTORY_PATH, 'utf8')) as { agents: Agent[] };
  return directory.agents[0]!;
}

export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `countersign-e2e-${prefix}-`));
}

/** The repository's policies plus `extra` files, for tests that need e.g. a short timeout. */
export async function policyDirWith(extra: Record<string, string>): Promise<string> {
  const dir = await tempDir('policies');
  await cp(join(REPO_ROOT, 'policies'), dir, { recursive: true });
  for (const [name, text] of Object.entries(extra)) await writeFile(join(dir, name), text);
  return dir;
}

export interface E2eTwinOptions {
  readonly dataDir: string;
  /** Overrides POLICY_DIR for every function. */
  readonly policyDir?: string;
  /** Counts what the twin's AWS served (calls by action, invocations by function). */
  readonly meter?: UsageMeter;
}

/**
 * The twin as `npm start` runs it (startLocalTwin). A policy override needs POLICY_DIR in every
 * function's environment, which only a twin extension can give.
 */
export async function startE2eTwin(options: E2eTwinOptions): Promise<RunningTwin> {
  const { policyDir } = options;
  return startLocalTwin({
    port: 0,
    host: '127.0.0.1',
    dataDir: options.dataDir,
    log: () => undefined,
    directoryPath: DIRECTORY_PATH,
    ...(options.meter === undefined ? {} : { meter: options.meter }),
    ...(policyDir === undefined ? {} : { extend: () => ({ environment: { [ENV.policyDir]: policyDir } }) }),
  });
}

/** The twin of a test file and a client for the demo agent (set once its `beforeAll` has run). */
export interface TwinUnderTest {
  readonly twin: RunningTwin;
  readonly client: E2eClient;
}

/**
 * For a test file: a twin with the repository's policies plus `policies` started before its tests,
 * with a demo agent's client; both stopped and their directories removed after them.
 */
export function useTwinWithPolicies(prefix: string, policies: Record<string, string>): TwinUnderTest {
  let started: TwinUnderTest | undefined;
  const cleanup: string[] = [];
  beforeAll(async () => {
    const dataDir = await tempDir(prefix);
    const policyDir = await policyDirWith(policies);
    cleanup.push(dataDir, policyDir);
    const twin = await startE2eTwin({ dataDir, policyDir });
    started = { twin, client: new E2eClient(twin, await demoAgent()) };
  });
  afterAll(async () => {
    started?.client.destroy();
    await started?.twin.stop();
    for (const dir of cleanup) await removeDir(dir);
  });
  const current = () => {
    if (started === undefined) throw new Error('the twin is started in beforeAll');
    return started;
  };
  return {
    get twin() {
      return current().twin;
    },
    get client() {
      return current().client;
    },
  };
}

/** An agent request detail; `overrides` replace fields. Each gets a fresh requestId. */
export function agentRequest(agent: Agent, overrides: Record<string, unknown> = {}) {
  return {
    requestId: `e2e-${randomUUID()}`,
    agent: { id: agent.id, onBehalfOf: agent.owner },
    action: 'iam:AttachRolePolicy',
    resource: { arn: `arn:aws:iam::${ACCOUNT}:role/invoice-exporter`, type: 'AWS::IAM::Role' },
    parameters: { roleName: 'invoice-exporter', policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' },
    justification: 'end-to-end test',
    ...overrides,
  } as { requestId: string; agent: { id: string } } & Record<string, unknown>;
}

/** The public id the twin files a request under: `<agentId>:<requestId>`. */
export function idOf(detail: {
  readonly requestId: string;
  readonly agent: { readonly id: string };
}): string {
  return publicRequestId(detail.agent.id, detail.requestId);
}

export interface RequestDetail {
  readonly request: RequestRecord;
  readonly timeline: AuditRecord[];
  readonly canVote: Eligibility;
}

export interface ApiAnswer {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: assertions read success and error bodies alike
  readonly body: any;
}

export class E2eClient {
  readonly twin: RunningTwin;
  readonly agent: Agent;
  readonly events: EventBridgeClient;
  readonly sfn: SFNClient;
  readonly #tokens = new Map<string, string>();

  constructor(twin: RunningTwin, agent: Agent) {
    this.twin = twin;
    this.agent = agent;
    const common = { endpoint: twin.endpoint, region: twin.region, maxAttempts: 1 };
    this.events = new EventBridgeClient({
      ...common,
      credentials: { accessKeyId: agent.accessKeyId, secretAccessKey: agent.secretAccessKey },
    });
    this.sfn = new SFNClient({ ...common, credentials: { ...twin.operatorCredentials } });
  }

  destroy(): void {
    this.events.destroy();
    this.sfn.destroy();
  }

  entry(detail: Record<string, unknown>): PutEventsRequestEntry {
    return {
      EventBusName: 'countersign',
      Source: `countersign.agent.${this.agent.id}`,
      DetailType: 'Action Requested',
      Detail: JSON.stringify(detail),
    };
  }

  /** Puts the requests as the agent (at most 10 a call, as AWS allows); throws on a failed entry. */
  async send(...details: Record<string, unknown>[]): Promise<void> {
    const result = await this.events.send(
      new PutEventsCommand({ Entries: details.map((d) => this.entry(d)) }),
    );
    if ((result.FailedEntryCount ?? 0) > 0)
      throw new Error(`PutEvents failed: ${JSON.stringify(result.Entries)}`);
  }

  async token(user: string): Promise<string> {
    const cached = this.#tokens.get(user);
    if (cached !== undefined) return cached;
    const response = await fetch(`${this.twin.url}/local/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user }),
    });
    if (response.status !== 200) throw new Error(`no token for ${user}: HTTP ${response.status}`);
    const { token } = (await response.json()) as { token: string };
    this.#tokens.set(user, token);
    return token;
  }

  /** The REST API as `as`; the body is the API's JSON, typed loosely because tests probe errors too. */
  async api(method: string, path: string, as: string, body?: unknown): Promise<ApiAnswer> {
    const response = await fetch(`${this.twin.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${await this.token(as)}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
  }

  vote(
    requestId: string,
    as: string,
    vote: 'approve' | 'deny',
    reason?: string,
    stepUpConfirmation?: string,
  ) {
    return this.api('POST', `/api/requests/${encodeURIComponent(requestId)}/votes`, as, {
      vote,
      ...(reason === undefined ? {} : { reason }),
      ...(stepUpConfirmation === undefined ? {} : { stepUpConfirmation }),
    });
  }

  async detail(requestId: string, as = 'alice'): Promise<RequestDetail | undefined> {
    const { status, body } = await this.api('GET', `/api/requests/${encodeURIComponent(requestId)}`, as);
    if (status === 404) return undefined;
    if (status !== 200) throw new Error(`GET request ${requestId}: HTTP ${status} ${JSON.stringify(body)}`);
    return body;
  }

  /** Polls the REST API until the request exists and `accept` holds for its detail. */
  async waitFor(
    requestId: string,
    accept: (detail: RequestDetail) => boolean,
    timeout = 20_000,
  ): Promise<RequestRecord> {
    return vi.waitFor(
      async () => {
        const found = await this.detail(requestId);
        if (found === undefined) throw new Error(`${requestId} not recorded yet`);
        if (!accept(found)) throw new Error(`${requestId} is ${found.request.status}`);
        return found.request;
      },
      { timeout, interval: 50 },
    );
  }

  /**
   * The request once reviewers have been asked: pending, awaiting approval and notified. A request
   * the policy decided alone is returned as soon as it is decided, so the caller's assertion names
   * what went wrong instead of a timeout.
   */
  waitForPending(requestId: string, timeout?: number): Promise<RequestRecord> {
    return this.waitFor(
      requestId,
      ({ request, timeline }) =>
        request.status !== 'PENDING' || timeline.some((record) => record.kind === 'NOTIFIED'),
      timeout,
    );
  }

  waitForDecision(requestId: string, timeout?: number): Promise<RequestRecord> {
    return this.waitFor(requestId, ({ request }) => request.status !== 'PENDING', timeout);
  }

  async history(executionArn: string): Promise<HistoryEvent[]> {
    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.sfn.send(new GetExecutionHistoryCommand({ executionArn, nextToken }));
      events.push(...(page.events ?? []));
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
    return events;
  }

  /** The histories of every execution of the same state machine whose input names `requestId`. */
  async executionHistoriesOf(executionArn: string, requestId: string): Promise<HistoryEvent[][]> {
    const [prefix, machine] = executionArn.split(':execution:') as [string, string];
    const stateMachineArn = `${prefix}:stateMachine:${machine.split(':')[0]}`;
    const histories: HistoryEvent[][] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.sfn.send(new ListExecutionsCommand({ stateMachineArn, nextToken }));
      for (const execution of page.executions ?? []) {
        const history = await this.history(execution.executionArn!);
        const input = history.find((event) => event.type === 'ExecutionStarted')?.executionStartedEventDetails
          ?.input;
        if (input?.includes(`"${requestId}"`)) histories.push(history);
      }
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
    return histories;
  }

  /** The task token of the execution's (latest) callback task, from its TaskScheduled parameters. */
  async waitForTaskToken(executionArn: string): Promise<string> {
    return vi.waitFor(
      async () => {
        const scheduled = (await this.history(executionArn))
          .filter((event) => event.type === 'TaskScheduled')
          .map((event) => findTaskToken(JSON.parse(event.taskScheduledEventDetails?.parameters ?? 'null')))
          .filter((token): token is string => token !== undefined);
        if (scheduled.length === 0) throw new Error('no callback task scheduled yet');
        return scheduled.at(-1)!;
      },
      { timeout: 20_000, interval: 50 },
    );
  }
}

function findTaskToken(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, nested] of Object.entries(value)) {
    if (/^taskToken$/i.test(key) && typeof nested === 'string') return nested;
    const found = findTaskToken(nested);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The twin's S3 as `credentials` call it: path-style, one attempt (a refusal is the answer, not retried). */
export function twinS3Client(
  twin: RunningTwin,
  credentials: { readonly accessKeyId: string; readonly secretAccessKey: string },
): S3Client {
  return new S3Client({
    endpoint: twin.endpoint,
    region: twin.region,
    forcePathStyle: true,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    maxAttempts: 1,
  });
}

/** Arms a fault through the operator's signed control API, as a test or an operator would; its id. */
export async function injectFault(twin: RunningTwin, spec: FaultSpecInput): Promise<string> {
  const answer = await signedJsonCall(twin, twin.operatorCredentials, {
    service: FAULTS_SIGNING_NAME,
    target: `${FAULTS_TARGET_PREFIX}.InjectFault`,
    version: '1.1',
    body: JSON.stringify(spec),
  });
  if (answer.status !== 200) throw new Error(`InjectFault answered ${answer.status}: ${answer.text}`);
  return (JSON.parse(answer.text) as { Fault: { id: string } }).Fault.id;
}

export async function removeDir(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}
