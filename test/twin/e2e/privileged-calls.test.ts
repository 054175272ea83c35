/**
 * Privileged calls end to end in the twin, as `npm start` runs it: the agent's own key calls S3
 * directly (as a real agent role with S3 permissions could), the twin's CloudTrail puts the call on
 * the default bus, the stack's rule delivers it to the reconciliation, and reviewers find it in the
 * REST API and chat, where they close its review from the alert itself (Slack and Teams). Approved
 * requests cover one call each; a break-glass request runs at once and is reviewed afterwards; a
 * recorded event replayed is recorded once.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateBucketCommand,
  DeleteBucketPolicyCommand,
  DeletePublicAccessBlockCommand,
  PutBucketPolicyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDocumentClient } from '../../../lambdas/adapters/aws-clients.ts';
import { DynamoDbRequestStore } from '../../../lambdas/adapters/dynamodb/request-store.ts';
import { callAuditRequestId } from '../../../lambdas/domain/after-the-fact-review.ts';
import { ENV } from '../../../lambdas/handlers/environment-names.ts';
import type { BotIssuer } from '../../../local/product/chat/bot-issuer.ts';
import { OUTBOX_PATHS, type OutboxEntry } from '../../../local/product/chat/outbox.ts';
import { AWS_EVENT_REPLAY_PATH } from '../../../local/twin/aws-event-replay.ts';
import type { RunningTwin } from '../../../local/twin/index.ts';
import {
  type LocalDirectory,
  localDirectory,
  postSlack,
  postTeams,
  slackClick,
  slackForm,
  slackSubmission,
  teamsServiceUrl,
  twinBotIssuer,
} from '../../support/doors.ts';
import {
  agentRequest,
  demoAgent,
  E2eClient,
  idOf,
  policyDirWith,
  REPO_ROOT,
  removeDir,
  startE2eTwin,
  tempDir,
  twinS3Client,
} from './harness.ts';

const BUCKET = 'exports';
const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`;
const AGENT_ARN = 'arn:aws:iam::000000000000:user/agents/invoice-bot';
const BREAK_GLASS_POLICY = `
@id("bucket-policy-removal-break-glass")
@reason("removing a bucket policy may be what restores access during an incident")
@approval("platform")
@breakGlass("true")
permit (principal, action == Action::"aws:Operation", resource)
when { context.service == "s3" && context.operation == "DeleteBucketPolicy" };
`;

function policyDocument(sid: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: sid,
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:DeleteObject',
        Resource: `${BUCKET_ARN}/*`,
      },
    ],
  });
}

let twin: RunningTwin;
let client: E2eClient;
let agentS3: S3Client;
let operatorS3: S3Client;
let dataDir: string;
let policyDir: string;
let directory: LocalDirectory;
let issuer: BotIssuer;

beforeAll(async () => {
  dataDir = await tempDir('privileged-calls');
  policyDir = await policyDirWith({ 'zz-break-glass.cedar': BREAK_GLASS_POLICY });
  twin = await startE2eTwin({ dataDir, policyDir });
  const agent = await demoAgent();
  client = new E2eClient(twin, agent);
  agentS3 = twinS3Client(twin, agent);
  operatorS3 = twinS3Client(twin, twin.operatorCredentials);
  await operatorS3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  directory = await localDirectory();
  // The twin keeps its Bot Framework signing key in the data dir: this is the twin's own issuer.
  issuer = await twinBotIssuer(twin);
  // The first twin of a run may synthesize the assembly and warm every function on a busy machine.
}, 300_000);

afterAll(async () => {
  client?.destroy();
  agentS3?.destroy();
  operatorS3?.destroy();
  await twin?.stop();
  for (const dir of [dataDir, policyDir]) if (dir !== undefined) await removeDir(dir);
});

interface Call {
  eventId: string;
  eventName: string;
  action: string;
  principalArn: string;
  agentId?: string;
  resourceArn?: string;
  eventTime: string;
  status: string;
  requestId?: string;
  review?: { reviewId: string; kind: string; status: string; groups: string[] };
}

async function calls(status?: string): Promise<Call[]> {
  const query = status === undefined ? '' : `?status=${status}`;
  const { status: code, body } = await client.api('GET', `/api/privileged-calls${query}`, 'alice');
  if (code !== 200) throw new Error(`list calls: HTTP ${code} ${JSON.stringify(body)}`);
  return body.items;
}

/** A call is recorded before its review opens: an UNAPPROVED one is complete once its review is there. */
const complete = (call: Call) => call.status !== 'UNAPPROVED' || call.review !== undefined;

