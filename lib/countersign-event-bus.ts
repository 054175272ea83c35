import { Lazy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { AGENT_SOURCE_PREFIX, AgentId, DECISION_SOURCE } from '../lambdas/domain/schemas.ts';

/** An agent allowed to ask on the bus, and the one IAM principal (role or user ARN) it runs as. */
export interface BusAgent {
  readonly id: string;
  readonly principalArn: string;
}

export interface CountersignEventBusProps {
  /**
   * Name of the bus agents put their requests on.
   * @default 'countersign'
   */
  readonly busName?: string;
  /**
   * The agents that may ask, each bound to its principal.
   * @default [] - no agent may put an agent source
   */
  readonly agents?: readonly BusAgent[];
}

/** The only `source` an agent may use: `countersign.agent.<agentId>`. */
export function agentSource(agentId: string): string {
  return `${AGENT_SOURCE_PREFIX}${AgentId.parse(agentId)}`;
}

/** Statement ids of the bus policy, which tests and operators read it by. */
export const BUS_POLICY_SIDS = {
  decisionsOnlyFromPublishers: 'DecisionsOnlyFromPublishers',
  noUnregisteredAgentSources: 'NoUnregisteredAgentSources',
  agentPutsOwnSource: (agentId: string) => `AgentPutsOwnSource${sidPart(agentId)}`,
  agentNeverPutsOtherSource: (agentId: string) => `AgentNeverPutsOtherSource${sidPart(agentId)}`,
  agentSourceOnlyFromItsPrincipal: (agentId: string) => `AgentSourceOnlyFromItsPrincipal${sidPart(agentId)}`,
} as const;

function sidPart(agentId: string): string {
  return agentId.replace(/[^A-Za-z0-9]/g, '');
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
 * events back. Within one account an identity policy alone allows `events:PutEvents`, so the bus
 * policy binds every Countersign source to its one principal with explicit Denies to everyone
 * (`Principal: *`), whatever their IAM policies allow:
 *  - `countersign` (decisions) only from the decision publishers (`grantPublishDecisions`);
 *  - `countersign.agent.<id>` only from that agent's principal, and that principal only with it;
 *  - any other `countersign.agent.*` source from nobody but a registered agent (which its own
 *    statements then pin to its source), so an unregistered agent source is refused outright.
 * The policy is present whatever the agent list, including none.
 */
export class CountersignEventBus extends Construct {
  readonly bus: events.EventBus;
  readonly #decisionPublishers: string[] = [];

  constructor(scope: Construct, id: string, props: CountersignEventBusProps = {}) {
    super(scope, id);
    this.bus = new events.EventBus(this, 'Bus', {
      eventBusName: props.busName ?? 'countersign',
      description: 'Countersign: agent action requests in, decisions out',
    });
    const agents = props.agents ?? [];
    for (const agent of agents) this.#bindAgent(agent);
    this.#denyToAll(BUS_POLICY_SIDS.decisionsOnlyFromPublishers, {
      'ForAnyValue:StringEquals': { 'events:source': [DECISION_SOURCE] },
      // Resolved at synth, so publishers granted after construction are in the list.
      ArnNotEquals: { 'aws:PrincipalArn': Lazy.list({ produce: () => this.#decisionPublishers }) },
    });
    this.#denyToAll(BUS_POLICY_SIDS.noUnregisteredAgentSources, {
      'ForAnyValue:StringLike': { 'events:source': [`${AGENT_SOURCE_PREFIX}*`] },
      // With no agent at all, nobody may put an agent source.
      ...(agents.length === 0
        ? {}
        : { ArnNotEquals: { 'aws:PrincipalArn': agents.map((agent) => agent.principalArn) } }),
    });
    this.node.addValidation({
      validate: () =>
        this.#decisionPublishers.length === 0
          ? ['the bus has no decision publisher: grantPublishDecisions must name the role that publishes']
          : [],
    });
  }

  get eventBusName(): string {
    return this.bus.eventBusName;
  }

  get eventBusArn(): string {
    return this.bus.eventBusArn;
  }

  /**
   * Lets `role` put decision events (`source` = `countersign`) on this bus, and nothing else, and
   * adds it to the bus policy's decision publishers (a later fast-path or break-glass publisher is
   * granted the same way). Everyone else is denied the decision source.
   */
  grantPublishDecisions(role: iam.IRole): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['events:PutEvents'],
        resources: [this.bus.eventBusArn],
        conditions: onlySource(DECISION_SOURCE),
      }),
    );
    this.#decisionPublishers.push(role.roleArn);
  }

  #denyToAll(sid: string, conditions: Record<string, Record<string, unknown>>): void {
    this.bus.addToResourcePolicy(
      new iam.PolicyStatement({
        sid,
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['events:PutEvents'],
        resources: [this.bus.eventBusArn],
        conditions,
      }),
    );
  }

  /**
   * The agent's principal may put only its own source (the Allow also serves a principal in another
   * account; the Deny binds one whose IAM policy allows more), and its source only from it.
   */
  #bindAgent(agent: BusAgent): void {
    const source = agentSource(agent.id);
    const principal = new iam.ArnPrincipal(agent.principalArn);
    this.bus.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: BUS_POLICY_SIDS.agentPutsOwnSource(agent.id),
        effect: iam.Effect.ALLOW,
        principals: [principal],
        actions: ['events:PutEvents'],
        resources: [this.bus.eventBusArn],
        conditions: onlySource(source),
      }),
    );
    this.bus.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: BUS_POLICY_SIDS.agentNeverPutsOtherSource(agent.id),
        effect: iam.Effect.DENY,
        principals: [principal],
        actions: ['events:PutEvents'],
        resources: [this.bus.eventBusArn],
        conditions: { 'ForAnyValue:StringNotEquals': { 'events:source': [source] } },
      }),
    );
    this.#denyToAll(BUS_POLICY_SIDS.agentSourceOnlyFromItsPrincipal(agent.id), {
      'ForAnyValue:StringEquals': { 'events:source': [source] },
      ArnNotEquals: { 'aws:PrincipalArn': [agent.principalArn] },
    });
  }
}
