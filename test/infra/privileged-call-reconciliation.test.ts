import { type CfnElement, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { DECISION_SOURCE } from '../../lambdas/domain/schemas.ts';
import { ENV } from '../../lambdas/handlers/environment-names.ts';
import type { CountersignStack } from '../../lib/countersign-stack.ts';
import {
  ALL_MANAGEMENT_EVENTS_STATE,
  RECONCILE_HANDLER_ENTRY,
} from '../../lib/privileged-call-reconciliation.ts';
import { buildCountersignStack, TEST_AGENT, TEST_CHAT_CONTEXT } from './build-stack.ts';

const SLOW_SYNTH_MS = 120_000;

function logicalId(stack: CountersignStack, element: unknown): string {
  return Stack.of(stack).getLogicalId(element as CfnElement);
}

function reconcileFunction(template: Template): { Properties: Record<string, unknown> } {
  const functions = template.findResources('AWS::Lambda::Function', {
    Metadata: { 'countersign:entry': RECONCILE_HANDLER_ENTRY },
  });
  expect(Object.keys(functions)).toHaveLength(1);
  return Object.values(functions)[0] as { Properties: Record<string, unknown> };
}

function callRules(template: Template): Record<string, { Properties: Record<string, unknown> }> {
  return template.findResources('AWS::Events::Rule', {
    Properties: { EventPattern: { 'detail-type': ['AWS API Call via CloudTrail'] } },
  }) as Record<string, { Properties: Record<string, unknown> }>;
}

describe('PrivilegedCallReconciliation in the stack, with the default list', () => {
  let template: Template;
  let stack: CountersignStack;

  beforeAll(() => {
    ({ template, stack } = buildCountersignStack(TEST_CHAT_CONTEXT));
  }, SLOW_SYNTH_MS);

  it('catches the listed CloudTrail calls on the default bus, every management event included for GetSecretValue', () => {
    const rules = Object.values(callRules(template));
    expect(rules).toHaveLength(1);
    const rule = rules[0]!.Properties;
    // The account's default bus, where CloudTrail delivers.
    expect(rule.EventBusName).toBe('default');
    expect(rule.State).toBe(ALL_MANAGEMENT_EVENTS_STATE);
    const pattern = rule.EventPattern as { source: string[]; detail: { $or: unknown[] } };
    expect(pattern.source.sort()).toEqual([
      'aws.iam',
      'aws.kms',
      'aws.organizations',
      'aws.s3',
      'aws.secretsmanager',
    ]);
    expect(pattern.detail.$or).toContainEqual({
      eventSource: ['s3.amazonaws.com'],
      eventName: ['PutBucketPolicy', 'DeleteBucketPolicy', 'DeleteBucketPublicAccessBlock', 'PutBucketAcl'],
    });
    expect(pattern.detail.$or).toContainEqual({
      eventSource: ['secretsmanager.amazonaws.com'],
      eventName: ['GetSecretValue'],
    });
  });

  it('delivers calls and approving decisions to the handler with retries and a dead-letter queue', () => {
    const fnId = logicalId(stack, stack.reconciliation.handler.function.node.defaultChild);
    const dlqId = logicalId(stack, stack.reconciliation.deadLetterQueue.node.defaultChild);
    const target = Match.objectLike({
      Arn: { 'Fn::GetAtt': [fnId, 'Arn'] },
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlqId, 'Arn'] } },
      RetryPolicy: { MaximumRetryAttempts: 24, MaximumEventAgeInSeconds: 7200 },
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { 'detail-type': ['AWS API Call via CloudTrail'] },
      Targets: [target],
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: logicalId(stack, stack.eventBus.bus.node.defaultChild) },
      EventPattern: {
        source: [DECISION_SOURCE],
        'detail-type': ['Action Decided'],
        detail: { decision: ['APPROVED', 'AUTO_APPROVED', 'BREAK_GLASS'] },
      },
      Targets: [target],
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: fnId },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [dlqId, 'Arn'] } } },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp('could not be reconciled are waiting in their DLQ'),
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
    });
  });

  it('gives the handler the agents’ principals, the policies, the directory and the chat settings', () => {
    const variables = (
      reconcileFunction(template).Properties.Environment as { Variables: Record<string, unknown> }
    ).Variables;
    expect(JSON.parse(variables[ENV.agentPrincipals] as string)).toEqual([TEST_AGENT]);
    expect(variables[ENV.policyDir]).toBe('/var/task/policies');
    expect(variables[ENV.directoryJson]).toEqual(expect.any(String));
    expect(variables[ENV.slackChannelId]).toBe(TEST_CHAT_CONTEXT['countersign:slackChannelId']);
    expect(variables[ENV.teamsSecretArn]).toBeDefined();
  });

  it('lets the handler use the table and read the chat secrets, nothing on the bus or the signing key', () => {
    const fn = reconcileFunction(template).Properties as { Role: { 'Fn::GetAtt': [string, string] } };
    const roleId = fn.Role['Fn::GetAtt'][0];
    const policies = Object.values(
      template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } }),
    ) as { Properties: { PolicyDocument: { Statement: { Action: string | string[] }[] } } }[];
    const actions = policies
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
      .flatMap((statement) => [statement.Action].flat());
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'secretsmanager:GetSecretValue']));
    expect(actions.filter((action) => /^(events|kms:Sign|states):/.test(action))).toEqual([]);
    expect(actions.some((action) => action === 'kms:Sign' || action.startsWith('events:'))).toBe(false);
  });
});

describe('PrivilegedCallReconciliation with a list of change events only', () => {
  it(
    'leaves the rule ENABLED (read-only events are not needed) and watches only those calls',
    () => {
      const { template } = buildCountersignStack({
        'countersign:privilegedActions': '["s3:PutBucketPolicy"]',
      });
      const rule = Object.values(callRules(template))[0]!.Properties;
      expect(rule.State).toBe('ENABLED');
      expect(rule.EventPattern).toEqual({
        source: ['aws.s3'],
        'detail-type': ['AWS API Call via CloudTrail'],
        detail: { eventSource: ['s3.amazonaws.com'], eventName: ['PutBucketPolicy'] },
      });
    },
    SLOW_SYNTH_MS,
  );

  it(
    'refuses a malformed list at synth with the key named',
    () => {
      expect(() => buildCountersignStack({ 'countersign:privilegedActions': '["s3"]' })).toThrow(
        /countersign:privilegedActions\.0/,
      );
    },
    SLOW_SYNTH_MS,
  );
});
