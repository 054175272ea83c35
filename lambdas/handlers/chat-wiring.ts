/**
 * Builds the chat pieces from the handler environment: cached credentials from Secrets Manager,
 * the Slack API per bot token, the Bot Connector client and the ChatReviewNotifier. A channel is
 * on when its secret ARN (and destination) is configured; otherwise it is simply absent.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  type CredentialSource,
  cachedSecret,
  createSecretsManagerClient,
  SlackCredentials,
  TeamsCredentials,
} from '../adapters/chat-credentials.ts';
import { ChatReviewAlerts } from '../adapters/chat-review-alerts.ts';
import { ChatReviewNotifier, type SlackTarget, type TeamsTarget } from '../adapters/chat-review-notifier.ts';
import { DynamoDbChatMessageRefs } from '../adapters/dynamodb/chat-message-refs.ts';
import { TableKey } from '../adapters/dynamodb/table-layout.ts';
import { LogReviewAlerts, LogReviewNotifier, type StructuredLog } from '../adapters/log-review-notifier.ts';
import { SlackApi } from '../adapters/slack/slack-api.ts';
import { BotConnectorClient } from '../adapters/teams/bot-connector.ts';
import type { Directory, ReviewAlerts, ReviewNotifier, ReviewReminders } from '../ports/index.ts';
import { type Environment, loadEnvironment } from './environment.ts';

export type ChatEnvironment = Environment<
  | 'tableName'
  | 'consoleUrl'
  | 'slackSecretArn'
  | 'slackChannelId'
  | 'slackApiUrl'
  | 'teamsSecretArn'
  | 'teamsConversationId'
  | 'teamsServiceUrl'
  | 'botTokenUrl'
>;

export const CHAT_ENVIRONMENT_KEYS = [
  'tableName',
  'consoleUrl',
  'slackSecretArn',
  'slackChannelId',
  'slackApiUrl',
  'teamsSecretArn',
  'teamsConversationId',
  'teamsServiceUrl',
  'botTokenUrl',
] as const;

/** One WebClient per bot token value, so a rotated token gets a new client. */
export function slackApiFactory(slackApiUrl: string | undefined): (botToken: string) => SlackApi {
  let current: { token: string; api: SlackApi } | undefined;
  return (botToken) => {
    if (current?.token !== botToken) current = { token: botToken, api: new SlackApi(botToken, slackApiUrl) };
    return current.api;
  };
}

export function slackCredentialsFrom(arn: string): CredentialSource<SlackCredentials> {
  return cachedSecret({ client: createSecretsManagerClient(), secretId: arn, schema: SlackCredentials });
}

export function teamsCredentialsFrom(arn: string): CredentialSource<TeamsCredentials> {
  return cachedSecret({ client: createSecretsManagerClient(), secretId: arn, schema: TeamsCredentials });
}

/** The Slack channel and Teams conversation reviewers are told in, as far as they are configured. */
function chatTargets(env: ChatEnvironment): { slack?: SlackTarget; teams?: TeamsTarget } {
  const slackApi = slackApiFactory(env.slackApiUrl);
  const slackCredentials =
    env.slackSecretArn === undefined ? undefined : slackCredentialsFrom(env.slackSecretArn);
  return {
    ...(slackCredentials === undefined || env.slackChannelId === undefined
      ? {}
      : {
          slack: {
            api: async () => slackApi((await slackCredentials()).botToken),
            channel: env.slackChannelId,
          },
        }),
    ...(env.teamsSecretArn === undefined ||
    env.teamsConversationId === undefined ||
    env.teamsServiceUrl === undefined
      ? {}
      : {
          teams: {
            connector: new BotConnectorClient({
              credentials: teamsCredentialsFrom(env.teamsSecretArn),
              ...(env.botTokenUrl === undefined ? {} : { tokenUrl: env.botTokenUrl }),
            }),
            serviceUrl: env.teamsServiceUrl,
            conversationId: env.teamsConversationId,
          },
        }),
  };
}

export function createChatReviewNotifier(
  env: ChatEnvironment,
  deps: { readonly documentClient: DynamoDBDocumentClient; readonly directory: Directory },
): ReviewNotifier & ReviewReminders {
  return new ChatReviewNotifier({
    refs: new DynamoDbChatMessageRefs({ client: deps.documentClient, tableName: env.tableName }),
    directory: deps.directory,
    consoleUrl: env.consoleUrl,
    ...chatTargets(env),
  });
}

export interface ReviewNotifierDeps {
  readonly documentClient: DynamoDBDocumentClient;
  readonly directory: Directory;
  /** Where reviews go when no chat channel is configured. */
  readonly log: StructuredLog;
}

/**
 * The reviewers' notifier for a handler that posts, updates or reminds: Slack and Teams when a
 * chat secret is configured (the rest of the chat settings, e.g. the console URL the messages link
 * to, are then required and checked at start), otherwise the structured log line.
 */
export function createReviewNotifier(
  deps: ReviewNotifierDeps,
  source: Readonly<Record<string, string | undefined>> = process.env,
): ReviewNotifier & ReviewReminders {
  const { slackSecretArn, teamsSecretArn } = loadEnvironment(['slackSecretArn', 'teamsSecretArn'], source);
  if (slackSecretArn === undefined && teamsSecretArn === undefined) return new LogReviewNotifier(deps.log);
  return createChatReviewNotifier(loadEnvironment(CHAT_ENVIRONMENT_KEYS, source), deps);
}

/**
 * The alerts of after-the-fact reviews (unapproved calls, break-glass): Slack and Teams when a
 * chat secret is configured, otherwise the structured log line, as for reviews.
 */
export function createReviewAlerts(
  deps: Omit<ReviewNotifierDeps, 'directory'>,
  source: Readonly<Record<string, string | undefined>> = process.env,
): ReviewAlerts {
  const { slackSecretArn, teamsSecretArn } = loadEnvironment(['slackSecretArn', 'teamsSecretArn'], source);
  if (slackSecretArn === undefined && teamsSecretArn === undefined) return new LogReviewAlerts(deps.log);
  const env = loadEnvironment(CHAT_ENVIRONMENT_KEYS, source);
  return new ChatReviewAlerts({
    refs: new DynamoDbChatMessageRefs({
      client: deps.documentClient,
      tableName: env.tableName,
      keyOf: TableKey.reviewChatMessage,
    }),
    consoleUrl: env.consoleUrl,
    ...chatTargets(env),
  });
}
