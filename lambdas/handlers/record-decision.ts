/**
 * Workflow steps RecordDecision and RecordEvaluationFailure: store how the request ended, exactly
 * once (the latter also stores a request the failed evaluation never stored, denied). Made
 * idempotent per requestId as well, so a retried invocation returns the first answer.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import { createDocumentClient, createDynamoDbClient } from '../adapters/aws-clients.ts';
import { DynamoDbRequestStore } from '../adapters/dynamodb/request-store.ts';
import { systemClock } from '../adapters/system-clock.ts';
import { type DecisionValue, parse } from '../domain/schemas.ts';
import { idempotentBy } from '../middleware/idempotency.ts';
import { createLogger, logStepFailure, withLambdaContext } from '../middleware/logging.ts';
import { createMetrics, withMetrics } from '../middleware/metrics.ts';
import { recordDecision, requestToRecord } from '../services/record-decision.ts';
import { loadEnvironment } from './environment.ts';
import { RecordDecisionInput } from './inputs.ts';

const env = loadEnvironment(['tableName']);
const logger = createLogger();
const metrics = createMetrics();
const dynamoDb = createDynamoDbClient();
const deps = {
  store: new DynamoDbRequestStore({ client: createDocumentClient(dynamoDb), tableName: env.tableName }),
  clock: systemClock,
};

/** What the state machine gets back: the stored decision, not the request (which holds personal data). */
export interface RecordedDecision {
  readonly requestId: string;
  readonly applied: boolean;
  readonly decision: DecisionValue | undefined;
}

async function recordDecisionStep(event: unknown): Promise<RecordedDecision> {
  const input = parse(RecordDecisionInput, event, 'record-decision input');
  const { applied, record } = await recordDecision(deps, { ...input, requestId: requestToRecord(input) });
  const recorded = { requestId: record.requestId, applied, decision: record.decision };
  logger.info('decision recorded', {
    ...recorded,
    requested: input.outcome.decision,
    // Set when Evaluate failed: the request may have been stored by this step, already denied.
    afterEvaluationFailure: 'event' in input,
  });
  if (applied && record.decision !== undefined) {
    // Its own EMF document: the dimension belongs to this invocation's metric alone.
    const decided = metrics.singleMetric();
    decided.addDimension('decision', record.decision);
    decided.addMetric('DecisionsRecorded', MetricUnit.Count, 1);
  }
  return recorded;
}

export const handler = middy(recordDecisionStep)
  .use(withLambdaContext(logger))
  .use(logStepFailure(logger))
  .use(withMetrics(metrics))
  .use(
    idempotentBy({
      client: dynamoDb,
      tableName: env.tableName,
      scope: 'record-decision',
      // The request it names, or after a failed evaluation the event (which names one request).
      eventKeyJmesPath: '[requestId, event.id]',
    }),
  );
