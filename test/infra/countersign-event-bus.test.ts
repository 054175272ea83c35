/**
 * The bus policy, proven by evaluating the synthesized statements as IAM does (test/support/iam-policy.ts)
 * for the callers that matter: the decision publisher, each agent, an unregistered agent source, and
 * any other role of the account whose own IAM policy allows `events:PutEvents` on everything.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUS_POLICY_SIDS, CountersignEventBus } from '../../lib/countersign-event-bus.ts';
import { WORKFLOW_HANDLER_ENTRIES } from '../../lib/countersign-stack.ts';
import { FAST_DECISION_ANNOUNCER_HANDLER_ENTRY } from '../../lib/fast-decision-announcer.ts';
import { ENTRY_METADATA_KEY } from '../../lib/handler-function.ts';
import { type AuthorizationRequest, authorize, type PolicyStatement } from '../support/iam-policy.ts';
import { buildCountersignStack, TEST_AGENT } from './build-stack.ts';
import { ACCOUNT, BUS_ARN, concrete, identityOf, type Resources, roleArnOf } from './concrete-template.ts';

const SLOW_SYNTH_MS = 120_000;
const OTHER_ROLE = `arn:aws:iam::${ACCOUNT}:role/ci-deployer`;
/** What a broadly privileged role of the account has: its own policy allows any PutEvents. */
const PUT_ANYTHING: PolicyStatement = { Effect: 'Allow', Action: 'events:*', Resource: '*' };

interface Publisher {
  readonly role: string;
  readonly policy: PolicyStatement[];
}

interface Synthesized {
  readonly busPolicy: PolicyStatement[];
  /** The decision publishers: the workflow's publish step, and the fast decision path's follow-up. */
  readonly publishers: readonly Publisher[];
}

function synthesize(context: Record<string, unknown> = {}): Synthesized {
  const resources = buildCountersignStack(context).template.toJSON().Resources as Resources;
  const busPolicy = Object.values(resources)
    .filter((resource) => resource.Type === 'AWS::Events::EventBusPolicy')
    .map((resource) => concrete(resource.Properties.Statement, resources) as PolicyStatement);
  const publisherOf = (entry: string): Publisher => {
    const fn = Object.values(resources).find(
      (resource) =>
        resource.Type === 'AWS::Lambda::Function' && resource.Metadata?.[ENTRY_METADATA_KEY] === entry,
    )!;
    const roleId = fn.Properties.Role['Fn::GetAtt'][0] as string;
    return { role: roleArnOf(roleId), policy: identityOf(resources, roleId) };
  };
  return {
    busPolicy,
    publishers: [WORKFLOW_HANDLER_ENTRIES.finish, FAST_DECISION_ANNOUNCER_HANDLER_ENTRY].map(publisherOf),
  };
}

function putEvents(principalArn: string, sources: string[]): AuthorizationRequest {
  return {
    principalArn,
    action: 'events:PutEvents',
    resource: BUS_ARN,
    context: { 'events:source': sources },
  };
}

const sid = (name: string) => `cdk-${name}`;
const AGENT_SOURCE = `countersign.agent.${TEST_AGENT.id}`;

