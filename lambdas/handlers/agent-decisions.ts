/**
 * The fast decision path behind the HTTP API's IAM-authorized routes (`POST /api/agent/decisions`,
 * `GET /api/agent/decisions/{requestId}`): the caller is the IAM identity API Gateway verified
 * (`requestContext.authorizer.iam.userArn`), mapped to its agent. It evaluates with the same policy
 * engine and directory as Evaluate, signs receipts with the receipt key (granted to it like to the
 * publisher), stores what policy decides (announce-fast-decisions, fed by the table's stream, records,
 * approves and publishes it), and starts the approval workflow for what people decide.
 */
// First, so that Cedar's wasm compiles in the background while the rest of the bundle loads.
import '../adapters/cedar/cedar-wasm.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2WithIAMAuthorizer } from 'aws-lambda';
import {
  createDocumentClient,
  createDynamoDbClient,
  createKmsClient,
  createSfnClient,
} from '../adapters/aws-clients.ts';
import { createDirectory } from '../adapters/directory-wiring.ts';
import { DynamoDbClassificationStore } from '../adapters/dynamodb/classification-store.ts';
import { DynamoDbRequestStore } from '../adapters/dynamodb/request-store.ts';
import { KmsReceiptSigner } from '../adapters/kms/receipt-signer.ts';
import { SfnApprovalWorkflows } from '../adapters/sfn-approval-workflows.ts';
import { systemClock } from '../adapters/system-clock.ts';
import type { HttpResult } from '../domain/http-result.ts';
import { createAgentApp } from '../http/agent-app.ts';
import { fromApiGatewayEvent } from '../http/request.ts';
import { createLogger, withLambdaContext } from '../middleware/logging.ts';
import { createMetrics, withMetrics } from '../middleware/metrics.ts';
import { loadEnvironment } from './environment.ts';
import { createPolicyWiring } from './policy-wiring.ts';

const env = loadEnvironment([
  'tableName',
  'receiptKeyId',
  'policyDir',
  'defaultApproverGroup',
  'defaultTimeoutSeconds',
  'directoryJson',
  'identityStoreId',
  'agentPrincipals',
  'stateMachineArn',
  'classifyBeforeApproval',
  'awsRegion',
]);
const logger = createLogger();
const metrics = createMetrics();

// Started first, awaited last: Cedar's wasm compiles while the clients are built (policy-wiring.ts).
const policyWiring = createPolicyWiring(env, logger);
const documentClient = createDocumentClient(createDynamoDbClient());
const services = {
  store: new DynamoDbRequestStore({ client: documentClient, tableName: env.tableName }),
  classifications: new DynamoDbClassificationStore({ client: documentClient, tableName: env.tableName }),
  classifyBeforeApproval: env.classifyBeforeApproval,
  directory: createDirectory(env, { documentClient, tableName: env.tableName }),
  signer: new KmsReceiptSigner({ client: createKmsClient(), keyId: env.receiptKeyId }),
  workflows: new SfnApprovalWorkflows({ client: createSfnClient(), stateMachineArn: env.stateMachineArn }),
  clock: systemClock,
  sleep: (ms: number) => sleep(ms),
  region: env.awsRegion,
  policy: await policyWiring,
};

async function serve(event: APIGatewayProxyEventV2WithIAMAuthorizer): Promise<HttpResult> {
  const app = createAgentApp({
    // The account the API runs in is the account of the events the workflow receives.
    decisions: { ...services, account: event.requestContext.accountId },
    agents: env.agentPrincipals,
    logger,
  });
  const response = await app({
    ...fromApiGatewayEvent(event),
    callerArn: event.requestContext.authorizer?.iam?.userArn ?? undefined,
  });
  logger.info('agent request served', {
    method: event.requestContext.http.method,
    route: event.routeKey,
    status: response.statusCode,
  });
  metrics.addMetric('AgentRequests', MetricUnit.Count, 1);
  if (response.statusCode >= 400) metrics.addMetric('AgentRequestsRefused', MetricUnit.Count, 1);
  if (response.statusCode >= 500) metrics.addMetric('AgentRequestsFailed', MetricUnit.Count, 1);
  return response;
}

export const handler = middy(serve).use(withLambdaContext(logger)).use(withMetrics(metrics));
