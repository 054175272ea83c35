import { Duration, Validations } from 'aws-cdk-lib';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

export interface DeadLetterQueueProps {
  /** Whose failures the queue holds, completing "This queue is itself the dead-letter queue of …". */
  readonly deadLetterOf: string;
}

export interface AsyncLambdaTargetProps {
  /**
   * How many times EventBridge retries delivering an event before it goes to this queue.
   * @default 24
   */
  readonly retryAttempts?: number;
  /** How long EventBridge, and Lambda's asynchronous retries, keep trying an event. */
  readonly maxEventAge: Duration;
}

/**
 * Where events that could not be handled end instead of vanishing: encrypted, TLS-only, kept
 * 14 days (the stack alarms on its depth). A dead-letter queue needs no dead-letter queue of its own.
 */
export class DeadLetterQueue extends sqs.Queue {
  constructor(scope: Construct, id: string, props: DeadLetterQueueProps) {
    super(scope, id, {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: `This queue is itself the dead-letter queue of ${props.deadLetterOf}.`,
    });
  }

  /**
   * A rule target invoking `fn` asynchronously, both halves dead-lettered here: events EventBridge
   * cannot deliver, and events the function still fails on after Lambda's two asynchronous retries.
   */
  asyncLambdaTarget(fn: lambda.IFunction, props: AsyncLambdaTargetProps): targets.LambdaFunction {
    fn.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: props.maxEventAge,
      onFailure: new destinations.SqsDestination(this),
    });
    return new targets.LambdaFunction(fn, {
      deadLetterQueue: this,
      retryAttempts: props.retryAttempts ?? 24,
      maxEventAge: props.maxEventAge,
    });
  }
}
