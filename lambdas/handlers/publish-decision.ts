/**
 * Workflow step PublishDecision: signs the receipt (KMS, the one role allowed to) and puts `Action
 * Decided` on the bus. Idempotent per requestId, so a retried step (or a redelivered invocation)
 * does not tell the agent twice.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import {
  createDocumentClient,
  createDynamoDbClient,
  createEventBridgeClient,
  createKmsClient,
} from '../adapters/aws-clients.ts';
import { DynamoDbPrivilegedCallStore } from '../adapters/dynamodb/privileged-call-store.ts';
import { DynamoDbRequestStore } from '../adapters/dynamodb/request-store.ts';
import { EventBridgeDecisionPublisher } from '../adapters/eventbridge-decision-publisher.ts';
import { KmsReceiptSigner } from '../adapters/kms/receipt-signer.ts';
import { systemClock } from '../adapters/system-clock.ts';
import { type ActionDecidedDetail, parse } from '../domain/schemas.ts';
import { idempotentBy } from '../middleware/idempotency.ts';
import { createLogger, logStepFailure, withLambdaContext } from '../middleware/logging.ts';
import { createMetrics, withMetrics } from '../middleware/metrics.ts';
import { publishDecision } from '../services/publish-decision.ts';
import { loadEnvironment } from './environment.ts';
import { PublishDecisionInput } from './inputs.ts';

const env = loadEnvironment(['tableName', 'eventBusName', 'receiptKeyId']);
const logger = createLogger();
const metrics = createMetrics();
const dynamoDb = createDynamoDbClient();
const documentClient = createDocumentClient(dynamoDb);
const deps = {
  store: new DynamoDbRequestStore({ client: documentClient, tableName: env.tableName }),
  grants: new DynamoDbPrivilegedCallStore({ client: documentClient, tableName: env.tableName }),
  publisher: new EventBridgeDecisionPublisher({
    client: createEventBridgeClient(),
    eventBusName: env.eventBusName,
  }),
  signer: new KmsReceiptSigner({ client: createKmsClient(), keyId: env.receiptKeyId }),
  clock: systemClock,
};

async function publishDecisionStep(event: unknown): Promise<ActionDecidedDetail> {
  const detail = await publishDecision(deps, parse(PublishDecisionInput, event, 'publish-decision input'));
  logger.info('decision published', { requestId: detail.requestId, decision: detail.decision });
  metrics.addMetric('DecisionsPublished', MetricUnit.Count, 1);
  return detail;
}

export const handler = middy(publishDecisionStep)
  .use(withLambdaContext(logger))
  .use(logStepFailure(logger))
  .use(withMetrics(metrics))
  .use(
    idempotentBy({
      client: dynamoDb,
      tableName: env.tableName,
      scope: 'publish-decision',
      eventKeyJmesPath: 'requestId',
    }),
  );