/** Polls until a call not in `known` appears, complete. */
function nextCall(known: ReadonlySet<string>): Promise<Call> {
  return vi.waitFor(
    async () => {
      const found = (await calls()).find((call) => !known.has(call.eventId) && complete(call));
      if (found === undefined) throw new Error('no new privileged call yet');
      return found;
    },
    { timeout: 20_000, interval: 100 },
  );
}

async function knownIds(): Promise<Set<string>> {
  return new Set((await calls()).map((call) => call.eventId));
}

async function outbox(): Promise<OutboxEntry[]> {
  const response = await fetch(`${twin.url}${OUTBOX_PATHS.list}`);
  return ((await response.json()) as { items: OutboxEntry[] }).items;
}

function waitForOutbox(text: string): Promise<OutboxEntry[]> {
  return vi.waitFor(
    async () => {
      const found = (await outbox()).filter((entry) => JSON.stringify(entry.body).includes(text));
      if (found.length < 2) throw new Error(`no Slack and Teams alert naming ${text} yet`);
      return found;
    },
    { timeout: 20_000, interval: 100 },
  );
}

async function approvedRequest(policy: string): Promise<string> {
  const detail = agentRequest(client.agent, {
    action: 's3:PutBucketPolicy',
    resource: { arn: BUCKET_ARN, type: 'AWS::S3::Bucket' },
    parameters: { bucketName: BUCKET, policy },
  });
  await client.send(detail);
  const requestId = idOf(detail);
  await client.waitForPending(requestId);
  expect((await client.vote(requestId, 'alice', 'approve', 'planned hardening')).status).toBe(201);
  // The agent acts on the published decision, which carries the receipt.
  const record = await client.waitFor(requestId, ({ request }) => request.receipt !== undefined);
  expect(record.status).toBe('APPROVED');
  return requestId;
}

describe('a direct call with the agent’s key', () => {
  it('is recorded UNAPPROVED, with a Slack and Teams alert and an after-the-fact review reviewers close', async () => {
    const known = await knownIds();
    await agentS3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: policyDocument('Bypass') }));
    const call = await nextCall(known);
    expect(call).toMatchObject({
      eventName: 'PutBucketPolicy',
      action: 's3:PutBucketPolicy',
      principalArn: AGENT_ARN,
      agentId: 'invoice-bot',
      resourceArn: BUCKET_ARN,
      status: 'UNAPPROVED',
      review: { kind: 'UNAPPROVED_CALL', status: 'OPEN', groups: ['security'] },
    });
    const alerts = await waitForOutbox(call.eventId);
    expect(alerts.map((entry) => entry.channel).sort()).toEqual(['slack', 'teams']);
    expect(JSON.stringify(alerts)).toContain('s3:PutBucketPolicy');
    expect(JSON.stringify(alerts)).toContain(BUCKET_ARN);

    const path = `/api/privileged-calls/${call.eventId}/review`;
    // The agent's owner may not close the review of its own agent's call.
    expect((await client.api('POST', path, 'dave', { outcome: 'ESCALATED' })).status).toBe(404);
    expect((await client.api('POST', path, 'bob', { outcome: 'ACKNOWLEDGED' })).status).toBe(400);
    const closed = await client.api('POST', path, 'bob', {
      outcome: 'ACKNOWLEDGED',
      reason: 'a test of the bypass alarm',
    });
    expect(closed).toMatchObject({
      status: 200,
      body: { review: { status: 'ACKNOWLEDGED', closedBy: 'bob' } },
    });
    expect((await client.api('GET', `/api/privileged-calls/${call.eventId}`, 'alice')).body).toMatchObject({
      status: 'UNAPPROVED',
      review: { status: 'ACKNOWLEDGED' },
    });
  });

  it('that fails is FAILED_CALL without an alert; the operator’s own call is NOT_AN_AGENT', async () => {
    let known = await knownIds();
    await expect(
      agentS3.send(new DeletePublicAccessBlockCommand({ Bucket: 'no-such-bucket' })),
    ).rejects.toThrow();
    const failed = await nextCall(known);
    expect(failed).toMatchObject({
      eventName: 'DeleteBucketPublicAccessBlock',
      action: 's3:DeleteBucketPublicAccessBlock',
      agentId: 'invoice-bot',
      status: 'FAILED_CALL',
    });
    expect(failed).not.toHaveProperty('review');

    known = await knownIds();
    await operatorS3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: policyDocument('Operator') }));
    const human = await nextCall(known);
    expect(human).toMatchObject({
      status: 'NOT_AN_AGENT',
      principalArn: 'arn:aws:iam::000000000000:user/operator',
    });
    expect(human).not.toHaveProperty('agentId');
    expect((await outbox()).some((entry) => JSON.stringify(entry.body).includes(failed.eventId))).toBe(false);
  });
});

