/**
 * Chat approvals end to end in the twin as `npm start` runs it: the agent asks through EventBridge,
 * the review is posted to Slack and Teams through the real clients (seen in the outbox), reviewers
 * vote through signed Slack callbacks and Bot Framework invokes, and the messages are updated in
 * place. Signatures are computed here from the published schemes, not with the product's code.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  DeleteObjectCommand,
  ListObjectVersionsCommand,
  PutObjectRetentionCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { run as audit } from '../../../../local/cli/commands/audit.ts';
import { type BotIssuer, createBotIssuer } from '../../../../local/product/chat/bot-issuer.ts';
import { OUTBOX_PATHS, type OutboxEntry } from '../../../../local/product/chat/outbox.ts';
import { runDemo } from '../../../../local/product/demo.ts';
import type { RunningTwin } from '../../../../local/twin/index.ts';
import { archivedLines, runCli } from '../../../support/audit-archive.ts';
import { slackClick, slackSubmission } from '../../../support/doors.ts';
import {
  agentRequest,
  DIRECTORY_PATH,
  demoAgent,
  E2eClient,
  idOf,
  removeDir,
  startE2eTwin,
  tempDir,
} from '../../e2e/harness.ts';

interface LocalDirectory {
  users: { id: string; slackUserId: string; teamsAadObjectId: string }[];
  slack: { signingSecret: string; channel: string };
  teams: { appId: string; conversationId: string };
}

const ADMIN = 'arn:aws:iam::aws:policy/AdministratorAccess';
const ROLE_NAME = 'invoice-exporter';

let twin: RunningTwin;
let client: E2eClient;
let issuer: BotIssuer;
let directory: LocalDirectory;
let dataDir: string;

beforeAll(async () => {
  dataDir = await tempDir('chat');
  twin = await startE2eTwin({ dataDir });
  client = new E2eClient(twin, await demoAgent());
  directory = JSON.parse(await readFile(DIRECTORY_PATH, 'utf8')) as LocalDirectory;
  // The twin keeps its Bot Framework signing key in the data dir: this is the twin's own issuer.
  issuer = await createBotIssuer(twin.dataDir);
});

afterAll(async () => {
  client?.destroy();
  await twin?.stop();
  if (dataDir !== undefined) await removeDir(dataDir);
});

const slackId = (user: string) => directory.users.find((candidate) => candidate.id === user)!.slackUserId;
const teamsId = (user: string) =>
  directory.users.find((candidate) => candidate.id === user)!.teamsAadObjectId;
const teamsServiceUrl = () => `${twin.url}${OUTBOX_PATHS.teamsServiceUrl}`;

async function outbox(): Promise<OutboxEntry[]> {
  const response = await fetch(`${twin.url}${OUTBOX_PATHS.list}`);
  return ((await response.json()) as { items: OutboxEntry[] }).items;
}

/** Entries about one request: its id appears in what was sent. */
async function outboxFor(requestId: string): Promise<OutboxEntry[]> {
  return (await outbox()).filter((entry) => JSON.stringify(entry.body).includes(requestId));
}

/** Polls the outbox until `select` finds something. */
function waitForOutbox<T>(select: (entries: OutboxEntry[]) => T | undefined): Promise<T> {
  return vi.waitFor(
    async () => {
      const found = select(await outbox());
      if (found === undefined) throw new Error('not in the outbox yet');
      return found;
    },
    { timeout: 20_000, interval: 50 },
  );
}

/** Slack's v0 scheme: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{raw body}` with the signing secret. */
async function postSlack(payload: unknown, secret = directory.slack.signingSecret): Promise<number> {
  const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  const response = await fetch(`${twin.url}/slack/interactions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': signature,
    },
    body,
  });
  await response.arrayBuffer();
  return response.status;
}

function approveClick(user: string, requestId: string) {
  return slackClick({
    slackUserId: slackId(user),
    channelId: directory.slack.channel,
    blockId: 'countersign_actions',
    actionId: 'countersign_approve',
    value: requestId,
  });
}

/** The step-up modal's submission with the resource name typed in, as Slack sends it. */
function stepUpSubmission(user: string, requestId: string, typed: string) {
  return slackSubmission({
    slackUserId: slackId(user),
    callbackId: 'countersign_step_up',
    privateMetadata: { requestId, channelId: directory.slack.channel },
    blockId: 'countersign_confirm',
    inputId: 'resource_name',
    value: typed,
  });
}

async function teamsInvoke(
  user: string,
  data: Record<string, unknown>,
  tokenOverrides: Record<string, unknown> = {},
): Promise<{ status: number; body: string }> {
  const serviceUrl = teamsServiceUrl();
  const token = await issuer.mintChannelToken({
    appId: directory.teams.appId,
    serviceUrl,
    overrides: tokenOverrides,
  });
  const activity = {
    type: 'invoke',
    name: 'adaptiveCard/action',
    id: `f:${randomUUID()}`,
    serviceUrl,
    channelId: 'msteams',
    from: { id: `29:${teamsId(user)}`, aadObjectId: teamsId(user) },
    conversation: { id: `${directory.teams.conversationId};messageid=1` },
    value: { action: { type: 'Action.Execute', verb: 'approve', data }, trigger: 'manual' },
  };
  const response = await fetch(`${twin.url}/teams/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(activity),
  });
  return { status: response.status, body: await response.text() };
}

