import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { AGENT_SOURCE_PREFIX, DETAIL_TYPE } from '../lambdas/domain/schemas.ts';
import { DeadLetterQueue } from './dead-letter-queue.ts';

export interface AgentRequestRuleProps {
  /** The bus agents put their requests on. */
  readonly eventBus: events.IEventBus;
  /** The workflow each request starts. */
  readonly stateMachine: sfn.IStateMachine;
  /**
   * How many times EventBridge retries starting the workflow before the event goes to the DLQ.
   * @default 24
   */
  readonly retryAttempts?: number;
  /**
   * How long EventBridge keeps retrying an event before it goes to the DLQ.
   * @default Duration.hours(2)
   */
  readonly maxEventAge?: Duration;
}

/**
 * The agent-request rule: every `Action Requested` event from an agent source that names its agent
 * starts the approval workflow. Events EventBridge cannot deliver land in an encrypted, TLS-only
 * dead-letter queue (kept 14 days) instead of vanishing.
 */
export class AgentRequestRule extends Construct {
  readonly rule: events.Rule;
  readonly deadLetterQueue: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: AgentRequestRuleProps) {
    super(scope, id);
    this.deadLetterQueue = new DeadLetterQueue(this, 'DeadLetterQueue', {
      deadLetterOf: 'the agent-request rule target',
    });
    this.rule = new events.Rule(this, 'Rule', {
      eventBus: props.eventBus,
      description: 'Countersign: agent action requests start the approval workflow',
      eventPattern: {
        source: events.Match.prefix(AGENT_SOURCE_PREFIX),
        detailType: [DETAIL_TYPE.actionRequested],
        // Without an agent there is nobody to hold to the request; such events never start a workflow.
        detail: { agent: { id: events.Match.exists() } },
      },
      targets: [
        new targets.SfnStateMachine(props.stateMachine, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: props.retryAttempts ?? 24,
          maxEventAge: props.maxEventAge ?? Duration.hours(2),
        }),
      ],
    });
  }
}