describe('the bus policy with a registered agent', () => {
  let synthesized: Synthesized;
  beforeAll(() => {
    synthesized = synthesize();
  }, SLOW_SYNTH_MS);

  const asAnyRole = (principalArn: string, sources: string[]) =>
    authorize(putEvents(principalArn, sources), {
      identity: [PUT_ANYTHING],
      resource: synthesized.busPolicy,
    });

  it('denies a forged decision to any role but the publisher, whatever its own policy allows', () => {
    expect(asAnyRole(OTHER_ROLE, ['countersign'])).toEqual({
      verdict: 'ExplicitDeny',
      denyingSids: [sid(BUS_POLICY_SIDS.decisionsOnlyFromPublishers)],
    });
    // Hidden in a batch beside a harmless entry, too.
    expect(asAnyRole(OTHER_ROLE, ['acme.orders', 'countersign']).verdict).toBe('ExplicitDeny');
    // The agent itself cannot decide its own request either.
    expect(asAnyRole(TEST_AGENT.principalArn, ['countersign']).verdict).toBe('ExplicitDeny');
  });

  it('lets each publisher (the publish step, the fast path’s follow-up) put decisions, and nothing else', () => {
    expect(synthesized.publishers).toHaveLength(2);
    for (const publisher of synthesized.publishers) {
      const asPublisher = (sources: string[]) =>
        authorize(putEvents(publisher.role, sources), {
          identity: publisher.policy,
          resource: synthesized.busPolicy,
        });
      expect(asPublisher(['countersign'])).toEqual({ verdict: 'Allowed', denyingSids: [] });
      expect(asPublisher([AGENT_SOURCE]).verdict).toBe('ExplicitDeny');
      expect(asPublisher(['acme.orders']).verdict).toBe('ImplicitDeny');
    }
  });

  it('lets the agent put its own source, and only that', () => {
    const asAgent = (sources: string[]) =>
      authorize(putEvents(TEST_AGENT.principalArn, sources), {
        identity: [],
        resource: synthesized.busPolicy,
      });
    expect(asAgent([AGENT_SOURCE, AGENT_SOURCE])).toEqual({ verdict: 'Allowed', denyingSids: [] });
    expect(asAgent(['countersign.agent.report-bot']).verdict).toBe('ExplicitDeny');
    expect(asAgent([AGENT_SOURCE, 'acme.orders']).verdict).toBe('ExplicitDeny');
  });

  it('denies the agent’s source to every other principal', () => {
    expect(asAnyRole(OTHER_ROLE, [AGENT_SOURCE])).toEqual({
      verdict: 'ExplicitDeny',
      denyingSids: [
        sid(BUS_POLICY_SIDS.agentSourceOnlyFromItsPrincipal(TEST_AGENT.id)),
        sid(BUS_POLICY_SIDS.noUnregisteredAgentSources),
      ],
    });
  });

  it('denies any agent source nobody registered, to everyone', () => {
    expect(asAnyRole(OTHER_ROLE, ['countersign.agent.shadow-bot'])).toEqual({
      verdict: 'ExplicitDeny',
      denyingSids: [sid(BUS_POLICY_SIDS.noUnregisteredAgentSources)],
    });
    expect(asAnyRole(TEST_AGENT.principalArn, ['countersign.agent.shadow-bot']).verdict).toBe('ExplicitDeny');
  });

  it('leaves the account’s other uses of the bus alone', () => {
    expect(asAnyRole(OTHER_ROLE, ['acme.orders']).verdict).toBe('Allowed');
  });
});

describe('the bus policy with no agent', () => {
  let synthesized: Synthesized;
  beforeAll(() => {
    synthesized = synthesize({
      'countersign:agents': [],
      'countersign:directory': { users: [], agents: [] },
    });
  }, SLOW_SYNTH_MS);

  it('is present: decisions only from the publishers, and no agent source from anyone', () => {
    const policies = { identity: [PUT_ANYTHING], resource: synthesized.busPolicy };
    expect(synthesized.busPolicy.map((statement) => statement.Sid).sort()).toEqual(
      [
        sid(BUS_POLICY_SIDS.decisionsOnlyFromPublishers),
        sid(BUS_POLICY_SIDS.noUnregisteredAgentSources),
      ].sort(),
    );
    expect(authorize(putEvents(OTHER_ROLE, ['countersign']), policies).verdict).toBe('ExplicitDeny');
    expect(authorize(putEvents(OTHER_ROLE, [AGENT_SOURCE]), policies).verdict).toBe('ExplicitDeny');
    for (const publisher of synthesized.publishers) {
      expect(
        authorize(putEvents(publisher.role, ['countersign']), {
          identity: publisher.policy,
          resource: synthesized.busPolicy,
        }).verdict,
      ).toBe('Allowed');
    }
  });
});

describe('CountersignEventBus', () => {
  it('lists every decision publisher granted, however late (a fast path or break-glass publisher)', () => {
    const stack = new Stack();
    const bus = new CountersignEventBus(stack, 'Bus', { agents: [TEST_AGENT] });
    const publisher = (id: string) =>
      new iam.Role(stack, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    bus.grantPublishDecisions(publisher('Workflow'));
    bus.grantPublishDecisions(publisher('FastPath'));
    const resources = Template.fromStack(stack).toJSON().Resources as Resources;
    const decisions = Object.values(resources).find(
      (resource) =>
        resource.Type === 'AWS::Events::EventBusPolicy' &&
        resource.Properties.Statement.Sid === sid(BUS_POLICY_SIDS.decisionsOnlyFromPublishers),
    )!;
    expect(decisions.Properties.Statement.Condition.ArnNotEquals['aws:PrincipalArn']).toEqual([
      { 'Fn::GetAtt': [expect.stringMatching(/^Workflow/), 'Arn'] },
      { 'Fn::GetAtt': [expect.stringMatching(/^FastPath/), 'Arn'] },
    ]);
  });

  it('refuses to synthesize without a decision publisher, and refuses a malformed agent id', () => {
    const stack = new Stack();
    new CountersignEventBus(stack, 'Bus');
    expect(() => Template.fromStack(stack)).toThrow(/the bus has no decision publisher/);
    expect(
      () =>
        new CountersignEventBus(new Stack(), 'Bus', {
          agents: [{ id: 'Bad Agent', principalArn: 'arn:aws:iam::1:role/x' }],
        }),
    ).toThrow();
  });
});
