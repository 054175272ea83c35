import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { HandlerFunction } from './handler-function.ts';

/** A dead-letter queue to alarm on as soon as anything is in it. */
export interface WatchedQueue {
  /** The alarm's construct id. */
  readonly id: string;
  readonly queue: sqs.IQueue;
  /** What a message in it means, for whoever is paged. */
  readonly description: string;
}

/** A function reading a stream, to alarm on when it falls behind (its batches keep failing). */
export interface WatchedStreamReader {
  /** The alarm's construct id. */
  readonly id: string;
  readonly function: lambda.IFunction;
  /** How old the newest record it handled may be before someone is told. */
  readonly maxIteratorAge: Duration;
  /** What falling behind means, for whoever is paged. */
  readonly description: string;
}

export interface WorkflowAlarmsProps {
  readonly stateMachine: sfn.StateMachine;
  readonly deadLetterQueues: readonly WatchedQueue[];
  /**
   * @default - none
   */
  readonly streamReaders?: readonly WatchedStreamReader[];
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
 * Alarms for what must never happen quietly: a failed workflow execution, anything in a dead-letter
 * queue (an agent request not delivered, a Macie finding not stored, audit records not archived, a
 * fast-path decision not recorded or published, a privileged call or decision not reconciled), a
 * stream reader falling behind (the archive waiting for S3, the fast path's follow-up failing), a
 * handler error. Each notifies the (encrypted, TLS-only) alarm topic.
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
    for (const watched of props.deadLetterQueues) {
      this.add(watched.id, {
        metric: watched.queue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
          statistic: 'Maximum',
        }),
        alarmDescription: watched.description,
      });
    }
    for (const reader of props.streamReaders ?? []) {
      this.add(reader.id, {
        metric: reader.function.metric('IteratorAge', { period: Duration.minutes(5), statistic: 'Maximum' }),
        alarmDescription: reader.description,
        threshold: reader.maxIteratorAge.toMilliseconds(),
      });
    }
    for (const fn of props.functions) {
      this.add(`${fn.node.id}Errors`, {
        metric: fn.metricErrors(),
        alarmDescription: `The ${fn.node.id} handler (${fn.entry}) reported errors.`,
      });
    }
  }

  /** An alarm when `metric` goes above `threshold` (0: any at all). */
  private add(
    id: string,
    { threshold = 0, ...props }: { metric: cloudwatch.IMetric; alarmDescription: string; threshold?: number },
  ): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      ...props,
      threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new actions.SnsAction(this.topic));
    this.alarms.push(alarm);
  }
}