describe('an approved request', () => {
  it('covers the one call it approved (MATCHED, linked both ways); a second call with it is UNAPPROVED', async () => {
    const policy = policyDocument('Approved');
    const requestId = await approvedRequest(policy);
    let known = await knownIds();
    await agentS3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: policy }));
    const matched = await nextCall(known);
    expect(matched).toMatchObject({ status: 'MATCHED', requestId, agentId: 'invoice-bot' });
    expect(matched).not.toHaveProperty('review');
    // The call is stored MATCHED first, then its RECONCILED fact is recorded under the request.
    await vi.waitFor(
      async () =>
        expect(JSON.stringify((await client.detail(requestId))?.timeline)).toContain(matched.eventId),
      { timeout: 15_000, interval: 100 },
    );

    known = await knownIds();
    await agentS3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: policy }));
    const again = await nextCall(known);
    expect(again).toMatchObject({ status: 'UNAPPROVED', review: { status: 'OPEN' } });
    expect(again).not.toHaveProperty('requestId');
  });

  it('does not cover a call whose policy document differs from the one approved', async () => {
    await approvedRequest(policyDocument('Approved2'));
    const known = await knownIds();
    await agentS3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: policyDocument('Different') }));
    expect(await nextCall(known)).toMatchObject({ status: 'UNAPPROVED' });
  });
});

describe('break-glass', () => {
  it('decides at once with a receipt, alerts, opens a review; the call is BREAK_GLASS and linked', async () => {
    const detail = agentRequest(client.agent, {
      action: 's3:DeleteBucketPolicy',
      resource: { arn: BUCKET_ARN, type: 'AWS::S3::Bucket' },
      parameters: { bucketName: BUCKET },
      breakGlass: { reason: 'the bucket policy locks out the restore job', incident: 'INC-7' },
    });
    await client.send(detail);
    const requestId = idOf(detail);
    // Decided without anyone asked; the receipt is attached when the decision is published.
    const record = await client.waitFor(requestId, ({ request }) => request.receipt !== undefined);
    expect(record).toMatchObject({ status: 'APPROVED', decision: 'BREAK_GLASS', approvers: [] });
    const shown = await vi.waitFor(
      async () => {
        const { body } = await client.api('GET', `/api/requests/${requestId}`, 'carol');
        if (body.review === undefined) throw new Error('no review yet');
        return body;
      },
      { timeout: 20_000, interval: 100 },
    );
    expect(shown.review).toMatchObject({ kind: 'BREAK_GLASS', status: 'OPEN', groups: ['platform'] });
    const alerts = await waitForOutbox(requestId);
    expect(JSON.stringify(alerts)).toContain('INC-7');

    const known = await knownIds();
    await agentS3.send(new DeleteBucketPolicyCommand({ Bucket: BUCKET }));
    const call = await nextCall(known);
    expect(call).toMatchObject({ status: 'BREAK_GLASS', requestId, action: 's3:DeleteBucketPolicy' });

    const closed = await client.api('POST', `/api/requests/${requestId}/review`, 'carol', {
      outcome: 'ACKNOWLEDGED',
      reason: 'INC-7 post-mortem done',
    });
    expect(closed).toMatchObject({
      status: 200,
      body: { review: { status: 'ACKNOWLEDGED', closedBy: 'carol' } },
    });
  });

  it('is denied with the reason where no policy permits it', async () => {
    const detail = agentRequest(client.agent, {
      action: 's3:PutBucketPolicy',
      resource: { arn: BUCKET_ARN, type: 'AWS::S3::Bucket' },
      breakGlass: { reason: 'in a hurry' },
    });
    await client.send(detail);
    const record = await client.waitForDecision(idOf(detail));
    expect(record.status).toBe('DENIED');
    expect(record.reason).toMatch(/break-glass is not permitted for s3:PutBucketPolicy/);
  });
});

