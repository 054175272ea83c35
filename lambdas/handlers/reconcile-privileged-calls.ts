/**
 * The reconciliation of privileged calls. Two rules deliver here: CloudTrail's `AWS API Call via
 * CloudTrail` events for the privileged actions (default bus), and Countersign's own `Action
 * Decided` events (Countersign bus), on which a break-glass review opens and calls recorded before
 * their approval are matched again. Wiring only: see services/reconcile-privileged-call.ts.
 */
// First, so that Cedar's wasm compiles in the background while the rest of the bundle loads.
import '../adapters/cedar/cedar-wasm.ts';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import { createDocumentClient, createDynamoDbClient } from '../adapters/aws-clients.ts';
import { createDirectory } from '../adapters/directory-wiring.ts';
import { DynamoDbPrivilegedCallStore } from '../adapters/dynamodb/privileged-call-store.ts';
import { DynamoDbRequestStore } from '../adapters/dynamodb/request-store.ts';
import { DynamoDbReviewStore } from '../adapters/dynamodb/review-store.ts';
import { systemClock } from '../adapters/system-clock.ts';
import { ActionDecidedDetail, DETAIL_TYPE, parse } from '../domain/schemas.ts';
import { createLogger, withLambdaContext } from '../middleware/logging.ts';
import { createMetrics, withMetrics } from '../middleware/metrics.ts';
import {
  type ReconcileDeps,
  reconcileDecision,
  reconcilePrivilegedCall,
} from '../services/reconcile-privileged-call.ts';
import { createReviewAlerts } from './chat-wiring.ts';
import { loadEnvironment } from './environment.ts';
import { createPolicyWiring } from './policy-wiring.ts';

const env = loadEnvironment([
  'tableName',
  'policyDir',
  'defaultApproverGroup',
  'defaultTimeoutSeconds',
  'directoryJson',
  'identityStoreId',
  'agentPrincipals',
  'privilegedActions',
]);
const logger = createLogger();
const metrics = createMetrics();

// Started first, awaited last: Cedar's wasm compiles while the clients are built (policy-wiring.ts).
const policyWiring = createPolicyWiring(
  env,
  logger,
  'the policy set is unusable: unapproved calls go to the default group',
);
const documentClient = createDocumentClient(createDynamoDbClient());
const deps: ReconcileDeps = {
  calls: new DynamoDbPrivilegedCallStore({ client: documentClient, tableName: env.tableName }),
  reviews: new DynamoDbReviewStore({ client: documentClient, tableName: env.tableName }),
  alerts: createReviewAlerts({ documentClient, log: logger }),
  store: new DynamoDbRequestStore({ client: documentClient, tableName: env.tableName }),
  directory: createDirectory(env, { documentClient, tableName: env.tableName }),
  agents: env.agentPrincipals,
  watchedActions: env.privilegedActions,
  defaultApproverGroup: env.defaultApproverGroup,
  clock: systemClock,
  policy: await policyWiring,
};

function isDecision(event: unknown): event is { detail: unknown } {
  return (event as { 'detail-type'?: unknown } | null)?.['detail-type'] === DETAIL_TYPE.actionDecided;
}

async function reconcile(event: unknown): Promise<{ readonly eventId?: string; readonly status?: string }> {
  if (isDecision(event)) {
    const { requestId } = parse(ActionDecidedDetail, event.detail, 'decision event');
    const covered = await reconcileDecision(deps, requestId);
    logger.info('decision reconciled', { requestId, coveredEventId: covered?.eventId });
    return covered === undefined ? {} : { eventId: covered.eventId, status: covered.status };
  }
  const { call, created } = await reconcilePrivilegedCall(deps, event);
  // Names and ARNs only: never the call's parameters, which may carry policy documents.
  logger.info('privileged call reconciled', {
    eventId: call.eventId,
    action: call.action,
    status: call.status,
    agentId: call.agentId,
    requestId: call.requestId,
    redelivered: !created,
  });
  if (created) {
    const reconciled = metrics.singleMetric();
    reconciled.addDimension('status', call.status);
    reconciled.addMetric('PrivilegedCallsReconciled', MetricUnit.Count, 1);
  }
  return { eventId: call.eventId, status: call.status };
}

export const handler = middy(reconcile).use(withLambdaContext(logger)).use(withMetrics(metrics));
