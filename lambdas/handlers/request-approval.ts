/**
 * Workflow step RequestApproval (`lambda:invoke.waitForTaskToken`): stores the task token and asks
 * the reviewers, then returns; the execution stays paused until a vote resumes it or it times out.
 * Reviewers are asked in Slack and Teams when a chat channel is configured, else through a
 * structured log line.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import { createDocumentClient, createDynamoDbClient, createSfnClient } from '../adapters/aws-clients.ts';
import { createDirectory } from '../adapters/directory-wiring.ts';
import { DynamoDbRequestStore } from '../adapters/dynamodb/request-store.ts';
import { SfnWorkflow } from '../adapters/sfn-workflow.ts';
import { systemClock } from '../adapters/system-clock.ts';
import { parse } from '../domain/schemas.ts';
import { createLogger, logStepFailure, withLambdaContext } from '../middleware/logging.ts';
import { createMetrics, withMetrics } from '../middleware/metrics.ts';
import { type RequestApprovalResult, requestApproval } from '../services/request-approval.ts';
import { createReviewNotifier } from './chat-wiring.ts';
import { loadEnvironment } from './environment.ts';
import { RequestApprovalInput } from './inputs.ts';

const env = loadEnvironment(['tableName', 'directoryJson', 'identityStoreId']);
const logger = createLogger();
const metrics = createMetrics();
const documentClient = createDocumentClient(createDynamoDbClient());
const deps = {
  store: new DynamoDbRequestStore({ client: documentClient, tableName: env.tableName }),
  notifier: createReviewNotifier({
    documentClient,
    directory: createDirectory(env, { documentClient, tableName: env.tableName }),
    log: logger,
  }),
  workflow: new SfnWorkflow(createSfnClient()),
  clock: systemClock,
};

async function requestApprovalStep(event: unknown): Promise<RequestApprovalResult> {
  const result = await requestApproval(deps, parse(RequestApprovalInput, event, 'request-approval input'));
  // The token is a credential to resume the workflow: it is never logged.
  logger.info('approval requested', { ...result });
  metrics.addMetric('ApprovalsRequested', MetricUnit.Count, 1);
  return result;
}

export const handler = middy(requestApprovalStep)
  .use(withLambdaContext(logger))
  .use(logStepFailure(logger))
  .use(withMetrics(metrics));
