import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV } from '../lambdas/handlers/environment-names.ts';
import type { AuditArchiveBucket } from './audit-archive-bucket.ts';
import { HandlerFunction } from './handler-function.ts';
import { SigningKey } from './signing-key.ts';

/** Repo-relative module of the digester handler. */
export const AUDIT_DIGESTER_HANDLER_ENTRY = 'lambdas/handlers/write-audit-digest.ts';

export interface AuditDigesterProps {
  readonly archive: AuditArchiveBucket;
  /** COMPLIANCE retention the digester gives each digest (the archive's). */
  readonly retentionDays: number;
  /** Longer than any archive write can take: the archiver's timeout and then some. */
  readonly lookback: Duration;
  /** How late a record may reach the archive (the archiver's maximum record age). */
  readonly maxRecordDelay: Duration;
  /** Encrypts the handler's log group. */
  readonly logEncryptionKey: kms.IKey;
  /** Powertools settings and the like, shared by every handler. */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * How often a digest is written, objects or not.
   * @default Duration.minutes(5)
   */
  readonly interval?: Duration;
  /**
   * @default logs.RetentionDays.ONE_YEAR (HandlerFunction's default)
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The digester: a scheduled rule runs it every `interval`, one run at a time (reserved concurrency
 * 1), to write the next signed digest of the archive under `digests/`. It signs with a key of its
 * own (ECC_NIST_P256) that nobody else may sign with; anyone may read its public half.
 */
export class AuditDigester extends Construct {
  readonly handler: HandlerFunction;
  readonly rule: events.Rule;
  readonly signingKey: SigningKey;

  constructor(scope: Construct, id: string, props: AuditDigesterProps) {
    super(scope, id);
    const interval = props.interval ?? Duration.minutes(5);
    this.signingKey = new SigningKey(this, 'SigningKey', {
      description: 'Countersign: signs audit archive digests (ES256); only the digester may sign',
    });
    this.handler = new HandlerFunction(this, 'Digester', {
      entry: AUDIT_DIGESTER_HANDLER_ENTRY,
      description: 'Countersign: write the next signed digest of the audit archive',
      environment: {
        ...props.environment,
        [ENV.auditBucketName]: props.archive.bucketName,
        [ENV.auditRetentionDays]: String(props.retentionDays),
        [ENV.auditDigestKeyId]: this.signingKey.keyArn,
        [ENV.auditDigestLookbackSeconds]: String(props.lookback.toSeconds()),
        [ENV.auditMaxRecordDelaySeconds]: String(props.maxRecordDelay.toSeconds()),
      },
      logEncryptionKey: props.logEncryptionKey,
      logRetention: props.logRetention,
      timeout: Duration.minutes(4),
      // One run at a time; the digest's create-once key keeps even overlapping runs from forking the chain.
      reservedConcurrentExecutions: 1,
    });
    props.archive.grantDigest(this.handler.role);
    this.signingKey.grantSign(this.handler.role);
    this.rule = new events.Rule(this, 'Schedule', {
      description: 'Countersign: write the next audit archive digest',
      schedule: events.Schedule.rate(interval),
      targets: [
        new targets.LambdaFunction(this.handler.function, {
          // A missed run is made up by the next (its window starts where the last digest ended).
          retryAttempts: 2,
          maxEventAge: interval,
        }),
      ],
    });
  }
}
