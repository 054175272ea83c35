/**
 * The chat endpoints wired as the handlers wire them, on real adapters: dynalite for the store and
 * the message refs, the real castVote, the Slack WebClient and the Bot Connector client talking to
 * a local sink, and the twin's Bot Framework issuer for Teams tokens. Only the workflow is recorded.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatReviewAlerts } from '../../../lambdas/adapters/chat-review-alerts.ts';
import { ChatReviewNotifier } from '../../../lambdas/adapters/chat-review-notifier.ts';
import { DynamoDbChatMessageRefs } from '../../../lambdas/adapters/dynamodb/chat-message-refs.ts';
import { DynamoDbRequestStore } from '../../../lambdas/adapters/dynamodb/request-store.ts';
import { DynamoDbReviewStore } from '../../../lambdas/adapters/dynamodb/review-store.ts';
import { TableKey } from '../../../lambdas/adapters/dynamodb/table-layout.ts';
import { createSlackInteractions } from '../../../lambdas/adapters/slack/interactions.ts';
import { computeSlackSignature } from '../../../lambdas/adapters/slack/verify-signature.ts';
import type { SealedVoteJob } from '../../../lambdas/adapters/slack/vote-job.ts';
import { StaticDirectory } from '../../../lambdas/adapters/static-directory.ts';
import { BotConnectorClient } from '../../../lambdas/adapters/teams/bot-connector.ts';
import { createTeamsBotEndpoint } from '../../../lambdas/adapters/teams/bot-endpoint.ts';
import { createBotFrameworkAuthenticator } from '../../../lambdas/adapters/teams/bot-framework-auth.ts';
import type { Review } from '../../../lambdas/domain/after-the-fact-review.ts';
import type { DirectoryDocument } from '../../../lambdas/domain/directory.ts';
import type { RequestRecord } from '../../../lambdas/domain/schemas.ts';
import { slackApiFactory } from '../../../lambdas/handlers/chat-wiring.ts';
import type { CloseReview } from '../../../lambdas/ports/index.ts';
import { castVote } from '../../../lambdas/services/cast-vote.ts';
import { closeReview } from '../../../lambdas/services/close-review.ts';
import { createBotIssuer } from '../../../local/product/chat/bot-issuer.ts';
import { startDynalite } from '../../support/dynalite.ts';
import { ManualClock, RecordingWorkflow } from '../services/fakes.ts';
import { type ChatSink, startChatSink } from './chat-sink.ts';
import { openReview, pendingRecord } from './review-record.ts';

export const LOCAL_DIRECTORY = JSON.parse(
  readFileSync(new URL('../../../countersign.local.json', import.meta.url), 'utf8'),
) as DirectoryDocument & {
  slack: { signingSecret: string; channel: string };
  teams: { appId: string; conversationId: string };
};
export const NOW = new Date('2024-05-14T14:05:00.000Z');
export const CONSOLE_URL = 'http://127.0.0.1:4710';
const BOT_TOKEN = 'xoxb-test-token';
/** What the Slack function reads from its vote-job secret. */
export const VOTE_JOB_KEY = { key: 'vote-job-key-for-tests-only-0123456789abcdef' };

export function slackIdOf(userId: string): string {
  return LOCAL_DIRECTORY.users.find((user) => user.id === userId)!.slackUserId!;
}
export function teamsIdOf(userId: string): string {
  return LOCAL_DIRECTORY.users.find((user) => user.id === userId)!.teamsAadObjectId!;
}

