/**
 * Powertools idempotency on the Countersign table: a redelivered invocation with the same key returns
 * the stored result instead of running the handler again. Its records live in the single table under
 * their own partition (`IDEMPOTENCY#<scope>`), so they never collide with request items, and expire
 * through the table's TTL attribute. Powertools writes them with single-item conditional PutItem /
 * UpdateItem / DeleteItem calls, never transactions, which keeps the no-TransactWriteItems rule.
 */

import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { makeHandlerIdempotent } from '@aws-lambda-powertools/idempotency/middleware';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { TABLE_LAYOUT, TableKey } from '../adapters/dynamodb/table-layout.ts';

/** Long enough to cover every Step Functions retry of the same task. */
const IDEMPOTENCY_WINDOW_SECONDS = 24 * 60 * 60;

export interface IdempotencyProps {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /**
   * Names what is made idempotent, e.g. `publish-decision`. Fixed rather than the function name,
   * which changes when CloudFormation replaces the function.
   */
  readonly scope: string;
  /** JMESPath of the idempotency key in the event, e.g. `requestId`. */
  readonly eventKeyJmesPath: string;
}

function persistenceOf(props: IdempotencyProps) {
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: props.tableName,
    awsSdkV3Client: props.client,
    keyAttr: TABLE_LAYOUT.partitionKey,
    sortKeyAttr: TABLE_LAYOUT.sortKey,
    staticPkValue: TableKey.idempotencyPartition(props.scope),
    expiryAttr: TABLE_LAYOUT.ttlAttribute,
  });
  const config = new IdempotencyConfig({
    eventKeyJmesPath: props.eventKeyJmesPath,
    throwOnNoIdempotencyKey: true,
    expiresAfterSeconds: IDEMPOTENCY_WINDOW_SECONDS,
  });
  return { persistenceStore, config };
}

export function idempotentBy(props: IdempotencyProps) {
  return makeHandlerIdempotent({ ...persistenceOf(props), keyPrefix: props.scope });
}

/**
 * One part of a handler made idempotent, as `idempotentBy` makes a whole handler: called again with
 * the same key, it answers what the first call answered. A failed call is not remembered. The
 * handler registers each invocation's Lambda context (`registerLambdaContext`), so a call that an
 * invocation left in progress when it died expires with that invocation's timeout.
 */
export function idempotentPart<I, O>(
  props: IdempotencyProps,
  run: (input: I) => Promise<O>,
): { readonly run: (input: I) => Promise<O>; readonly registerLambdaContext: (context: Context) => void } {
  const { persistenceStore, config } = persistenceOf(props);
  return {
    run: makeIdempotent(run, { persistenceStore, config, keyPrefix: props.scope }),
    registerLambdaContext: (context) => config.registerLambdaContext(context),
  };
}
