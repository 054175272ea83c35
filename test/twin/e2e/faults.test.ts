/**
 * Faults injected into the running twin, end to end: each dependency fails the way AWS, Slack or
 * the Bot Framework fails, while requests and votes go on. For each fault: nothing is allowed that
 * should not be, nothing stored is lost, every decision is made (and told) exactly once, retries
 * converge once the fault clears, and the operator sees it (a function error in the log naming the
 * request, which the stack's per-function Errors alarm counts; an API error log line).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { UsageMeter } from '../../../local/aws/usage.ts';
import { run as audit } from '../../../local/cli/commands/audit.ts';
import { startLocalTwin } from '../../../local/product/local-twin.ts';
import type { FaultSpecInput, RunningTwin } from '../../../local/twin/index.ts';
import { FAULTS_SIGNING_NAME, FAULTS_TARGET_PREFIX } from '../../../local/twin/index.ts';
import { archivedLines, runCli } from '../../support/audit-archive.ts';
import { localDirectory, postSlack, signedJsonCall, slackForm } from '../../support/doors.ts';
import {
  agentRequest,
  DIRECTORY_PATH,
  demoAgent,
  E2eClient,
  idOf,
  injectFault,
  type RequestDetail,
  removeDir,
  tempDir,
} from './harness.ts';

let twin: RunningTwin;
let client: E2eClient;
let dataDir: string;
const meter = new UsageMeter();
const logLines: string[] = [];

beforeAll(async () => {
  dataDir = await tempDir('faults');
  twin = await startLocalTwin({
    port: 0,
    host: '127.0.0.1',
    dataDir,
    log: (line) => logLines.push(line),
    directoryPath: DIRECTORY_PATH,
    faultInjection: true,
    meter,
  });
  client = new E2eClient(twin, await demoAgent());
}, 120_000);

afterEach(() => {
  twin.faults!.clear();
});

afterAll(async () => {
  client?.destroy();
  await twin?.stop();
  if (dataDir !== undefined) await removeDir(dataDir);
});

const SLOW = { timeout: 90_000 } as const;

const inject = (spec: FaultSpecInput) => injectFault(twin, spec);

function injected(id: string): number {
  return twin.faults!.get(id)?.injected ?? 0;
}

function kinds(detail: RequestDetail, kind: string): number {
  return detail.timeline.filter((record) => record.kind === kind).length;
}

/** Invocations of the stack function whose logical id contains `prefix`, so far. */
function invocationsOf(prefix: string): number {
  const fn = twin.stack.functions.find((candidate) => candidate.logicalId.includes(prefix));
  if (fn === undefined) throw new Error(`no function ${prefix}`);
  return meter.snapshot().functions[fn.name]?.invocations ?? 0;
}

/** The request's full trail once the workflow told the agent (PUBLISHED). */
async function whenPublished(requestId: string): Promise<RequestDetail> {
  return vi.waitFor(
    async () => {
      const detail = await client.detail(requestId);
      if (detail === undefined || kinds(detail, 'PUBLISHED') === 0) throw new Error('not published yet');
      return detail;
    },
    { timeout: 60_000, interval: 100 },
  );
}

async function outbox(): Promise<{ channel: string; method: string; body: unknown }[]> {
  const response = await fetch(`${twin.url}/local/outbox`);
  return ((await response.json()) as { items: { channel: string; method: string; body: unknown }[] }).items;
}

/** Outbox entries of `method` that carry the request's id. */
async function posted(method: string, requestId: string): Promise<number> {
  return (await outbox()).filter(
    (entry) => entry.method === method && JSON.stringify(entry.body).includes(requestId),
  ).length;
}

/** A request waiting for reviewers: its public id, and the id the agent gave it. */
/**
 * The request is still waiting for people (a chat failure never decides it), asked once, and its
 * review is in Slack once and in Teams once.
 */
async function reviewPostedOnce(requestId: string): Promise<void> {
  const detail = (await client.detail(requestId))!;
  expect(detail.request.status).toBe('PENDING');
  expect(kinds(detail, 'NOTIFIED')).toBe(1);
  expect(await posted('chat.postMessage', requestId)).toBe(1);
  expect(await posted('conversations.sendActivity', requestId)).toBe(1);
}

