import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DeadLetterQueue } from './dead-letter-queue.ts';
import { HandlerFunction } from './handler-function.ts';
import type { RequestTable } from './request-table.ts';

/** Repo-relative module of the findings handler. */
export const CLASSIFICATION_FINDINGS_HANDLER_ENTRY = 'lambdas/handlers/classification-findings.ts';

/** Macie's event on the account's default bus (the only event type it sends). */
export const MACIE_FINDING_PATTERN = { source: ['aws.macie'], detailType: ['Macie Finding'] } as const;

export interface MacieFindingsRuleProps {
  /** Where the classifications are kept. */
  readonly table: RequestTable;
  /** The handler environment (the table's name and Powertools' settings). */
  readonly environment: Readonly<Record<string, string>>;
  /** Encrypts the handler's log group. */
  readonly logEncryptionKey: kms.IKey;
  /**
   * @default logs.RetentionDays.ONE_YEAR (HandlerFunction's default)
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * How often EventBridge retries delivering a finding it could not hand to the function.
   * @default 24
   */
  readonly retryAttempts?: number;
  /**
   * How long findings are retried (delivery and the function's own failures) before the DLQ.
   * @default Duration.hours(6)
   */
  readonly maxEventAge?: Duration;
}

/**
 * Macie findings in: a rule on the account's default bus (where Macie publishes `Macie Finding`
 * events) invokes the findings handler. A finding that cannot be delivered (EventBridge's retries)
 * or that the handler fails on (Lambda's asynchronous retries: a malformed finding fails every
 * time) ends in one encrypted, TLS-only dead-letter queue, kept 14 days, whose depth is alarmed.
 */
export class MacieFindingsRule extends Construct {
  readonly handler: HandlerFunction;
  readonly rule: events.Rule;
  readonly deadLetterQueue: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: MacieFindingsRuleProps) {
    super(scope, id);
    this.deadLetterQueue = new DeadLetterQueue(this, 'DeadLetterQueue', {
      deadLetterOf: 'the Macie findings rule and handler',
    });
    this.handler = new HandlerFunction(this, 'ClassificationFindings', {
      entry: CLASSIFICATION_FINDINGS_HANDLER_ENTRY,
      description: 'Countersign: store Macie findings as the classification of objects and buckets',
      environment: props.environment,
      logEncryptionKey: props.logEncryptionKey,
      logRetention: props.logRetention,
    });
    props.table.grantReadWrite(this.handler.role);
    this.rule = new events.Rule(this, 'Rule', {
      description: 'Countersign: Macie findings classify S3 objects and buckets',
      eventPattern: {
        source: [...MACIE_FINDING_PATTERN.source],
        detailType: [...MACIE_FINDING_PATTERN.detailType],
      },
      targets: [
        this.deadLetterQueue.asyncLambdaTarget(this.handler.function, {
          retryAttempts: props.retryAttempts,
          maxEventAge: props.maxEventAge ?? Duration.hours(6),
        }),
      ],
    });
  }
}
