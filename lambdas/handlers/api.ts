/**
 * The REST API Lambda behind the HTTP API: requests, votes, the caller's identity and the OpenAPI
 * document. The HTTP API's JWT authorizer has checked the token in AWS; the app checks it again
 * (see http/api-app.ts), so the handler stays safe on a route left without an authorizer and in
 * the twin, where the dev issuer signs the tokens.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { DynamoDbClassificationStore } from '../adapters/dynamodb/classification-store.ts';
import { createJwtVerifier } from '../adapters/jwt-verifier.ts';
import { systemClock } from '../adapters/system-clock.ts';
import type { HttpResult } from '../domain/http-result.ts';
import { createApiApp } from '../http/api-app.ts';
import { fromApiGatewayEvent } from '../http/request.ts';
import { createLogger, withLambdaContext } from '../middleware/logging.ts';
import { createMetrics, withMetrics } from '../middleware/metrics.ts';
import { buildOpenApiDocument } from '../openapi.ts';
import { loadEnvironment } from './environment.ts';
import { createVoteWiring } from './vote-wiring.ts';

const env = loadEnvironment([
  'tableName',
  'directoryJson',
  'identityStoreId',
  'jwtIssuer',
  'jwtAudience',
  'jwtJwksUrl',
  'auditorGroups',
]);
const logger = createLogger();
const metrics = createMetrics();

const { store, calls, reviews, directory, castVote, closeReview, settle, documentClient } = createVoteWiring(
  env,
  {
    logger,
    metrics,
    votesMetric: 'VotesRecorded',
  },
);

/** Built on the first call of /api/openapi.json, once per container. */
let openApiDocument: unknown;

const app = createApiApp({
  store,
  classifications: new DynamoDbClassificationStore({ client: documentClient, tableName: env.tableName }),
  calls,
  reviews,
  directory,
  auditorGroups: env.auditorGroups,
  verifier: createJwtVerifier({
    issuer: env.jwtIssuer,
    audience: env.jwtAudience,
    ...(env.jwtJwksUrl === undefined ? {} : { jwksUrl: env.jwtJwksUrl }),
  }),
  castVote,
  closeReview,
  settle,
  clock: systemClock,
  logger,
  openApiDocument: () => {
    openApiDocument ??= buildOpenApiDocument();
    return openApiDocument;
  },
});

async function serve(event: APIGatewayProxyEventV2): Promise<HttpResult> {
  const response = await app(fromApiGatewayEvent(event));
  logger.info('api request served', {
    method: event.requestContext.http.method,
    route: event.routeKey,
    status: response.statusCode,
  });
  metrics.addMetric('ApiRequests', MetricUnit.Count, 1);
  // Refusals (bad tokens, ineligible voters) and failures are what an operator watches.
  if (response.statusCode >= 400) metrics.addMetric('ApiRequestsRefused', MetricUnit.Count, 1);
  if (response.statusCode >= 500) metrics.addMetric('ApiRequestsFailed', MetricUnit.Count, 1);
  return response;
}

export const handler = middy(serve).use(withLambdaContext(logger)).use(withMetrics(metrics));
