/**
 * The executor function: runs an approved action Countersign executes, for the workflow's Finish
 * step, which invokes it and waits (adapters/executor-function.ts). The one function that may assume
 * the executor role, and the only one carrying the S3 client and the STS and IAM calls the runs need. The event
 * names the request and the execution that owns it; what runs is read from the stored request and
 * re-checked against its approved actionHash (services/execute-action.ts), claimed once with a
 * conditional write, and its outcome recorded once: a retried or duplicated invocation answers the
 * recorded outcome and never runs the action twice. A run still going on in another invocation is
 * answered as in progress (Finish asks again later); anything else that fails is a function error.
 */
import middy from '@middy/core';
import { createDocumentClient, createDynamoDbClient } from '../adapters/aws-clients.ts';
import { DynamoDbRequestStore } from '../adapters/dynamodb/request-store.ts';
import { roleSessionExecutor } from '../adapters/executors/role-session-executor.ts';
import { systemClock } from '../adapters/system-clock.ts';
import { type ActionRunAnswer, ActionRunRequest, isExecutionInProgress } from '../domain/action-run.ts';
import { parse } from '../domain/schemas.ts';
import { createLogger, logStepFailure, withLambdaContext } from '../middleware/logging.ts';
import { executeApprovedAction } from '../services/execute-action.ts';
import { loadEnvironment } from './environment.ts';

const env = loadEnvironment(['tableName', 'executorRoleArn', 'executorAllowedPolicyArns']);
const logger = createLogger();

/**
 * A run STARTED this long ago was interrupted: longer than this function's own timeout (60 s), so
 * no invocation can still be running it.
 */
const INTERRUPTED_AFTER_MS = 5 * 60 * 1000;

const deps = {
  store: new DynamoDbRequestStore({
    client: createDocumentClient(createDynamoDbClient()),
    tableName: env.tableName,
  }),
  executor: roleSessionExecutor(env.executorRoleArn),
  clock: systemClock,
  allowedPolicyArns: env.executorAllowedPolicyArns,
  interruptedAfterMs: INTERRUPTED_AFTER_MS,
};

async function executeAction(event: unknown): Promise<ActionRunAnswer> {
  const input = parse(ActionRunRequest, event, 'executor input');
  try {
    const { execution } = await executeApprovedAction(deps, input);
    logger.info('action run answered', {
      requestId: input.requestId,
      execution: execution?.status ?? 'NOTHING_TO_RUN',
      sessionName: execution?.sessionName,
      awsRequestId: execution?.awsRequestId,
    });
    return execution === undefined
      ? { requestId: input.requestId }
      : { requestId: input.requestId, execution };
  } catch (error) {
    if (!isExecutionInProgress(error)) throw error;
    logger.info('action run in progress elsewhere', { requestId: input.requestId });
    return { requestId: input.requestId, inProgress: true };
  }
}

export const handler = middy(executeAction).use(withLambdaContext(logger)).use(logStepFailure(logger));
