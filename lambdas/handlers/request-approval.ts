/**
 * Workflow step RequestApproval (`lambda:invoke.waitForTaskToken`): stores the task token and asks
 * the reviewers, then returns; the execution stays paused until a vote resumes it or it times out.
 * Reviewers are told through a structured log line until a chat channel is configured.
 */
import middy from '@middy/core';
import { createDocumentClient, createDynamoDbClient, createSfnClient } from '../adapters/aws-clients.ts';
import { DynamoDbRequestStore } from '../adapters/dynamodb/request-store.ts';
import { LogReviewNotifier } from '../adapters/log-review-notifier.ts';
import { SfnWorkflow } from '../adapters/sfn-workflow.ts';
import { systemClock } from '../adapters/system-clock.ts';
import { parse } from '../domain/schemas.ts';
import { createLogger, withLambdaContext } from '../middleware/logging.ts';
import { createMetrics, withMetrics } from '../middleware/metrics.ts';
import { type RequestApprovalResult, requestApproval } from '../services/request-approval.ts';
import { loadEnvironment } from './environment.ts';
import { RequestApprovalInput } from './inputs.ts';

const env = loadEnvironment(['tableName']);
const logger = createLogger();
const metrics = createMetrics();
const deps = {
  store: new DynamoDbRequestStore({
    client: createDocumentClient(createDynamoDbClient()),
    tableName: env.tableName,
  }),
  notifier: new LogReviewNotifier(logger),
  workflow: new SfnWorkflow(createSfnClient()),
  clock: systemClock,
};

async function requestApprovalStep(event: unknown): Promise<RequestApprovalResult> {
  const result = await requestApproval(deps, parse(RequestApprovalInput, event, 'request-approval input'));
  // The token is a credential to resume the workflow: it is never logged.
  logger.info('approval requested', { ...result });
  return result;
}

export const handler = middy(requestApprovalStep).use(withLambdaContext(logger)).use(withMetrics(metrics));
