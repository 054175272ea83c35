/**
 * The chat platforms' stand-ins, as a twin extension: the sinks the Slack and Bot Connector clients
 * post to (recorded in the outbox), the Bot Framework issuer (OpenID metadata + JWKS) the Teams
 * endpoint validates channel tokens against, the environment that points the chat handlers' real
 * clients at them, and the values of the template's chat secrets (what an operator puts in AWS),
 * made from countersign.local.json.
 */
import { join } from 'node:path';
import { ENV } from '../../../lambdas/handlers/environment-names.ts';
import { jsonResponse, type TwinContext, type TwinExtension, type TwinRoute } from '../../twin/index.ts';
import type { LocalConfig } from '../config.ts';
import { BOT_ISSUER_PATHS, type BotIssuer, createBotIssuer } from './bot-issuer.ts';
import { OUTBOX_FILE, OUTBOX_PATHS, Outbox } from './outbox.ts';

/** Stand-ins for what the operator puts in the secrets in AWS; the twin's sinks accept anything. */
export const LOCAL_BOT_TOKEN = 'xoxb-countersign-local-twin';
export const LOCAL_TEAMS_PASSWORD = 'countersign-local-twin';

export interface ChatTwin {
  readonly extension: TwinExtension;
  readonly issuer: BotIssuer;
}

/** The secrets the template's chat handlers name (by ARN), with the local values they stand for. */
export function chatSecretValues(
  stack: TwinContext['stack'],
  config: Pick<LocalConfig, 'slack' | 'teams'>,
): Record<string, string> {
  const values: Record<string, string> = {};
  for (const fn of stack.functions) {
    const slackArn = fn.environment[ENV.slackSecretArn];
    const teamsArn = fn.environment[ENV.teamsSecretArn];
    if (slackArn !== undefined && config.slack !== undefined) {
      values[slackArn] = JSON.stringify({
        signingSecret: config.slack.signingSecret,
        botToken: LOCAL_BOT_TOKEN,
      });
    }
    if (teamsArn !== undefined && config.teams !== undefined) {
      values[teamsArn] = JSON.stringify({ appId: config.teams.appId, appPassword: LOCAL_TEAMS_PASSWORD });
    }
  }
  return values;
}

function issuerRoutes(issuer: BotIssuer, origin: string): TwinRoute[] {
  return [
    {
      method: 'GET',
      path: BOT_ISSUER_PATHS.metadata,
      handle: async () => jsonResponse(200, issuer.metadata(origin)),
    },
    { method: 'GET', path: BOT_ISSUER_PATHS.keys, handle: async () => jsonResponse(200, issuer.keys()) },
  ];
}

/** `/local/outbox` and the sinks under `/local/sinks/`, answered by the outbox. */
function outboxRoutes(outbox: Outbox): TwinRoute[] {
  const handle: TwinRoute['handle'] = async (request) =>
    (await outbox.handle(request)) ?? jsonResponse(404, { message: 'Not Found' });
  return [
    { method: 'GET', path: OUTBOX_PATHS.list, handle },
    { method: 'ANY', path: '/local/sinks/{proxy+}', handle },
  ];
}

export async function createChatTwin(twin: TwinContext, config: LocalConfig): Promise<ChatTwin> {
  const issuer = await createBotIssuer(twin.dataDir);
  const outbox = new Outbox(join(twin.dataDir, OUTBOX_FILE), config.users, twin.faults);
  return {
    issuer,
    extension: {
      routes: [...outboxRoutes(outbox), ...issuerRoutes(issuer, twin.url)],
      secretValues: chatSecretValues(twin.stack, config),
      environment: {
        [ENV.slackApiUrl]: `${twin.url}${OUTBOX_PATHS.slackApiBase}`,
        [ENV.teamsServiceUrl]: `${twin.url}${OUTBOX_PATHS.teamsServiceUrl}`,
        [ENV.botTokenUrl]: `${twin.url}${OUTBOX_PATHS.teamsToken}`,
        [ENV.botOpenIdMetadataUrl]: issuer.metadataUrl(twin.url),
        ...(config.slack === undefined ? {} : { [ENV.slackChannelId]: config.slack.channel }),
        ...(config.teams === undefined ? {} : { [ENV.teamsConversationId]: config.teams.conversationId }),
      },
    },
  };
}
