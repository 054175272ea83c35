import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { HandlerFunction } from './handler-function.ts';

export interface WorkflowAlarmsProps {
  readonly stateMachine: sfn.StateMachine;
  readonly deadLetterQueue: sqs.IQueue;
  /**
   * The dead-letter queue of the Macie findings rule and handler.
   * @default - none: no alarm on it
   */
  readonly findingsDeadLetterQueue?: sqs.IQueue;
  /**
   * The dead-letter queue of the privileged-call reconciliation (CloudTrail calls and decisions).
   * @default - none: no alarm on it
   */
  readonly privilegedCallDeadLetterQueue?: sqs.IQueue;
  readonly functions: readonly HandlerFunction[];
  /** Key encrypting the alarm topic. */
  readonly topicEncryptionKey: kms.IKey;
  /**
   * Addresses subscribed to the alarm topic.
   * @default - none; subscribe to the topic yourself
   */
  readonly emails?: readonly string[];
}

/**
 * Alarms for what must never happen quietly: a failed workflow execution, an agent request, a
 * Macie finding or a privileged call to reconcile stuck in a dead-letter queue, a handler error. Each notifies the (encrypted,
 * TLS-only) alarm topic.
 */
export class WorkflowAlarms extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: WorkflowAlarmsProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'Countersign alarms',
      masterKey: props.topicEncryptionKey,
      enforceSSL: true,
    });
    for (const email of props.emails ?? []) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    }

    this.add('FailedExecutions', {
      metric: props.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }),
      alarmDescription:
        'An approval workflow execution failed: a request was rejected as invalid or not recorded.',
    });
    const deadLetterQueues = [
      {
        id: 'DeadLetters',
        queue: props.deadLetterQueue,
        holds: 'Agent requests EventBridge could not deliver to the workflow are waiting in the DLQ.',
      },
      {
        id: 'FindingsDeadLetters',
        queue: props.findingsDeadLetterQueue,
        holds:
          'Macie findings that could not be stored (undeliverable or malformed) are waiting in their DLQ.',
      },
      {
        id: 'PrivilegedCallDeadLetters',
        queue: props.privilegedCallDeadLetterQueue,
        holds:
          'Privileged calls (CloudTrail) or decisions that could not be reconciled are waiting in their DLQ.',
      },
    ];
    for (const { id: alarmId, queue, holds } of deadLetterQueues) {
      if (queue === undefined) continue;
      this.add(alarmId, {
        metric: queue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
          statistic: 'Maximum',
        }),
        alarmDescription: holds,
      });
    }
    for (const fn of props.functions) {
      this.add(`${fn.node.id}Errors`, {
        metric: fn.metricErrors(),
        alarmDescription: `The ${fn.node.id} handler (${fn.entry}) reported errors.`,
      });
    }
  }

  private add(id: string, props: { metric: cloudwatch.IMetric; alarmDescription: string }): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      ...props,
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new actions.SnsAction(this.topic));
    this.alarms.push(alarm);
  }
}