describe('a recorded CloudTrail event replayed', () => {
  it('is reconciled once however often it is delivered', async () => {
    const recorded = JSON.parse(
      await readFile(join(REPO_ROOT, 'test/fixtures/cloudtrail/s3-PutBucketPolicy.eventbridge.json'), 'utf8'),
    ) as { detail: { eventID: string } };
    for (let delivery = 0; delivery < 2; delivery += 1) {
      const response = await fetch(`${twin.url}${AWS_EVENT_REPLAY_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(recorded),
      });
      expect(response.status).toBe(202);
    }
    const call = await vi.waitFor(
      async () => {
        const found = (await calls()).filter((item) => item.eventId === recorded.detail.eventID);
        if (found.length === 0) throw new Error('not reconciled yet');
        return found;
      },
      { timeout: 20_000, interval: 100 },
    );
    expect(call).toHaveLength(1);
    // Someone else's role in another account: not one of the agents.
    expect(call[0]).toMatchObject({ status: 'NOT_AN_AGENT', eventName: 'PutBucketPolicy' });
    const refused = await fetch(`${twin.url}${AWS_EVENT_REPLAY_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...recorded, source: 'countersign.agent.invoice-bot' }),
    });
    expect(refused.status).toBe(400);
  });
});

describe('the review of an unapproved call, closed from chat', () => {
  const slackId = (user: string) => directory.users.find((candidate) => candidate.id === user)!.slackUserId;
  const teamsId = (user: string) =>
    directory.users.find((candidate) => candidate.id === user)!.teamsAadObjectId;
  const actionIds = (body: unknown): string[] =>
    ((body as { blocks?: { elements?: { action_id?: string }[] }[] }).blocks ?? []).flatMap((block) =>
      (block.elements ?? []).flatMap((element) => element.action_id ?? []),
    );

  const click = (user: string, actionId: string, reviewId: string) =>
    slackClick({
      slackUserId: slackId(user),
      channelId: directory.slack.channel,
      blockId: 'countersign_review_actions',
      actionId,
      value: reviewId,
    });

  const acknowledgement = (user: string, reviewId: string, reason: string) =>
    slackSubmission({
      slackUserId: slackId(user),
      callbackId: 'countersign_review_acknowledge_reason',
      privateMetadata: { reviewId, channelId: directory.slack.channel },
      blockId: 'countersign_review_reason',
      inputId: 'reason',
      value: reason,
    });

  async function slack(payload: unknown): Promise<number> {
    return (await postSlack(twin, directory.slack.signingSecret, slackForm(payload))).status;
  }

  function teams(user: string, verb: string, data: Record<string, unknown>) {
    const activity = {
      type: 'invoke',
      name: 'adaptiveCard/action',
      id: `f:${randomUUID()}`,
      serviceUrl: teamsServiceUrl(twin),
      channelId: 'msteams',
      from: { id: `29:${teamsId(user)}`, aadObjectId: teamsId(user) },
      conversation: { id: `${directory.teams.conversationId};messageid=1` },
      value: { action: { type: 'Action.Execute', verb, data }, trigger: 'manual' },
    };
    return postTeams(twin, issuer, directory.teams.appId, JSON.stringify(activity));
  }

  function waitForEntry(select: (entry: OutboxEntry) => boolean): Promise<OutboxEntry> {
    return vi.waitFor(
      async () => {
        const found = (await outbox()).find(select);
        if (found === undefined) throw new Error('not in the outbox yet');
        return found;
      },
      { timeout: 20_000, interval: 100 },
    );
  }

  it('is acknowledged from Slack with a reason; the owner and a later Teams escalate are refused; the trail shows it', async () => {
    const known = await knownIds();
    await agentS3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: policyDocument('ChatReview') }));
    const call = await nextCall(known);
    expect(call).toMatchObject({ status: 'UNAPPROVED', review: { status: 'OPEN', groups: ['security'] } });
    const reviewId = call.review!.reviewId;
    const alert = await waitForEntry(
      (entry) =>
        entry.method === 'chat.postMessage' &&
        JSON.stringify(entry.body).includes(call.eventId) &&
        actionIds(entry.body).includes('countersign_review_acknowledge'),
    );
    expect(actionIds(alert.body)).toEqual([
      'countersign_review_acknowledge',
      'countersign_review_escalate',
      'countersign_review_console',
    ]);

    // Dave owns the agent: his escalate is refused, told to him alone, and changes nothing.
    expect(await slack(click('dave', 'countersign_review_escalate', reviewId))).toBe(200);
    const toldDave = await waitForEntry(
      (entry) =>
        entry.method === 'chat.postEphemeral' && (entry.body as { user?: string }).user === slackId('dave'),
    );
    expect(String((toldDave.body as { text?: string }).text)).toMatch(/You cannot close this review/);
    expect((await client.api('GET', `/api/privileged-calls/${call.eventId}`, 'alice')).body).toMatchObject({
      review: { status: 'OPEN' },
    });

    // Alice acknowledges: the modal asks for the reason, the submission closes the review.
    expect(await slack(click('alice', 'countersign_review_acknowledge', reviewId))).toBe(200);
    const modal = await waitForEntry(
      (entry) =>
        entry.method === 'views.open' &&
        JSON.stringify(entry.body).includes('countersign_review_acknowledge_reason') &&
        String((entry.body as { trigger_id?: string }).trigger_id).startsWith(`trigger-${slackId('alice')}-`),
    );
    expect(modal.channel).toBe('slack');
    expect(await slack(acknowledgement('alice', reviewId, 'a drill of the bypass alarm'))).toBe(200);
    const closed = await vi.waitFor(
      async () => {
        const { body } = await client.api('GET', `/api/privileged-calls/${call.eventId}`, 'alice');
        if (body.review?.status === 'OPEN') throw new Error('review still open');
        return body;
      },
      { timeout: 20_000, interval: 100 },
    );
    expect(closed.review).toMatchObject({
      status: 'ACKNOWLEDGED',
      closedBy: 'alice',
      reason: 'a drill of the bypass alarm',
      channel: 'slack',
    });

    // The alert, edited in place: the outcome, and no controls.
    const updated = await waitForEntry(
      (entry) =>
        entry.method === 'chat.update' &&
        entry.ts === alert.ts &&
        JSON.stringify(entry.body).includes('Acknowledged by alice in Slack'),
    );
    expect(actionIds(updated.body)).toEqual(['countersign_review_console']);

    // Bob escalates from a Teams card not yet refreshed: refused as closed, nothing changes.
    const late = await teams('bob', 'escalate', { reviewId, verb: 'escalate' });
    expect(late.status).toBe(409);
    expect(JSON.parse(late.text)).toMatchObject({
      type: 'application/vnd.microsoft.error',
      value: { code: 'REVIEW_CLOSED', message: 'This review is already closed.' },
    });

    // The call's trail holds the outcome once, as the archive will have it.
    const tableName = twin.stack.functions.find((fn) => fn.environment[ENV.tableName] !== undefined)
      ?.environment[ENV.tableName];
    expect(tableName).toBeDefined();
    const dynamodb = new DynamoDBClient({
      endpoint: twin.endpoint,
      region: twin.region,
      credentials: { ...twin.operatorCredentials },
      maxAttempts: 1,
    });
    try {
      const store = new DynamoDbRequestStore({
        client: createDocumentClient(dynamodb),
        tableName: tableName!,
      });
      const trail = await store.listAudit(callAuditRequestId('invoice-bot', call.eventId));
      expect(trail.filter((record) => record.kind === 'REVIEWED')).toEqual([
        expect.objectContaining({
          actor: 'alice',
          data: { outcome: 'ACKNOWLEDGED', reason: 'a drill of the bypass alarm', channel: 'slack' },
        }),
      ]);
      expect(trail.map((record) => record.kind)).toContain('RECONCILED');
    } finally {
      dynamodb.destroy();
    }
  });
});
