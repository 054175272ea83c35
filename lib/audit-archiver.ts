import { Duration, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { AUDIT_INSERT_STREAM_FILTER } from '../lambdas/adapters/dynamodb/table-layout.ts';
import { ENV } from '../lambdas/handlers/environment-names.ts';
import type { AuditArchiveBucket } from './audit-archive-bucket.ts';
import { DeadLetterQueue } from './dead-letter-queue.ts';
import { HandlerFunction } from './handler-function.ts';
import type { RequestTable } from './request-table.ts';

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
   * Records per invocation.
   * @default 100
   */
  readonly batchSize?: number;
  /**
   * How many times a failing batch (or, bisected, its half) is retried before it goes to the DLQ.
   * @default - retried until its oldest record is `maxRecordAge` old: the archive waits out an S3
   * outage (and the iterator-age alarm says so) instead of parking records it could still write
   */
  readonly retryAttempts?: number;
  /**
   * Records older than this go to the DLQ instead (the stream keeps them 24 hours).
   * @default Duration.hours(24)
   */
  readonly maxRecordAge?: Duration;
  /**
   * @default logs.RetentionDays.ONE_YEAR (HandlerFunction's default)
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The archiver: the table's stream → an event source mapping (audit-record inserts only, by filter;
 * batches with ReportBatchItemFailures, bisected on error, retried until the stream is about to
 * drop them, then parked with their position in an encrypted, TLS-only dead-letter queue, which the
 * stack alarms on, as it does on an archive running late) → the handler that writes them to the
 * archive's `audit/` prefix.
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
    this.maxRecordAge = props.maxRecordAge ?? Duration.hours(24);
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
    this.deadLetterQueue = new DeadLetterQueue(this, 'DeadLetterQueue', {
      deadLetterOf: 'the archiver’s event source mapping',
    });
    // Lambda polls the stream (and sends failures to the queue: the mapping's own grant) with the function's role.
    props.table.grantStreamRead(this.handler.role);
    new lambda.EventSourceMapping(this, 'TableStream', {
      target: this.handler.function,
      eventSourceArn: props.table.streamArn,
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: props.batchSize ?? 100,
      maxBatchingWindow: Duration.seconds(5),
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
      retryAttempts: props.retryAttempts,
      maxRecordAge: this.maxRecordAge,
      parallelizationFactor: 1,
      onFailure: new sources.SqsDlq(this.deadLetterQueue),
      filters: [
        lambda.FilterCriteria.filter(AUDIT_INSERT_STREAM_FILTER as unknown as Record<string, unknown>),
      ],
    });
    Validations.of(this.handler.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'dynamodb:ListStreams and X-Ray have no resource-level permissions.',
    });
  }
}