export async function startChatHarness(document: DirectoryDocument = LOCAL_DIRECTORY) {
  const table = await startDynalite();
  const sink: ChatSink = await startChatSink();
  for (const user of document.users) {
    if (user.slackUserId !== undefined && user.email !== undefined)
      sink.slackEmails.set(user.slackUserId, user.email);
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'cs-chat-'));
  const issuer = await createBotIssuer(dataDir);
  let issuerOrigin = '';
  const issuerServer = createServer((request, response) => {
    if (!issuer.handle(request, response, issuerOrigin)) response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => issuerServer.listen(0, '127.0.0.1', resolve));
  issuerOrigin = `http://127.0.0.1:${(issuerServer.address() as AddressInfo).port}`;

  const clock = new ManualClock(NOW);
  const store = new DynamoDbRequestStore({ client: table.client, tableName: table.tableName });
  const refs = new DynamoDbChatMessageRefs({ client: table.client, tableName: table.tableName });
  const directory = new StaticDirectory(document);
  const workflow = new RecordingWorkflow();
  const slackApi = slackApiFactory(sink.slackApiUrl);
  const { appId, conversationId } = LOCAL_DIRECTORY.teams;
  const signingSecret = LOCAL_DIRECTORY.slack.signingSecret;
  const notifierTargets = {
    slack: { api: async () => slackApi(BOT_TOKEN), channel: LOCAL_DIRECTORY.slack.channel },
    teams: {
      connector: new BotConnectorClient({
        credentials: async () => ({ appId, appPassword: 'local-password' }),
        tokenUrl: sink.tokenUrl,
      }),
      serviceUrl: sink.teamsServiceUrl,
      conversationId,
    },
  };
  const notifier = new ChatReviewNotifier({ refs, directory, consoleUrl: CONSOLE_URL, ...notifierTargets });
  const voteDeps = { store, workflow, notifier, clock };
  const reviews = new DynamoDbReviewStore({ client: table.client, tableName: table.tableName });
  const reviewRefs = new DynamoDbChatMessageRefs({
    client: table.client,
    tableName: table.tableName,
    keyOf: TableKey.reviewChatMessage,
  });
  const alerts = new ChatReviewAlerts({
    refs: reviewRefs,
    consoleUrl: CONSOLE_URL,
    slack: notifierTargets.slack,
    teams: notifierTargets.teams,
  });
  const close: CloseReview = (command) => closeReview({ reviews, alerts, store, clock }, command);
  const deferred: SealedVoteJob[] = [];
  const slack = createSlackInteractions({
    credentials: async () => ({ signingSecret, botToken: BOT_TOKEN }),
    jobKey: async () => VOTE_JOB_KEY,
    slack: slackApi,
    store,
    reviews,
    directory,
    castVote: (command) => castVote(voteDeps, command),
    closeReview: close,
    defer: async (job) => {
      deferred.push(job);
    },
    clock,
    consoleUrl: CONSOLE_URL,
  });
  const teams = createTeamsBotEndpoint({
    authenticator: createBotFrameworkAuthenticator({
      appId,
      openIdMetadataUrl: issuer.metadataUrl(issuerOrigin),
    }),
    store,
    reviews,
    directory,
    castVote: (command) => castVote(voteDeps, command),
    closeReview: close,
    clock,
    consoleUrl: CONSOLE_URL,
  });

  let sequence = 0;
  return {
    table,
    sink,
    store,
    refs,
    reviews,
    reviewRefs,
    alerts,
    workflow,
    notifier,
    clock,
    slack,
    teams,
    deferred,
    /** A pending request, stored with its task token and posted to Slack and Teams. */
    async createPending(overrides: Partial<RequestRecord> = {}): Promise<RequestRecord> {
      sequence += 1;
      const record = pendingRecord({
        requestId: `invoice-bot:req-${sequence}`,
        clientRequestId: `req-${sequence}`,
        ...overrides,
      });
      await store.claim(record);
      await store.saveTaskToken(record.requestId, `token-${record.requestId}`, record.executionArn);
      await notifier.requestReview(record);
      return record;
    },
    /** An open after-the-fact review, stored and alerted in Slack and Teams. */
    async openReview(overrides: Partial<Review> = {}): Promise<Review> {
      sequence += 1;
      const eventId = `0c5e7a10-0000-4000-8000-${String(sequence).padStart(12, '0')}`;
      const template = openReview();
      const { review } = await reviews.open({
        ...template,
        reviewId: `call:${eventId}`,
        subject: { ...template.subject, eventId },
        ...overrides,
      });
      await alerts.alert(review);
      return review;
    },
    /** Runs the votes and closes the acknowledgements deferred, as the self-invocation does. */
    async runDeferred(): Promise<void> {
      await Promise.all(deferred.splice(0).map((job) => slack.processJob(job)));
    },
    signedSlack(
      payload: unknown,
      options: {
        timestamp?: number;
        secret?: string;
        retryNum?: number;
        tamper?: (body: string) => string;
      } = {},
    ) {
      const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
      const timestamp = String(options.timestamp ?? Math.floor(clock.now().getTime() / 1000));
      const headers: Record<string, string> = {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': timestamp,
        'x-slack-signature': computeSlackSignature(options.secret ?? signingSecret, timestamp, body),
        ...(options.retryNum === undefined
          ? {}
          : { 'x-slack-retry-num': String(options.retryNum), 'x-slack-retry-reason': 'http_timeout' }),
      };
      return { headers, rawBody: Buffer.from(options.tamper?.(body) ?? body) };
    },
    async teamsInvoke(
      aadObjectId: string,
      verb: string,
      data: Record<string, unknown>,
      token?: { overrides?: Record<string, unknown>; serviceUrl?: string },
    ) {
      const serviceUrl = sink.teamsServiceUrl;
      const jwt = await issuer.mintChannelToken({
        appId,
        serviceUrl: token?.serviceUrl ?? serviceUrl,
        ...(token?.overrides === undefined ? {} : { overrides: token.overrides }),
      });
      sequence += 1;
      const activity = {
        type: 'invoke',
        name: 'adaptiveCard/action',
        id: `f:${sequence}`,
        serviceUrl,
        channelId: 'msteams',
        from: { id: `29:${aadObjectId}`, aadObjectId },
        conversation: { id: `${conversationId};messageid=1` },
        value: { action: { type: 'Action.Execute', verb, data }, trigger: 'manual' },
      };
      return teams.handle({ headers: { Authorization: `Bearer ${jwt}` }, body: JSON.stringify(activity) });
    },
    async close() {
      await sink.close();
      await new Promise((resolve) => issuerServer.close(resolve));
      await table.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
export type ChatHarness = Awaited<ReturnType<typeof startChatHarness>>;

/** A block_actions payload as Slack sends it for a click on one of our buttons. */
export function clickPayload(
  slackUserId: string,
  actionId: string,
  requestId: string,
  actionTs = '1715697100.000001',
) {
  return {
    type: 'block_actions',
    user: { id: slackUserId, username: 'reviewer', team_id: 'T0COUNTER' },
    api_app_id: 'A0COUNTER',
    trigger_id: `trigger-${actionTs}`,
    team: { id: 'T0COUNTER' },
    container: {
      type: 'message',
      message_ts: '1715697000.000001',
      channel_id: LOCAL_DIRECTORY.slack.channel,
    },
    channel: { id: LOCAL_DIRECTORY.slack.channel, name: 'approvals' },
    response_url: 'https://hooks.slack.com/actions/T0COUNTER/1/x',
    actions: [
      {
        action_id: actionId,
        block_id: 'countersign_actions',
        type: 'button',
        value: requestId,
        action_ts: actionTs,
      },
    ],
  };
}

/**
 * A view_submission payload for one of our modals with the given input values; `subject` (the
 * request or review the modal is about) comes back in its private metadata with the channel.
 */
export function submissionPayload(
  slackUserId: string,
  callbackId: string,
  subject: { readonly requestId: string } | { readonly reviewId: string },
  values: Record<string, Record<string, { value: string | null }>>,
  viewId = 'V0SUBMIT1',
) {
  return {
    type: 'view_submission',
    user: { id: slackUserId },
    view: {
      id: viewId,
      callback_id: callbackId,
      private_metadata: JSON.stringify({ ...subject, channelId: LOCAL_DIRECTORY.slack.channel }),
      state: { values },
    },
  };
}
