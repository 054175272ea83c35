/**
 * Workflow step Execute: Countersign runs the approved action itself (the decision's executor),
 * assuming the executor role in a session named after the request and scoped to the approved call.
 * Runs at most once per request (a conditional claim on the request), so a retried or redelivered
 * step answers with the outcome stored first.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import { createDocumentClient, createDynamoDbClient, createStsClient } from '../adapters/aws-clients.ts';
import { DynamoDbRequestStore } from '../adapters/dynamodb/request-store.ts';
import { RoleSessionExecutor } from '../adapters/executors/role-session-executor.ts';
import { systemClock } from '../adapters/system-clock.ts';
import { parse } from '../domain/schemas.ts';
import { createLogger, logStepFailure, withLambdaContext } from '../middleware/logging.ts';
import { createMetrics, withMetrics } from '../middleware/metrics.ts';
import { type ExecuteActionResult, executeApprovedAction } from '../services/execute-action.ts';
import { loadEnvironment } from './environment.ts';
import { ExecuteInput } from './inputs.ts';

const env = loadEnvironment(['tableName', 'executorRoleArn', 'executorAllowedPolicyArns']);
const logger = createLogger();
const metrics = createMetrics();

/** A run STARTED this long ago was interrupted: longer than the function's own timeout (60 s). */
const INTERRUPTED_AFTER_MS = 5 * 60 * 1000;

const deps = {
  store: new DynamoDbRequestStore({
    client: createDocumentClient(createDynamoDbClient()),
    tableName: env.tableName,
  }),
  executor: new RoleSessionExecutor({ sts: createStsClient(), roleArn: env.executorRoleArn }),
  clock: systemClock,
  allowedPolicyArns: env.executorAllowedPolicyArns,
  interruptedAfterMs: INTERRUPTED_AFTER_MS,
};

async function executeStep(event: unknown): Promise<ExecuteActionResult> {
  const result = await executeApprovedAction(deps, parse(ExecuteInput, event, 'execute input'));
  const { execution } = result;
  logger.info('execution step done', {
    requestId: result.requestId,
    status: execution?.status ?? 'NOTHING_TO_RUN',
    sessionName: execution?.sessionName,
    awsRequestId: execution?.awsRequestId,
  });
  if (execution !== undefined) {
    const counted = metrics.singleMetric();
    counted.addDimension('status', execution.status);
    counted.addMetric('ActionsExecuted', MetricUnit.Count, 1);
  }
  return result;
}

export const handler = middy(executeStep)
  .use(withLambdaContext(logger))
  .use(logStepFailure(logger))
  .use(withMetrics(metrics));