async function pendingRequest(): Promise<string> {
  const request = agentRequest(client.agent);
  await client.send(request);
  const requestId = idOf(request);
  await client.waitForPending(requestId);
  return requestId;
}

/** Whether the twin's log has a line (a function's, or the twin's own) with every one of `parts`. */
function logged(...parts: string[]): boolean {
  return logLines.some((line) => parts.every((part) => line.includes(part)));
}

/** The executions that ran for the request, each with its history. */
async function executionsOf(detail: RequestDetail) {
  const agentsId = detail.request.requestId.slice(detail.request.requestId.indexOf(':') + 1);
  return client.executionHistoriesOf(detail.request.executionArn!, agentsId);
}

describe('the fault control', () => {
  it('is the operator’s: an agent’s key is refused, and a fault the twin cannot inject is refused', async () => {
    const agent = await signedJsonCall(twin, client.agent, {
      service: FAULTS_SIGNING_NAME,
      target: `${FAULTS_TARGET_PREFIX}.InjectFault`,
      version: '1.1',
      body: JSON.stringify({ point: 'aws', action: 'dynamodb:PutItem', code: 'ThrottlingException' }),
    });
    expect(agent.status).toBe(400);
    expect(JSON.parse(agent.text)).toMatchObject({ __type: 'AccessDeniedException' });
    const invalid = await signedJsonCall(twin, twin.operatorCredentials, {
      service: FAULTS_SIGNING_NAME,
      target: `${FAULTS_TARGET_PREFIX}.InjectFault`,
      version: '1.1',
      body: JSON.stringify({ point: 'aws', action: 'dynamodb:PutItem', code: 'NoSuchBucket' }),
    });
    expect(invalid.status).toBe(400);
    expect(JSON.parse(invalid.text)).toMatchObject({ __type: 'ValidationException' });
    expect(twin.faults!.list()).toEqual([]);
  });
});

