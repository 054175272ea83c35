import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { AGENT_SOURCE_PREFIX, AgentId, DECISION_SOURCE } from '../lambdas/domain/schemas.ts';

export interface CountersignEventBusProps {
  /**
   * Name of the bus agents put their requests on.
   * @default 'countersign'
   */
  readonly busName?: string;
}

/** The only `source` an agent may use: `countersign.agent.<agentId>`. */
export function agentSource(agentId: string): string {
  return `${AGENT_SOURCE_PREFIX}${AgentId.parse(agentId)}`;
}

/**
 * Conditions true only when every entry of a PutEvents call carries exactly `source`.
 * `events:source` holds one value per entry, so the set operator must be ForAllValues; ForAllValues
 * is also true for an empty set, hence the Null check that the key is present at all.
 */
function onlySource(source: string): Record<string, Record<string, unknown>> {
  return {
    'ForAllValues:StringEquals': { 'events:source': [source] },
    Null: { 'events:source': 'false' },
  };
}

/**
 * The Countersign event bus. Agents put `Action Requested` events here and read `Action Decided`
 * events back. Its resource policy pins each agent principal to its own source, so one agent can
 * neither ask on behalf of another nor forge a decision.
 */
export class CountersignEventBus extends Construct {
  readonly bus: events.EventBus;

  constructor(scope: Construct, id: string, props: CountersignEventBusProps = {}) {
    super(scope, id);
    this.bus = new events.EventBus(this, 'Bus', {
      eventBusName: props.busName ?? 'countersign',
      description: 'Countersign: agent action requests in, decisions out',
    });
  }

  get eventBusName(): string {
    return this.bus.eventBusName;
  }

  get eventBusArn(): string {
    return this.bus.eventBusArn;
  }

  /**
   * Lets `principal` put events on this bus only with `source` = `countersign.agent.<agentId>`.
   * The Deny also binds a principal whose own IAM policy allows PutEvents more broadly.
   */
  grantRequest(principal: iam.IPrincipal, agentId: string): void {
    const source = agentSource(agentId);
    const sidSuffix = agentId.replace(/[^A-Za-z0-9]/g, '');
    this.bus.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: `AgentPutsOwnSource${sidSuffix}`,
        effect: iam.Effect.ALLOW,
        principals: [principal],
        actions: ['events:PutEvents'],
        resources: [this.bus.eventBusArn],
        conditions: onlySource(source),
      }),
    );
    this.bus.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: `AgentNeverPutsOtherSource${sidSuffix}`,
        effect: iam.Effect.DENY,
        principals: [principal],
        actions: ['events:PutEvents'],
        resources: [this.bus.eventBusArn],
        conditions: { 'ForAnyValue:StringNotEquals': { 'events:source': [source] } },
      }),
    );
  }

  /** Lets `grantee` put decision events (`source` = `countersign`) on this bus, and nothing else. */
  grantPublishDecisions(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['events:PutEvents'],
        resources: [this.bus.eventBusArn],
        conditions: onlySource(DECISION_SOURCE),
      }),
    );
  }
}
