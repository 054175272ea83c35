import { Duration } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { FAST_DECISION_INSERT_STREAM_FILTER } from '../lambdas/adapters/dynamodb/table-layout.ts';
import { ENV } from '../lambdas/handlers/environment-names.ts';
import type { CountersignEventBus } from './countersign-event-bus.ts';
import type { DeadLetterQueue } from './dead-letter-queue.ts';
import { HandlerFunction } from './handler-function.ts';
import type { RequestTable } from './request-table.ts';
import { consumeTableStream } from './table-stream-consumer.ts';

/** Repo-relative module of the fast path's follow-up handler. */
export const FAST_DECISION_ANNOUNCER_HANDLER_ENTRY = 'lambdas/handlers/announce-fast-decisions.ts';

export interface FastDecisionAnnouncerProps {
  /** The table the fast path stores its decisions in: its stream feeds the follow-up, which writes the trail and approvals there. */
  readonly table: RequestTable;
  /** Where decisions are published: the function becomes one of the bus policy's decision publishers. */
  readonly eventBus: CountersignEventBus;
  /** Encrypts the handler's log group. */
  readonly logEncryptionKey: kms.IKey;
  /** Powertools settings and the like, shared by every handler. */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * @default logs.RetentionDays.ONE_YEAR (HandlerFunction's default)
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The fast path's follow-up (a transactional outbox on the table's own stream): the table's stream
 * → an event source mapping (inserts of the requests the fast path decided only, by filter; no
 * batching window; retried until the stream is about to drop them, then parked in a dead-letter
 * queue, which the stack alarms on, as it does on a follow-up running late: consumeTableStream) →
 * the handler that stores each ALLOW's approval, records the decision's audit trail and publishes
 * `Action Decided`. Its role appends to the table and publishes decisions; nothing else.
 */
export class FastDecisionAnnouncer extends Construct {
  readonly handler: HandlerFunction;
  readonly deadLetterQueue: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: FastDecisionAnnouncerProps) {
    super(scope, id);
    this.handler = new HandlerFunction(this, 'Announcer', {
      entry: FAST_DECISION_ANNOUNCER_HANDLER_ENTRY,
      description:
        'Countersign: the fast path’s decisions from the table stream: approval, audit trail, Action Decided',
      environment: {
        ...props.environment,
        [ENV.tableName]: props.table.tableName,
        [ENV.eventBusName]: props.eventBus.eventBusName,
      },
      logEncryptionKey: props.logEncryptionKey,
      logRetention: props.logRetention,
      timeout: Duration.minutes(1),
    });
    const role = this.handler.role;
    props.table.grantAppend(role);
    props.eventBus.grantPublishDecisions(role);
    this.deadLetterQueue = consumeTableStream(this, {
      table: props.table,
      handler: this.handler,
      filter: FAST_DECISION_INSERT_STREAM_FILTER,
      deadLetterOf: 'the fast-decision announcer’s event source mapping',
      maxRecordAge: Duration.hours(24),
    });
  }
}
