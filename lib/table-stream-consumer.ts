import { type Duration, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import type { Construct } from 'constructs';
import { DeadLetterQueue } from './dead-letter-queue.ts';
import type { HandlerFunction } from './handler-function.ts';
import type { RequestTable } from './request-table.ts';

export interface TableStreamConsumerProps {
  readonly table: RequestTable;
  /** The function the filtered records go to. */
  readonly handler: HandlerFunction;
  /** Lambda event filtering (EventBridge pattern syntax) on the stream's records. */
  readonly filter: Readonly<Record<string, unknown>>;
  /** Named in the dead-letter queue's nag acknowledgement: `the archiver’s event source mapping`. */
  readonly deadLetterOf: string;
  /** Records older than this go to the dead-letter queue (the stream keeps them 24 hours). */
  readonly maxRecordAge: Duration;
  /**
   * How long Lambda gathers records before invoking.
   * @default - none: each record as soon as it is read
   */
  readonly maxBatchingWindow?: Duration;
}

/**
 * A function fed by the table's stream, as both of the stream's readers are (the audit archiver, the
 * fast path's follow-up): an event source mapping of the records the filter lets through, from the
 * oldest kept (TRIM_HORIZON), 100 at a time, one batch per shard at a time (records of an item in
 * order), with ReportBatchItemFailures, bisected on error and retried until the oldest record is
 * `maxRecordAge` old (an outage is waited out, and the iterator-age alarm says so, rather than
 * records parked), then parked with their position in an encrypted, TLS-only dead-letter queue. The
 * function's role reads the stream (the mapping polls with it). Built in `scope` under the ids
 * `DeadLetterQueue` and `TableStream`. DynamoDB recommends at most two readers of a stream's shard:
 * these are the two.
 */
export function consumeTableStream(scope: Construct, props: TableStreamConsumerProps): DeadLetterQueue {
  const deadLetterQueue = new DeadLetterQueue(scope, 'DeadLetterQueue', { deadLetterOf: props.deadLetterOf });
  props.table.grantStreamRead(props.handler.role);
  new lambda.EventSourceMapping(scope, 'TableStream', {
    target: props.handler.function,
    eventSourceArn: props.table.streamArn,
    startingPosition: lambda.StartingPosition.TRIM_HORIZON,
    batchSize: 100,
    ...(props.maxBatchingWindow === undefined ? {} : { maxBatchingWindow: props.maxBatchingWindow }),
    bisectBatchOnError: true,
    reportBatchItemFailures: true,
    maxRecordAge: props.maxRecordAge,
    parallelizationFactor: 1,
    onFailure: new sources.SqsDlq(deadLetterQueue),
    filters: [lambda.FilterCriteria.filter(props.filter as Record<string, unknown>)],
  });
  Validations.of(props.handler.role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'dynamodb:ListStreams and X-Ray have no resource-level permissions.',
  });
  return deadLetterQueue;
}