describe('faults injected into the running twin', () => {
  // First: the chat functions fetch a Bot Framework token at their first post and keep it.
  it('the Teams token endpoint failing: the review is posted once', SLOW, async () => {
    const fault = await inject({ point: 'teams-token', status: 503, times: 1 });
    const requestId = await pendingRequest();
    expect(injected(fault)).toBe(1);
    await reviewPostedOnce(requestId);
    expect(logged('workflow step failed', requestId)).toBe(true);
  });

  it(
    'a PutEvents partial failure of Action Decided is retried: the agent is told exactly once',
    SLOW,
    async () => {
      const fault = await inject({ point: 'put-events-entry', detailType: 'Action Decided', times: 1 });
      const requestId = await pendingRequest();
      const toldBefore = invocationsOf('Reconciler');
      expect((await client.vote(requestId, 'carol', 'approve')).status).toBe(201);

      const detail = await whenPublished(requestId);
      expect(injected(fault)).toBe(1);
      expect(detail.request).toMatchObject({ status: 'APPROVED', approvers: ['carol'] });
      expect(kinds(detail, 'DECIDED')).toBe(1);
      expect(kinds(detail, 'PUBLISHED')).toBe(1);
      // The one Action Decided that was accepted reached the bus's rule once.
      await vi.waitFor(() => expect(invocationsOf('Reconciler') - toldBefore).toBe(1), {
        timeout: 15_000,
      });
      const histories = await executionsOf(detail);
      expect(histories).toHaveLength(1);
      expect(histories[0]!.filter((event) => event.type === 'ExecutionSucceeded')).toHaveLength(1);
      // The operator sees the failed attempt: the function's error (its Errors alarm counts it),
      // and the step's error log line naming the request.
      expect(logged('Invoke Error', 'InternalFailure')).toBe(true);
      expect(logged('workflow step failed', requestId)).toBe(true);
    },
  );

  it('a throttled vote write answers a retryable error; the retry is counted once', SLOW, async () => {
    const requestId = await pendingRequest();
    // Every attempt of the vote write is throttled (the SDK's own retries too), until cleared.
    const fault = await inject({
      point: 'aws',
      action: 'dynamodb:UpdateItem',
      code: 'ProvisionedThroughputExceededException',
      bodyContains: 'list_append(#votes',
      ratio: 1,
    });
    const throttled = await client.vote(requestId, 'carol', 'approve');
    expect(injected(fault)).toBeGreaterThanOrEqual(1);
    expect(throttled.status).toBe(503);
    expect(throttled.body).toMatchObject({ error: { code: 'SERVICE_UNAVAILABLE' } });
    expect((await client.detail(requestId))!.request).toMatchObject({ status: 'PENDING', votes: [] });
    twin.faults!.clear(fault);

    const retried = await client.vote(requestId, 'carol', 'approve');
    expect(retried.status).toBe(201);
    const detail = await whenPublished(requestId);
    expect(detail.request.votes.map((vote) => vote.voterId)).toEqual(['carol']);
    expect(kinds(detail, 'DECIDED')).toBe(1);
    expect(logged('a dependency was unavailable', 'ProvisionedThroughputExceededException', requestId)).toBe(
      true,
    );
  });

  it('Slack 429 on the review is retried after Retry-After: the review is posted once', SLOW, async () => {
    const fault = await inject({
      point: 'slack',
      method: 'chat.postMessage',
      retryAfterSeconds: 1,
      times: 1,
    });
    const requestId = await pendingRequest();
    expect(injected(fault)).toBe(1);
    await reviewPostedOnce(requestId);
    expect(logged('workflow step failed', requestId, 'rate limit')).toBe(true);
  });

  it('the Teams connector answering 503: the review is posted once', SLOW, async () => {
    const fault = await inject({
      point: 'teams',
      method: 'conversations.sendActivity',
      status: 503,
      times: 1,
    });
    const requestId = await pendingRequest();
    expect(injected(fault)).toBe(1);
    await reviewPostedOnce(requestId);
    expect(logged('workflow step failed', requestId)).toBe(true);
  });

  it(
    'SendTaskSuccess failing: the decision stands, and the next read resumes the workflow once',
    SLOW,
    async () => {
      const requestId = await pendingRequest();
      const fault = await inject({
        point: 'aws',
        action: 'states:SendTaskSuccess',
        code: 'ThrottlingException',
        times: 3,
      });
      const vote = await client.vote(requestId, 'carol', 'approve');
      expect(injected(fault)).toBe(3);
      expect([201, 503]).toContain(vote.status);
      const detail = await whenPublished(requestId);
      expect(detail.request).toMatchObject({ status: 'APPROVED', approvers: ['carol'] });
      expect(kinds(detail, 'DECIDED')).toBe(1);
      expect(kinds(detail, 'PUBLISHED')).toBe(1);
    },
  );

  it(
    'KMS failing while the receipt is signed: the step is retried and one receipt stands',
    SLOW,
    async () => {
      const requestId = await pendingRequest();
      const fault = await inject({
        point: 'aws',
        action: 'kms:Sign',
        code: 'KMSInternalException',
        times: 3,
      });
      expect((await client.vote(requestId, 'carol', 'approve')).status).toBe(201);
      const detail = await whenPublished(requestId);
      expect(injected(fault)).toBe(3);
      expect(detail.request.receipt).toBeDefined();
      expect(kinds(detail, 'SIGNED')).toBe(1);
      expect(kinds(detail, 'PUBLISHED')).toBe(1);
      expect(logged('Invoke Error', 'KMSInternalException')).toBe(true);
    },
  );

  it(
    'Secrets Manager failing: a Slack click is refused unverified (nothing recorded), and the click again votes once',
    SLOW,
    async () => {
      const requestId = await pendingRequest();
      const { slack, users } = await localDirectory();
      const carol = users.find((user) => user.id === 'carol')!;
      const click = slackForm({
        type: 'block_actions',
        user: { id: carol.slackUserId },
        trigger_id: 'trigger-faults',
        channel: { id: slack.channel },
        actions: [
          {
            action_id: 'countersign_approve',
            value: requestId,
            action_ts: `${Math.floor(Date.now() / 1000)}.000001`,
          },
        ],
      });
      // The Slack function reads its signing secret at its first call: every read fails, until cleared.
      const fault = await inject({
        point: 'aws',
        action: 'secretsmanager:GetSecretValue',
        code: 'InternalServiceError',
        ratio: 1,
      });
      const refused = await postSlack(twin, slack.signingSecret, click);
      expect(injected(fault)).toBeGreaterThanOrEqual(1);
      // Not acknowledged, so Slack delivers it again; nothing was recorded from an unverified click.
      expect(refused.status).toBeGreaterThanOrEqual(500);
      expect((await client.detail(requestId))!.request).toMatchObject({ status: 'PENDING', votes: [] });
      twin.faults!.clear(fault);

      const retried = await postSlack(twin, slack.signingSecret, click, {
        'x-slack-retry-num': '1',
        'x-slack-retry-reason': 'http_error',
      });
      expect(retried.status).toBe(200);
      const detail = await whenPublished(requestId);
      expect(detail.request).toMatchObject({ status: 'APPROVED', approvers: ['carol'] });
      expect(detail.request.votes).toHaveLength(1);
      expect(kinds(detail, 'DECIDED')).toBe(1);
      expect(logged('Invoke Error', 'InternalServiceError')).toBe(true);
    },
  );

  it('S3 refusing the archiver’s writes: the batch waits, and once S3 is back every record is archived once and verifies', {
    timeout: 240_000,
  }, async () => {
    const requestId = await pendingRequest();
    // Every write fails until cleared: more than the SDK's own retries inside one invocation.
    const fault = await inject({ point: 'aws', action: 's3:PutObject', code: 'SlowDown', ratio: 1 });
    expect((await client.vote(requestId, 'carol', 'approve')).status).toBe(201);
    await whenPublished(requestId);
    // The archiver fails its batch of the vote's records again and again, each time logged as an
    // error; the batch waits for S3 instead of being parked in the dead-letter queue.
    // Past the ten retries after which a batch used to be parked (three S3 calls an invocation).
    await vi.waitFor(
      () => {
        if (injected(fault) < 40) throw new Error('the archiver has not failed long enough yet');
      },
      { timeout: 120_000, interval: 200 },
    );
    expect(logged('audit records not archived', 'SlowDown')).toBe(true);
    expect(logged('given up')).toBe(false);
    twin.faults!.clear(fault);
    const flushed = await runCli(audit, ['flush', '--url', twin.url, '--json']);
    expect(flushed.code, flushed.err).toBe(0);

    const verified = await runCli(audit, ['verify', '--url', twin.url, '--data-dir', twin.dataDir]);
    expect(verified.code, verified.out + verified.err).toBe(0);
    const s3 = new S3Client({
      endpoint: twin.endpoint,
      region: twin.region,
      forcePathStyle: true,
      credentials: { ...twin.operatorCredentials },
    });
    try {
      const bucket = (JSON.parse(flushed.out) as { bucket: string }).bucket;
      const archived = (await archivedLines(s3, bucket))
        .map((line) => JSON.parse(line) as { requestId?: string; seq?: number })
        .filter((record) => record.requestId === requestId)
        .map((record) => record.seq);
      // Each of the request's records, once (a retry writes the same key with the same bytes).
      const stored = (await client.detail(requestId))!.timeline.map((record) => record.seq);
      expect(archived.sort((a, b) => a! - b!)).toEqual(stored.sort((a, b) => a - b));
    } finally {
      s3.destroy();
    }
  });

  it('DynamoDB throttling a fifth of every call while requests and votes go on: all converge, none twice', {
    timeout: 180_000,
  }, async () => {
    const fault = await inject({
      point: 'aws',
      action: 'dynamodb:*',
      code: 'ThrottlingException',
      ratio: 0.2,
    });
    const requests = Array.from({ length: 4 }, () => agentRequest(client.agent));
    await client.send(...requests);
    const ids = requests.map(idOf);
    // A step whose DynamoDB calls stay throttled past the SDK's retries is retried by the workflow
    // (Evaluate, then RequestApproval, each 2, 4 and 8 s later), so reviewers may be asked ~30 s
    // late when both are unlucky, later on a loaded machine: the bound is convergence, not speed.
    for (const requestId of ids) await client.waitForPending(requestId, 75_000);
    for (const requestId of ids) {
      await vi.waitFor(
        async () => expect([201, 409]).toContain((await client.vote(requestId, 'carol', 'approve')).status),
        {
          timeout: 30_000,
          interval: 200,
        },
      );
    }
    for (const requestId of ids) {
      const detail = await whenPublished(requestId);
      expect(detail.request).toMatchObject({ status: 'APPROVED', approvers: ['carol'] });
      expect(detail.request.votes).toHaveLength(1);
      expect(kinds(detail, 'DECIDED')).toBe(1);
    }
    expect(injected(fault)).toBeGreaterThan(0);
  });
});
