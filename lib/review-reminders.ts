import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ENV } from '../lambdas/handlers/environment-names.ts';
import { HandlerFunction } from './handler-function.ts';
import type { RequestTable } from './request-table.ts';

/** Repo-relative module of the reminder handler. */
export const REMINDER_HANDLER_ENTRY = 'lambdas/handlers/send-reminders.ts';

/**
 * How many schedule periods each run looks back over: a missed or failed run is made up by the
 * next ones, and the conditional reminder marks keep the overlap from sending anything twice.
 */
export const REMINDER_LOOKBACK_PERIODS = 3;

export interface ReviewRemindersProps {
  /** The requests (read, and decided by their stored votes when a crash left them undecided) and the reminder marks. */
  readonly table: RequestTable;
  /** The approval workflow a request the sweep decides is resumed in (SendTaskSuccess / SendTaskFailure). */
  readonly stateMachine: sfn.IStateMachine;
  /** The handler environment (table, console URL, directory and the chat notifier settings). */
  readonly environment: Readonly<Record<string, string>>;
  /** Encrypts the handler's log group. */
  readonly logEncryptionKey: kms.IKey;
  /**
   * How often reminders are looked for; a reminder goes out at most this late.
   * @default Duration.minutes(5)
   */
  readonly interval?: Duration;
  /**
   * @default logs.RetentionDays.ONE_YEAR (HandlerFunction's default)
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Reminds reviewers of pending requests before they expire: a scheduled EventBridge rule runs the
 * reminder handler every `interval`. Each run also sweeps: a pending request whose stored votes
 * already decide it is decided and its workflow resumed. Each run is idempotent (a reminder is claimed with a
 * conditional write before it is sent), so EventBridge's retries and overlapping runs are safe.
 * The function needs the notifier's grants too: the stack gives it the chat secrets' read access.
 */
export class ReviewReminders extends Construct {
  readonly handler: HandlerFunction;
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: ReviewRemindersProps) {
    super(scope, id);
    const interval = props.interval ?? Duration.minutes(5);
    this.handler = new HandlerFunction(this, 'Handler', {
      entry: REMINDER_HANDLER_ENTRY,
      description: 'Countersign: remind reviewers of pending requests before they expire',
      environment: {
        ...props.environment,
        [ENV.reminderLookbackSeconds]: String(interval.toSeconds() * REMINDER_LOOKBACK_PERIODS),
      },
      logEncryptionKey: props.logEncryptionKey,
      logRetention: props.logRetention,
      timeout: Duration.minutes(1),
    });
    props.table.grantReadWrite(this.handler.role);
    this.handler.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
        resources: [props.stateMachine.stateMachineArn],
      }),
    );
    this.rule = new events.Rule(this, 'Schedule', {
      description: 'Countersign: look for reviews to remind about',
      schedule: events.Schedule.rate(interval),
      targets: [
        new targets.LambdaFunction(this.handler.function, {
          // A run that never happens is made up by the next; an old one is not worth running.
          retryAttempts: 2,
          maxEventAge: interval,
        }),
      ],
    });
  }
}
