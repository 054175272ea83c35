import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  CLOUDTRAIL_API_CALL,
  needsReadOnlyEvents,
  type PrivilegedOperation,
  privilegedCallPattern,
} from '../lambdas/domain/privileged-actions.ts';
import { DECISION_SOURCE, DETAIL_TYPE, Decision } from '../lambdas/domain/schemas.ts';
import { DeadLetterQueue } from './dead-letter-queue.ts';
import { HandlerFunction, POLICY_ENGINE_BUNDLE } from './handler-function.ts';
import type { RequestTable } from './request-table.ts';

/** Repo-relative module of the reconciliation handler. */
export const RECONCILE_HANDLER_ENTRY = 'lambdas/handlers/reconcile-privileged-calls.ts';

/** The rule state that also delivers read-only management events (GetSecretValue …) from CloudTrail. */
export const ALL_MANAGEMENT_EVENTS_STATE = 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';

export interface PrivilegedCallReconciliationProps {
  /** The operations watched (`countersign:privilegedActions`, parsed). */
  readonly operations: readonly PrivilegedOperation[];
  /** The Countersign bus: its `Action Decided` events open break-glass reviews and re-match late approvals. */
  readonly countersignBus: events.IEventBus;
  /** Calls, approvals and reviews (read and conditional writes), beside the requests. */
  readonly table: RequestTable;
  /** The handler environment: table, directory, policies and their defaults, agents' principals, chat settings. */
  readonly environment: Readonly<Record<string, string>>;
  /** Encrypts the handler's log group. */
  readonly logEncryptionKey: kms.IKey;
  /**
   * @default logs.RetentionDays.ONE_YEAR (HandlerFunction's default)
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * How many times EventBridge retries delivering an event before it goes to the DLQ.
   * @default 24
   */
  readonly retryAttempts?: number;
  /**
   * How long EventBridge, and Lambda's asynchronous retries, keep trying an event.
   * @default Duration.hours(2)
   */
  readonly maxEventAge?: Duration;
}

/**
 * The reconciliation of privileged calls: a rule on the account's default bus for the CloudTrail
 * `AWS API Call via CloudTrail` events of the watched operations (in the state that also delivers
 * read-only management events when one of them is read-only, e.g. `secretsmanager:GetSecretValue`),
 * a rule on the Countersign bus for approving and break-glass decisions, and the handler both
 * deliver to. An event that cannot be delivered, or whose handling still fails after Lambda's two
 * asynchronous retries (a record forging a recorded eventID fails for good), lands in the
 * encrypted, TLS-only dead-letter queue, whose depth the stack alarms on.
 *
 * CloudTrail sends an event to EventBridge in the Region where the call was made, and the events
 * of global services (IAM, Organizations, STS's global endpoint) in us-east-1 only: deploy the stack
 * where the calls are made and, for IAM and Organizations, in us-east-1 (see README).
 */
export class PrivilegedCallReconciliation extends Construct {
  readonly handler: HandlerFunction;
  readonly callRule: events.Rule;
  readonly decisionRule: events.Rule;
  readonly deadLetterQueue: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: PrivilegedCallReconciliationProps) {
    super(scope, id);
    this.deadLetterQueue = new DeadLetterQueue(this, 'DeadLetterQueue', {
      deadLetterOf: 'the reconciliation rules and handler',
    });
    this.handler = new HandlerFunction(this, 'Reconciler', {
      entry: RECONCILE_HANDLER_ENTRY,
      description: 'Countersign: reconcile privileged AWS calls (CloudTrail) with approvals',
      environment: props.environment,
      logEncryptionKey: props.logEncryptionKey,
      logRetention: props.logRetention,
      // What the policies say about an unapproved call names its reviewers: the engine ships as Evaluate's does.
      ...POLICY_ENGINE_BUNDLE,
    });
    props.table.grantReadWrite(this.handler.role);

    const target = this.deadLetterQueue.asyncLambdaTarget(this.handler.function, {
      retryAttempts: props.retryAttempts,
      maxEventAge: props.maxEventAge ?? Duration.hours(2),
    });
    const pattern = privilegedCallPattern(props.operations) as {
      source: string[];
      detail: Record<string, unknown>;
    };
    this.callRule = new events.Rule(this, 'CallRule', {
      eventBus: events.EventBus.fromEventBusName(this, 'DefaultBus', 'default'),
      description:
        `Countersign: privileged AWS calls (${props.operations.map((operation) => operation.action).join(', ')}) to reconcile`.slice(
          0,
          512,
        ),
      eventPattern: { source: pattern.source, detailType: [CLOUDTRAIL_API_CALL], detail: pattern.detail },
      targets: [target],
    });
    if (needsReadOnlyEvents(props.operations)) {
      (this.callRule.node.defaultChild as events.CfnRule).state = ALL_MANAGEMENT_EVENTS_STATE;
    }
    this.decisionRule = new events.Rule(this, 'DecisionRule', {
      eventBus: props.countersignBus,
      description: 'Countersign: approving and break-glass decisions, for the privileged-call reconciliation',
      eventPattern: {
        source: [DECISION_SOURCE],
        detailType: [DETAIL_TYPE.actionDecided],
        detail: { decision: [Decision.approved, Decision.autoApproved, Decision.breakGlass] },
      },
      targets: [target],
    });
  }
}
