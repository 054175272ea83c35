/**
 * Builds the chat pieces from the handler environment: cached credentials from Secrets Manager,
 * the Slack API per bot token, the Bot Connector client and the ChatReviewNotifier. A channel is
 * on when its secret ARN (and destination) is configured; otherwise it is simply absent.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Environment } from '../handlers/environment.ts';
import type { Directory, ReviewNotifier } from '../ports/index.ts';
import {
  type CredentialSource,
  cachedSecret,
  createSecretsManagerClient,
  SlackCredentials,
  TeamsCredentials,
} from './chat-credentials.ts';
import { ChatReviewNotifier } from './chat-review-notifier.ts';
import { DynamoDbChatMessageRefs } from './dynamodb/chat-message-refs.ts';
import { SlackApi } from './slack/slack-api.ts';
import { BotConnectorClient } from './teams/bot-connector.ts';

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

export function createChatReviewNotifier(
  env: ChatEnvironment,
  deps: { readonly documentClient: DynamoDBDocumentClient; readonly directory: Directory },
): ReviewNotifier & Pick<ChatReviewNotifier, 'remind'> {
  const slackApi = slackApiFactory(env.slackApiUrl);
  const slackCredentials =
    env.slackSecretArn === undefined ? undefined : slackCredentialsFrom(env.slackSecretArn);
  return new ChatReviewNotifier({
    refs: new DynamoDbChatMessageRefs({ client: deps.documentClient, tableName: env.tableName }),
    directory: deps.directory,
    consoleUrl: env.consoleUrl,
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
  });
}
