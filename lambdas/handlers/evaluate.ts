/**
 * Workflow step Evaluate: names the request, asks for its object to be classified first when it
 * must be, validates the agent's request, decides by the Cedar policies and stores the request. Built once per cold start: the policies are read from POLICY_DIR and compiled here,
 * so a broken policy set is logged at start (and, the engine failing closed, denies everything).
 */
// First, so that Cedar's wasm compiles in the background while the rest of the bundle loads.
import '../adapters/cedar/cedar-wasm.ts';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import { createDocumentClient, createDynamoDbClient } from '../adapters/aws-clients.ts';
import { createDirectory } from '../adapters/directory-wiring.ts';
import { DynamoDbClassificationStore } from '../adapters/dynamodb/classification-store.ts';
import { DynamoDbRequestStore } from '../adapters/dynamodb/request-store.ts';
import { systemClock } from '../adapters/system-clock.ts';
import { parse } from '../domain/schemas.ts';
import { createLogger, withLambdaContext } from '../middleware/logging.ts';
import { createMetrics, withMetrics } from '../middleware/metrics.ts';
import {
  type ClassifyFirst,
  type EvaluateRequestResult,
  evaluateStep,
  type Unidentified,
} from '../services/evaluate-request.ts';
import { loadEnvironment } from './environment.ts';
import { EvaluateInput } from './inputs.ts';
import { createPolicyWiring } from './policy-wiring.ts';

const env = loadEnvironment([
  'tableName',
  'policyDir',
  'defaultApproverGroup',
  'defaultTimeoutSeconds',
  'directoryJson',
  'identityStoreId',
]);
const logger = createLogger();
const metrics = createMetrics();

// Started first, awaited last: Cedar's wasm compiles while the clients are built (policy-wiring.ts).
const policyWiring = createPolicyWiring(env, logger);
const documentClient = createDocumentClient(createDynamoDbClient());
const deps = {
  store: new DynamoDbRequestStore({ client: documentClient, tableName: env.tableName }),
  classifications: new DynamoDbClassificationStore({ client: documentClient, tableName: env.tableName }),
  // Without a directory only the agent itself is known; its owner comes from the event.
  directory: createDirectory(env, { documentClient, tableName: env.tableName }),
  clock: systemClock,
  policy: await policyWiring,
};

async function evaluate(event: unknown): Promise<EvaluateRequestResult | ClassifyFirst | Unidentified> {
  const result = await evaluateStep(deps, parse(EvaluateInput, event, 'evaluate input'));
  if ('classify' in result) {
    logger.info('classification needed first', { requestId: result.requestId });
    return result;
  }
  logger.info('request evaluated', {
    requestId: result.requestId,
    duplicate: result.duplicate,
    invalid: result.invalid,
    decision: result.policy.decision,
    policyIds: result.policy.policyIds,
    classification: result.classification,
  });
  if (!result.duplicate) {
    // Its own EMF document: the dimension belongs to this invocation's metric alone.
    const evaluated = metrics.singleMetric();
    evaluated.addDimension('outcome', result.invalid ? 'INVALID' : result.policy.decision);
    evaluated.addMetric('RequestsEvaluated', MetricUnit.Count, 1);
  }
  return result;
}

export const handler = middy(evaluate).use(withLambdaContext(logger)).use(withMetrics(metrics));
