/**
 * Workflow step Finish: records how the request ended exactly once, has the approved action run when
 * Countersign executes it (by the executor function, which alone may assume the executor role:
 * handlers/execute-action.ts, invoked and waited for), and publishes the decision (signing the
 * receipt with KMS, this being the one role allowed to, and putting `Action Decided` on the bus).
 * Recording and publishing are each idempotent per requestId by their own conditional writes, so a
 * retried step (or a redelivered invocation) neither records twice nor tells the agent again once
 * it was told, and the run is claimed once on the request. Also FinishEvaluationFailure (after a
 * failed evaluation, from the event) and PublishDecision (an execution that failed for good, only
 * published).
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
import { executorFunction } from '../adapters/executor-function.ts';
import { KmsReceiptSigner } from '../adapters/kms/receipt-signer.ts';
import { lambdaInvoker, lambdaInvokeTargetFromEnvironment } from '../adapters/lambda-invoke.ts';
import { systemClock } from '../adapters/system-clock.ts';
import { countersignExecutes } from '../domain/action-run.ts';
import { parse } from '../domain/schemas.ts';
import { createLogger, logStepFailure, withLambdaContext } from '../middleware/logging.ts';
import { createMetrics, withMetrics } from '../middleware/metrics.ts';
import { type FinishRequestResult, finishRequest } from '../services/finish-request.ts';
import { type PublishDecisionInput, publishDecision } from '../services/publish-decision.ts';
import { type RecordDecisionInput, recordDecision, requestToRecord } from '../services/record-decision.ts';
import { loadEnvironment } from './environment.ts';
import { FinishInput } from './inputs.ts';

const env = loadEnvironment([
  'tableName',
  'eventBusName',
  'receiptKeyId',
  'executorFunctionName',
  'privilegedActions',
]);
const logger = createLogger();
const metrics = createMetrics();

/**
 * How long Finish waits for the executor function, its retries included: longer than its timeout
 * (60 s, which Lambda answers as a function error), shorter than Finish's own (90 s), so Finish
 * reports the failure.
 */
const EXECUTOR_ANSWER_TIMEOUT_MS = 70 * 1000;

const documentClient = createDocumentClient(createDynamoDbClient());
const store = new DynamoDbRequestStore({ client: documentClient, tableName: env.tableName });
const clock = systemClock;
// Built once per cold start: the signer keeps the key's identity between invocations.
const signer = new KmsReceiptSigner({ client: createKmsClient(), keyId: env.receiptKeyId });
const watchedActions = env.privilegedActions;

/**
 * Recording is exactly once by its own conditional writes, so a retry finds the decision stored and
 * answers `applied: false` (the decision is counted once), and it computes `executes` from the
 * stored request as the first did.
 */
async function record(input: RecordDecisionInput) {
  const {
    applied,
    record: stored,
    reserved,
  } = await recordDecision({ store, clock, signer, watchedActions }, input);
  if (applied) {
    // Counted when stored, by the call that stored it: a part that fails after it (the run,
    // publishing) has the step retried, and the retry finds the decision recorded. Its own EMF
    // document: the dimension belongs to this metric alone.
    const decided = metrics.singleMetric();
    decided.addDimension('decision', String(stored.decision));
    decided.addMetric('DecisionsRecorded', MetricUnit.Count, 1);
  }
  return {
    applied,
    record: stored,
    executes: countersignExecutes(stored),
    ...(reserved === undefined ? {} : { reserved }),
  };
}
/**
 * Not wrapped in an idempotency record either: the receipt is stored once, each fact is written
 * once, and a retry after the PUBLISHED fact answers the event without putting it again.
 */
const publishDeps = {
  store,
  grants: new DynamoDbPrivilegedCallStore({ client: documentClient, tableName: env.tableName }),
  watchedActions,
  publisher: new EventBridgeDecisionPublisher({
    client: createEventBridgeClient(),
    eventBusName: env.eventBusName,
  }),
  signer,
  clock,
};
const publish = (input: PublishDecisionInput) => publishDecision(publishDeps, input);
const execute = executorFunction({
  invoke: lambdaInvoker(lambdaInvokeTargetFromEnvironment()),
  functionName: env.executorFunctionName,
  answerTimeoutMs: EXECUTOR_ANSWER_TIMEOUT_MS,
});

async function finishStep(event: unknown): Promise<FinishRequestResult> {
  const input = parse(FinishInput, event, 'finish input');
  const result = await finishRequest(
    {
      record,
      execute,
      publish,
    },
    {
      ...input,
      requestId: 'event' in input ? requestToRecord(input) : input.requestId,
    },
  );
  const { published, execution } = result;
  logger.info('request finished', {
    requestId: result.requestId,
    applied: result.applied,
    decision: published.decision,
    // Set when Evaluate failed: the request may have been stored by this step, already denied.
    afterEvaluationFailure: 'event' in input,
    execution: execution?.status ?? 'NOTHING_TO_RUN',
    sessionName: execution?.sessionName,
    awsRequestId: execution?.awsRequestId,
  });
  if (execution !== undefined) {
    const counted = metrics.singleMetric();
    counted.addDimension('status', execution.status);
    counted.addMetric('ActionsExecuted', MetricUnit.Count, 1);
  }
  metrics.addMetric('DecisionsPublished', MetricUnit.Count, 1);
  return result;
}

export const handler = middy(finishStep)
  .use(withLambdaContext(logger))
  .use(logStepFailure(logger))
  .use(withMetrics(metrics));
