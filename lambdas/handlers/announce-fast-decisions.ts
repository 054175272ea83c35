/**
 * The fast path's follow-up, invoked by the table stream's event source mapping with a batch of the
 * inserts of requests the fast path decided: stores each ALLOW's approval for the CloudTrail
 * reconciliation, records its audit trail and publishes `Action Decided` on the bus, answering which
 * record to retry from (ReportBatchItemFailures). The mapping retries and bisects a batch that fails
 * until the stream is about to drop it (alarmed when a decision waits more than a minute), then parks
 * its position in its dead-letter queue, which alarms too.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import {
  createDocumentClient,
  createDynamoDbClient,
  createEventBridgeClient,
} from '../adapters/aws-clients.ts';
import { streamedFastDecisions } from '../adapters/dynamodb/fast-decision-stream.ts';
import { DynamoDbPrivilegedCallStore } from '../adapters/dynamodb/privileged-call-store.ts';
import { DynamoDbRequestStore } from '../adapters/dynamodb/request-store.ts';
import { EventBridgeDecisionPublisher } from '../adapters/eventbridge-decision-publisher.ts';
import { systemClock } from '../adapters/system-clock.ts';
import { createLogger, withLambdaContext } from '../middleware/logging.ts';
import { createMetrics, withMetrics } from '../middleware/metrics.ts';
import { announceFastDecisions } from '../services/announce-fast-decisions.ts';
import type { BatchResponse } from '../services/archive-audit-records.ts';
import { loadEnvironment } from './environment.ts';

const env = loadEnvironment(['tableName', 'eventBusName', 'privilegedActions']);
const logger = createLogger();
const metrics = createMetrics();
const documentClient = createDocumentClient(createDynamoDbClient());
const deps = {
  store: new DynamoDbRequestStore({ client: documentClient, tableName: env.tableName }),
  grants: new DynamoDbPrivilegedCallStore({ client: documentClient, tableName: env.tableName }),
  watchedActions: env.privilegedActions,
  publisher: new EventBridgeDecisionPublisher({
    client: createEventBridgeClient(),
    eventBusName: env.eventBusName,
  }),
  clock: systemClock,
};

async function announce(event: unknown): Promise<BatchResponse> {
  const result = await announceFastDecisions(deps, streamedFastDecisions(event));
  metrics.addMetric('FastDecisionsAnnounced', MetricUnit.Count, result.announced.length);
  logger.info('fast decisions announced', { requestIds: result.announced });
  if (result.batchItemFailures.length > 0) {
    metrics.addMetric('FastDecisionAnnounceFailures', MetricUnit.Count, 1);
    logger.error('fast decision not announced; the batch is retried from it', {
      from: result.batchItemFailures[0]?.itemIdentifier,
      error: result.failure,
    });
  }
  return { batchItemFailures: result.batchItemFailures };
}

export const handler = middy(announce).use(withLambdaContext(logger)).use(withMetrics(metrics));
