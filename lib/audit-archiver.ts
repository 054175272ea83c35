import { Duration } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { AUDIT_INSERT_STREAM_FILTER } from '../lambdas/adapters/dynamodb/table-layout.ts';
import { ENV } from '../lambdas/handlers/environment-names.ts';
import type { AuditArchiveBucket } from './audit-archive-bucket.ts';
import type { DeadLetterQueue } from './dead-letter-queue.ts';
import { HandlerFunction } from './handler-function.ts';
import type { RequestTable } from './request-table.ts';
import { consumeTableStream } from './table-stream-consumer.ts';

/** Repo-relative module of the archiver handler. */
export const AUDIT_ARCHIVER_HANDLER_ENTRY = 'lambdas/handlers/archive-audit-records.ts';

export interface AuditArchiverProps {
  /** The table whose stream carries the audit records. */
  readonly table: RequestTable;
  readonly archive: AuditArchiveBucket;
  /** COMPLIANCE retention the archiver gives each object. */
  readonly retentionDays: number;
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
 * The archiver: the table's stream → an event source mapping (audit-record inserts only, by filter;
 * gathered up to 5 s; retried until the stream is about to drop them, then parked in a dead-letter
 * queue, which the stack alarms on, as it does on an archive running late: consumeTableStream) →
 * the handler that writes them to the archive's `audit/` prefix.
 */
export class AuditArchiver extends Construct {
  readonly handler: HandlerFunction;
  readonly deadLetterQueue: DeadLetterQueue;
  /** How long an archive write may take at most: the digester looks back further than this. */
  readonly timeout: Duration;
  /** How late a record may reach the archive. */
  readonly maxRecordAge: Duration;

  constructor(scope: Construct, id: string, props: AuditArchiverProps) {
    super(scope, id);
    this.timeout = Duration.minutes(1);
    this.maxRecordAge = Duration.hours(24);
    this.handler = new HandlerFunction(this, 'Archiver', {
      entry: AUDIT_ARCHIVER_HANDLER_ENTRY,
      description: 'Countersign: archive audit records from the table stream to the Object Lock bucket',
      environment: {
        ...props.environment,
        [ENV.auditBucketName]: props.archive.bucketName,
        [ENV.auditRetentionDays]: String(props.retentionDays),
      },
      logEncryptionKey: props.logEncryptionKey,
      logRetention: props.logRetention,
      timeout: this.timeout,
    });
    props.archive.grantArchiveWrite(this.handler.role);
    this.deadLetterQueue = consumeTableStream(this, {
      table: props.table,
      handler: this.handler,
      filter: AUDIT_INSERT_STREAM_FILTER,
      deadLetterOf: 'the archiver’s event source mapping',
      maxRecordAge: this.maxRecordAge,
      maxBatchingWindow: Duration.seconds(5),
    });
  }
}
