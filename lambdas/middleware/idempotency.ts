/**
 * Powertools idempotency on the Countersign table: a redelivered invocation with the same key returns
 * the stored result instead of running the handler again. Its records live in the single table under
 * their own partition (`IDEMPOTENCY#<scope>`), so they never collide with request items, and expire
 * through the table's TTL attribute. Powertools writes them with single-item conditional PutItem /
 * UpdateItem / DeleteItem calls, never transactions, which keeps the no-TransactWriteItems rule.
 */

import { IdempotencyConfig } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { makeHandlerIdempotent } from '@aws-lambda-powertools/idempotency/middleware';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
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

export function idempotentBy(props: IdempotencyProps) {
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
  return makeHandlerIdempotent({ persistenceStore, config, keyPrefix: props.scope });
}
