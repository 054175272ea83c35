/**
 * `POST /teams/messages`: the Teams bot endpoint. The Bot Framework JWT is validated against the
 * OpenID metadata (the twin's issuer locally, via BOT_OPENID_METADATA_URL) with the app id from
 * Secrets Manager as the audience; the invoke is answered synchronously with the updated card.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { systemClock } from '../adapters/system-clock.ts';
import { createTeamsBotEndpoint } from '../adapters/teams/bot-endpoint.ts';
import {
  type BotFrameworkAuthenticator,
  createBotFrameworkAuthenticator,
} from '../adapters/teams/bot-framework-auth.ts';
import { ConfigurationError } from '../domain/errors.ts';
import { createLogger, withLambdaContext } from '../middleware/logging.ts';
import { createMetrics, withMetrics } from '../middleware/metrics.ts';
import { CHAT_ENVIRONMENT_KEYS, teamsCredentialsFrom } from './chat-wiring.ts';
import { loadEnvironment } from './environment.ts';
import { createVoteWiring } from './vote-wiring.ts';

const env = loadEnvironment([
  ...CHAT_ENVIRONMENT_KEYS,
  'directoryJson',
  'identityStoreId',
  'botOpenIdMetadataUrl',
]);
if (env.teamsSecretArn === undefined)
  throw new ConfigurationError('TEAMS_SECRET_ARN is required by the Teams endpoint');
const logger = createLogger();
const metrics = createMetrics();

const { store, reviews, directory, castVote, closeReview } = createVoteWiring(env, {
  logger,
  metrics,
  votesMetric: 'TeamsVoteRecorded',
});
const teamsCredentials = teamsCredentialsFrom(env.teamsSecretArn);

/** One authenticator (and so one key cache) per app id; a rotated app id gets a fresh one. */
let current: { appId: string; authenticator: BotFrameworkAuthenticator } | undefined;
const authenticator: BotFrameworkAuthenticator = {
  async authenticate(authorization, activity) {
    const { appId } = await teamsCredentials();
    if (current?.appId !== appId) {
      current = {
        appId,
        authenticator: createBotFrameworkAuthenticator({
          appId,
          ...(env.botOpenIdMetadataUrl === undefined ? {} : { openIdMetadataUrl: env.botOpenIdMetadataUrl }),
        }),
      };
    }
    return current.authenticator.authenticate(authorization, activity);
  },
};

const endpoint = createTeamsBotEndpoint({
  authenticator,
  store,
  reviews,
  directory,
  castVote,
  closeReview,
  clock: systemClock,
  consoleUrl: env.consoleUrl,
});

async function serve(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8').toString('utf8');
  const result = await endpoint.handle({ headers: event.headers ?? {}, body });
  logger.info('teams activity answered', { status: result.statusCode });
  return { statusCode: result.statusCode, headers: { ...result.headers }, body: result.body };
}

export const handler = middy(serve).use(withLambdaContext(logger)).use(withMetrics(metrics));
