/**
 * `POST /slack/interactions`. Two kinds of event reach this function: the HTTP API's (verify,
 * acknowledge within Slack's 3 seconds, defer the vote or review close) and its own asynchronous
 * self-invocation carrying the verified job (bind the identity, castVote or closeReview, reply). See adapters/slack/interactions.ts.
 */

import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { cachedSecret, createSecretsManagerClient } from '../adapters/chat-credentials.ts';
import { lambdaInvoker, lambdaInvokeTargetFromEnvironment } from '../adapters/lambda-invoke.ts';
import { createSlackInteractions } from '../adapters/slack/interactions.ts';
import {
  type DeferredSlackVote,
  isDeferredSlackVote,
  lambdaSelfInvoke,
} from '../adapters/slack/lambda-deferral.ts';
import { VoteJobKey } from '../adapters/slack/vote-job.ts';
import { systemClock } from '../adapters/system-clock.ts';
import { ConfigurationError } from '../domain/errors.ts';
import { createLogger, withLambdaContext } from '../middleware/logging.ts';
import { createMetrics, withMetrics } from '../middleware/metrics.ts';
import { CHAT_ENVIRONMENT_KEYS, slackApiFactory, slackCredentialsFrom } from './chat-wiring.ts';
import { loadEnvironment } from './environment.ts';
import { createVoteWiring } from './vote-wiring.ts';

const env = loadEnvironment([
  ...CHAT_ENVIRONMENT_KEYS,
  'directoryJson',
  'identityStoreId',
  'slackVoteJobKeySecretArn',
]);
if (env.slackSecretArn === undefined)
  throw new ConfigurationError('SLACK_SECRET_ARN is required by the Slack endpoint');
const logger = createLogger();
const metrics = createMetrics();

const { store, reviews, directory, castVote, closeReview } = createVoteWiring(env, {
  logger,
  metrics,
  votesMetric: 'SlackVoteRecorded',
});
let functionName = '';
const interactions = createSlackInteractions({
  credentials: slackCredentialsFrom(env.slackSecretArn),
  jobKey: cachedSecret({
    client: createSecretsManagerClient(),
    secretId: env.slackVoteJobKeySecretArn,
    schema: VoteJobKey,
  }),
  slack: slackApiFactory(env.slackApiUrl),
  store,
  reviews,
  directory,
  castVote,
  closeReview,
  defer: lambdaSelfInvoke(lambdaInvoker(lambdaInvokeTargetFromEnvironment()), () => functionName),
  clock: systemClock,
  consoleUrl: env.consoleUrl,
});

async function serve(
  event: APIGatewayProxyEventV2 | DeferredSlackVote,
  context: Context,
): Promise<APIGatewayProxyStructuredResultV2 | undefined> {
  if (isDeferredSlackVote(event)) {
    const { refused } = await interactions.processJob(event.countersignSlackVote);
    if (refused !== undefined) {
      // Someone other than this function invoked it with a job: refused, audited, and counted here.
      logger.warn('slack vote job refused', { code: refused });
      metrics.addMetric('SlackVoteJobRefused', MetricUnit.Count, 1);
    }
    return undefined;
  }
  functionName = context.functionName;
  const http = event as APIGatewayProxyEventV2;
  const rawBody = Buffer.from(http.body ?? '', http.isBase64Encoded ? 'base64' : 'utf8');
  const result = await interactions.acknowledge({ headers: http.headers ?? {}, rawBody });
  // Never log the payload: it names people. The status is enough to see forgeries in the logs.
  logger.info('slack interaction answered', { status: result.statusCode });
  return { statusCode: result.statusCode, headers: { ...result.headers }, body: result.body };
}

export const handler = middy(serve).use(withLambdaContext(logger)).use(withMetrics(metrics));