/** The action ids of every button in a Slack message's blocks. */
function slackActionIds(body: unknown): string[] {
  const blocks = (body as { blocks?: { elements?: { action_id?: string }[] }[] }).blocks ?? [];
  return blocks.flatMap((block) => (block.elements ?? []).flatMap((element) => element.action_id ?? []));
}

describe('chat approvals in the twin', () => {
  it('posts the review to Slack and Teams, refuses forgeries and the requester, and decides on two chat votes', async () => {
    const request = agentRequest(client.agent, {
      parameters: { roleName: ROLE_NAME, policyArn: ADMIN },
      justification: 'the exporter needs to repair its own permissions',
    });
    await client.send(request);
    const requestId = idOf(request);
    const pending = await client.waitForPending(requestId);
    expect(pending.policy, pending.policy.reason).toMatchObject({
      decision: 'REQUIRE_APPROVAL',
      groups: ['platform'],
      quorum: 2,
      stepUp: true,
    });

    // The review, posted once to each channel.
    const posted = await waitForOutbox((entries) =>
      entries.find(
        (entry) =>
          entry.method === 'chat.postMessage' &&
          slackActionIds(entry.body).includes('countersign_approve') &&
          JSON.stringify(entry.body).includes(requestId),
      ),
    );
    expect(posted).toMatchObject({ channel: 'slack', body: { channel: directory.slack.channel } });
    expect(posted.ts).toMatch(/^\d+\.\d{6}$/);
    const card = await waitForOutbox((entries) =>
      entries.find(
        (entry) =>
          entry.method === 'conversations.sendActivity' && JSON.stringify(entry.body).includes(requestId),
      ),
    );
    expect(card).toMatchObject({
      channel: 'teams',
      conversationId: directory.teams.conversationId,
      body: { attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive' }] },
    });

    // Forgeries: refused with 401, and nothing is recorded or sent.
    const before = { outbox: (await outbox()).length, detail: await client.detail(requestId) };
    expect(await postSlack(approveClick('carol', requestId), 'not-the-signing-secret')).toBe(401);
    const wrongAudience = await teamsInvoke(
      'erin',
      { requestId, confirmResource: ROLE_NAME },
      { aud: 'another-bot-app-id' },
    );
    expect(wrongAudience.status).toBe(401);
    expect((await outbox()).length).toBe(before.outbox);
    const afterForgeries = await client.detail(requestId);
    expect(afterForgeries?.request.votes).toEqual([]);
    expect(afterForgeries?.timeline).toEqual(before.detail?.timeline);

    // Dave is the human the agent acts for: his Slack approval is refused and he is told why.
    expect(await postSlack(approveClick('dave', requestId))).toBe(200);
    expect(await postSlack(stepUpSubmission('dave', requestId, ROLE_NAME))).toBe(200);
    const toldDave = await waitForOutbox((entries) =>
      entries.find(
        (entry) =>
          entry.method === 'chat.postEphemeral' && (entry.body as { user?: string }).user === slackId('dave'),
      ),
    );
    expect(toldDave.body).toMatchObject({ channel: directory.slack.channel });
    expect((await client.detail(requestId))?.request.votes).toEqual([]);

    // Carol approves in Slack: the step-up modal opens, she types the role name, the vote counts.
    expect(await postSlack(approveClick('carol', requestId))).toBe(200);
    await waitForOutbox((entries) =>
      entries.find(
        (entry) =>
          entry.method === 'views.open' &&
          String((entry.body as { trigger_id?: string }).trigger_id).startsWith(
            `trigger-${slackId('carol')}-`,
          ),
      ),
    );
    expect(await postSlack(stepUpSubmission('carol', requestId, ROLE_NAME))).toBe(200);
    await client.waitFor(requestId, ({ request: current }) => current.votes.length === 1);

    // Erin approves in Teams: the invoke is answered with the updated card.
    const erin = await teamsInvoke('erin', { requestId, verb: 'approve', confirmResource: ROLE_NAME });
    expect(erin.status).toBe(200);
    expect(erin.body).toContain('application/vnd.microsoft.card.adaptive');

    const decided = await client.waitForDecision(requestId);
    expect(decided).toMatchObject({ status: 'APPROVED', decision: 'APPROVED' });
    expect([...decided.approvers].sort()).toEqual(['carol', 'erin']);
    expect(decided.votes.map((vote) => vote.voterId).sort()).toEqual(['carol', 'erin']);

    // The Slack review was edited in place: same channel and ts, ending with the outcome and no vote buttons.
    const finalUpdate = await waitForOutbox((entries) =>
      entries.find(
        (entry) =>
          entry.method === 'chat.update' &&
          entry.ts === posted.ts &&
          /approved/i.test(String((entry.body as { text?: string }).text)),
      ),
    );
    expect(finalUpdate.body).toMatchObject({ channel: directory.slack.channel, ts: posted.ts });
    expect(JSON.stringify(finalUpdate.body)).toMatch(/carol/);
    expect(JSON.stringify(finalUpdate.body)).toMatch(/erin/);
    expect(slackActionIds(finalUpdate.body)).not.toContain('countersign_approve');
    expect(slackActionIds(finalUpdate.body)).not.toContain('countersign_deny');
    const slackMessages = (await outboxFor(requestId)).filter(
      (entry) => entry.channel === 'slack' && ['chat.postMessage', 'chat.update'].includes(entry.method),
    );
    const reviews = slackMessages.filter(
      (entry) =>
        entry.method === 'chat.postMessage' && slackActionIds(entry.body).includes('countersign_approve'),
    );
    expect(reviews).toHaveLength(1);
    expect(
      new Set(slackMessages.filter((entry) => entry.method === 'chat.update').map((entry) => entry.ts)),
    ).toEqual(new Set([posted.ts]));

    // Dave, for whom the agent asked, is told the outcome in a direct message.
    const dm = await waitForOutbox((entries) =>
      entries.find(
        (entry) =>
          entry.method === 'chat.postMessage' &&
          (entry.body as { channel?: string }).channel === `D${slackId('dave').slice(1)}` &&
          JSON.stringify(entry.body).includes(requestId),
      ),
    );
    expect(String((dm.body as { text?: string }).text)).toMatch(/approved/i);

    // The Teams card too: updated as the activity it was posted as.
    await waitForOutbox((entries) =>
      entries.find(
        (entry) =>
          entry.method === 'conversations.updateActivity' &&
          entry.activityId === card.activityId &&
          /approved/i.test(JSON.stringify(entry.body)),
      ),
    );
  });

  it('serves the chat credentials only to signed callers that are not agents', async () => {
    const secretArn = twin.stack.functions.find((fn) => fn.environment.SLACK_SECRET_ARN !== undefined)
      ?.environment.SLACK_SECRET_ARN;
    expect(secretArn).toBeDefined();
    const secrets = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
      new SecretsManagerClient({ endpoint: twin.endpoint, region: twin.region, credentials, maxAttempts: 1 });

    const operator = secrets(twin.operatorCredentials);
    const value = await operator.send(new GetSecretValueCommand({ SecretId: secretArn }));
    expect(JSON.parse(value.SecretString ?? '{}')).toMatchObject({
      signingSecret: directory.slack.signingSecret,
    });
    operator.destroy();

    const agent = secrets(client.agent);
    await expect(agent.send(new GetSecretValueCommand({ SecretId: secretArn }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    agent.destroy();
    const stranger = secrets({ accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'nope' });
    await expect(stranger.send(new GetSecretValueCommand({ SecretId: secretArn }))).rejects.toThrow();
    stranger.destroy();
  });

  it('lets only the twin’s own handlers invoke a function (the Slack self-invocation)', async () => {
    const slackFunction = twin.stack.functions.find((fn) => fn.environment.SLACK_SECRET_ARN !== undefined);
    expect(slackFunction).toBeDefined();
    const path = `/2015-03-31/functions/${encodeURIComponent(slackFunction?.name ?? '')}/invocations`;
    const unsigned = await fetch(`${twin.url}${path}`, { method: 'POST', body: '{}' });
    expect(unsigned.status).toBe(403);
    const lambda = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
      new LambdaClient({ endpoint: twin.endpoint, region: twin.region, credentials, maxAttempts: 1 });
    const asAgent = lambda(client.agent);
    await expect(
      asAgent.send(
        new InvokeCommand({ FunctionName: slackFunction?.name, InvocationType: 'Event', Payload: '{}' }),
      ),
    ).rejects.toMatchObject({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } });
    asAgent.destroy();
    const asOperator = lambda(twin.operatorCredentials);
    const accepted = await asOperator.send(
      new InvokeCommand({ FunctionName: slackFunction?.name, InvocationType: 'Event', Payload: '{}' }),
    );
    expect(accepted.StatusCode).toBe(202);
    asOperator.destroy();
  });

  it('archives the whole run (demo, chat votes, refused votes) with no secret or token, verifiably, under lock', async () => {
    // The guided demo and a refused REST vote (dave is the human the agent acts for), beside the chat
    // votes, refusals and forgeries of the tests above.
    const demo = await runDemo({ endpoint: twin.url, busName: 'countersign', agent: client.agent });
    const adminAttach = demo.find((id) => id.endsWith('-attach-admin'))!;
    await client.waitForPending(adminAttach);
    const refused = await client.vote(adminAttach, 'dave', 'approve');
    expect(refused.status).toBe(403);
    await client.waitFor(adminAttach, ({ timeline }) =>
      timeline.some((record) => record.kind === 'REFUSED' && record.actor === 'dave'),
    );
    for (const id of demo) await client.waitForPending(id);

    const flushed = await runCli(audit, ['flush', '--url', twin.url, '--json']);
    expect(flushed.code, flushed.err).toBe(0);
    const { bucket } = JSON.parse(flushed.out) as { bucket: string };
    const verified = await runCli(audit, ['verify', '--url', twin.url, '--data-dir', twin.dataDir]);
    expect(verified.code, `${verified.out}\n${verified.err}`).toBe(0);
    expect(verified.out).toMatch(/Result:\s+the archive holds/);

    const s3 = new S3Client({
      endpoint: twin.endpoint,
      region: twin.region,
      forcePathStyle: true,
      credentials: { ...twin.operatorCredentials },
      maxAttempts: 1,
    });
    const lines = await archivedLines(s3, bucket);
    const records = lines.map(
      (line) => JSON.parse(line) as { kind: string; requestId: string; data: unknown },
    );
    const kinds = new Set(records.map((record) => record.kind));
    for (const kind of ['REQUESTED', 'EVALUATED', 'NOTIFIED', 'VOTED', 'REFUSED', 'DECIDED', 'SIGNED']) {
      expect(kinds, `an archived ${kind} record`).toContain(kind);
    }
    for (const id of demo)
      expect(
        records.some((record) => record.requestId === id),
        id,
      ).toBe(true);

    // Every secret the twin knows, and every token it handed out, is absent from the archive.
    const secrets = new Set<string>([
      twin.operatorCredentials.secretAccessKey,
      client.agent.secretAccessKey,
      directory.slack.signingSecret,
    ]);
    const secretsManager = new SecretsManagerClient({
      endpoint: twin.endpoint,
      region: twin.region,
      credentials: { ...twin.operatorCredentials },
      maxAttempts: 1,
    });
    const secretArns = new Set(
      twin.stack.functions.flatMap((fn) =>
        Object.values(fn.environment).filter((value) => value.startsWith('arn:aws:secretsmanager:')),
      ),
    );
    expect(secretArns.size).toBeGreaterThan(0);
    const leaves = (value: unknown): string[] =>
      typeof value === 'string'
        ? [value]
        : value !== null && typeof value === 'object'
          ? Object.values(value).flatMap(leaves)
          : [];
    for (const arn of secretArns) {
      const { SecretString } = await secretsManager.send(new GetSecretValueCommand({ SecretId: arn }));
      const parsed = (() => {
        try {
          return JSON.parse(SecretString ?? '');
        } catch {
          return SecretString;
        }
      })();
      for (const value of leaves(parsed)) if (value.length >= 8) secrets.add(value);
    }
    secretsManager.destroy();
    for (const user of ['alice', 'carol', 'dave', 'erin']) secrets.add(await client.token(user));
    secrets.add(
      await issuer.mintChannelToken({ appId: directory.teams.appId, serviceUrl: teamsServiceUrl() }),
    );
    // The task tokens of every execution (the callback tasks' parameters carry them).
    const executionArn = (await client.detail(adminAttach))!.request.executionArn!;
    const [prefix, rest] = executionArn.split(':execution:') as [string, string];
    const stateMachineArn = `${prefix}:stateMachine:${rest.split(':')[0]}`;
    const executions = await client.sfn.send(new ListExecutionsCommand({ stateMachineArn }));
    for (const execution of executions.executions ?? []) {
      for (const event of await client.history(execution.executionArn!)) {
        const parameters = event.taskScheduledEventDetails?.parameters ?? '';
        const token = /"[Tt]ask[Tt]oken":"([^"]+)"/.exec(parameters)?.[1];
        if (token !== undefined) secrets.add(token);
      }
    }
    expect(secrets.size).toBeGreaterThan(8);
    const archive = lines.join('\n');
    for (const secret of secrets)
      expect(archive.includes(secret), `a secret (${secret.slice(0, 4)}…) in the archive`).toBe(false);
    // Shapes no record may carry: JWTs/JWS (bearer tokens, receipts), Slack tokens, PEM keys, SigV4 headers.
    expect(archive).not.toMatch(/eyJ[\w-]{8,}\.[\w-]{8,}\./);
    expect(archive).not.toMatch(/xox[abprs]-/);
    expect(archive).not.toMatch(/-----BEGIN/);
    expect(archive).not.toMatch(/AWS4-HMAC-SHA256|Signature=/);

    // Locked: neither the operator nor an agent can delete a version or shorten its retention.
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'audit/' }));
    const first = versions.Versions![0]!;
    await expect(
      s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: first.Key, VersionId: first.VersionId })),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    await expect(s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: first.Key }))).rejects.toMatchObject({
      name: 'AccessDenied',
    });
    await expect(
      s3.send(
        new PutObjectRetentionCommand({
          Bucket: bucket,
          Key: first.Key,
          VersionId: first.VersionId,
          Retention: { Mode: 'COMPLIANCE', RetainUntilDate: new Date(Date.now() + 60_000) },
        }),
      ),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    const asAgent = new S3Client({
      endpoint: twin.endpoint,
      region: twin.region,
      forcePathStyle: true,
      credentials: { accessKeyId: client.agent.accessKeyId, secretAccessKey: client.agent.secretAccessKey },
      maxAttempts: 1,
    });
    await expect(
      asAgent.send(new DeleteObjectCommand({ Bucket: bucket, Key: first.Key, VersionId: first.VersionId })),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    asAgent.destroy();
    s3.destroy();
  });

  it('answers SQL over the archive through the twin’s Athena: it counts the decided requests the REST API lists', async () => {
    // Runs after the archive test above, which flushed the whole run to the archive.
    await runCli(audit, ['flush', '--url', twin.url, '--json']);
    const sql =
      "SELECT count(DISTINCT d.request_id) AS decided FROM countersign.audit_records d WHERE d.kind = 'DECIDED'";
    const answered = await runCli(audit, [
      'query',
      sql,
      '--format',
      'json',
      '--url',
      twin.url,
      '--data-dir',
      twin.dataDir,
    ]);
    expect(answered.code, answered.err).toBe(0);
    const decidedBySql = Number((JSON.parse(answered.out) as { decided: string }[])[0]!.decided);
    let decidedByApi = 0;
    let cursor: string | undefined;
    do {
      const page = await client.api(
        'GET',
        `/api/requests?limit=100${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
        'alice',
      );
      expect(page.status).toBe(200);
      const items = page.body.items as { status: string }[];
      decidedByApi += items.filter((item) => item.status !== 'PENDING').length;
      cursor = page.body.cursor as string | undefined;
    } while (cursor !== undefined);
    expect(decidedBySql).toBeGreaterThan(0);
    expect(decidedBySql).toBe(decidedByApi);
    const named = await runCli(audit, [
      'queries',
      'run',
      'approvals-per-approver',
      '--format',
      'json',
      '--url',
      twin.url,
      '--data-dir',
      twin.dataDir,
    ]);
    expect(named.code, named.err).toBe(0);
    expect((JSON.parse(named.out) as unknown[]).length).toBeGreaterThan(0);
  });
});
