import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHAT_HANDLER_ENTRIES, ChatIntegrations } from '../../lib/chat-integrations.ts';
import { buildCountersignStack } from './build-stack.ts';

const JWT_CONTEXT = {
  'countersign:jwtIssuer': 'https://issuer.example.com',
  'countersign:jwtAudience': 'countersign',
};

function build(withNag: boolean) {
  let chat: ChatIntegrations | undefined;
  const built = buildCountersignStack(JWT_CONTEXT, (app, stack) => {
    chat = new ChatIntegrations(stack, 'Chat', {
      httpApi: stack.httpApi!,
      table: stack.table,
      stateMachine: stack.workflow.stateMachine,
      encryptionKey: new kms.Key(stack, 'ChatKey', { enableKeyRotation: true }),
      environment: { TABLE_NAME: stack.table.tableName, CONSOLE_URL: 'https://console.example.com' },
      slack: { channelId: 'C0COUNTERSIGN' },
      teams: {
        conversationId: '19:approvals@thread.tacv2',
        serviceUrl: 'https://smba.trafficmanager.net/emea/',
      },
    });
    if (withNag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  });
  return { ...built, chat: chat! };
}

describe('ChatIntegrations', () => {
  let template: Template;
  let chat: ChatIntegrations;

  beforeAll(() => {
    ({ template, chat } = build(false));
  }, 120_000);

  it('adds the Slack and Teams routes without an API Gateway authorizer', () => {
    for (const routeKey of ['POST /slack/interactions', 'POST /teams/messages']) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: routeKey,
        AuthorizationType: 'NONE',
      });
    }
  });

  it('keeps credentials in KMS-encrypted secrets, with only their ARNs in the environment', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 3);
    template.allResourcesProperties('AWS::SecretsManager::Secret', { KmsKeyId: Match.anyValue() });
    const functions = template.findResources('AWS::Lambda::Function', {
      Metadata: { 'countersign:entry': Match.stringLikeRegexp('(slack-interactions|teams-messages)') },
    });
    expect(Object.keys(functions)).toHaveLength(2);
    for (const fn of Object.values(functions)) {
      const variables = (fn as { Properties: { Environment: { Variables: Record<string, unknown> } } })
        .Properties.Environment.Variables;
      expect(variables).toMatchObject({
        SLACK_SECRET_ARN: { Ref: expect.stringMatching(/^ChatSlackCredentials/) },
        TEAMS_SECRET_ARN: { Ref: expect.stringMatching(/^ChatTeamsCredentials/) },
        SLACK_CHANNEL_ID: 'C0COUNTERSIGN',
        TEAMS_CONVERSATION_ID: '19:approvals@thread.tacv2',
      });
      expect(JSON.stringify(variables)).not.toMatch(/xoxb-|signingSecret|appPassword/);
    }
    expect(chat.notifierEnvironment).toHaveProperty('SLACK_SECRET_ARN');
  });

  it('lets the Slack handler invoke only itself, and both resume only the approval workflow', () => {
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(policies).toContain('lambda:InvokeFunction');
    expect(policies).toContain('states:SendTaskSuccess');
    expect(policies).toContain('secretsmanager:GetSecretValue');
    expect(CHAT_HANDLER_ENTRIES.slack).toBe('lambdas/handlers/slack-interactions.ts');
  });

  it('seals Slack vote jobs with a generated key only the Slack function may read', () => {
    const [keyId, key] = Object.entries(template.findResources('AWS::SecretsManager::Secret')).find(([id]) =>
      id.startsWith('ChatSlackVoteJobKey'),
    )!;
    expect((key as { Properties: Record<string, unknown> }).Properties).toMatchObject({
      GenerateSecretString: { GenerateStringKey: 'key', PasswordLength: 64, SecretStringTemplate: '{}' },
      KmsKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^ChatKey/), 'Arn'] },
    });
    const slack = Object.values(
      template.findResources('AWS::Lambda::Function', {
        Metadata: { 'countersign:entry': CHAT_HANDLER_ENTRIES.slack },
      }),
    )[0] as {
      Properties: { Role: { 'Fn::GetAtt': [string] }; Environment: { Variables: Record<string, unknown> } };
    };
    expect(slack.Properties.Environment.Variables.SLACK_VOTE_JOB_KEY_SECRET_ARN).toEqual({ Ref: keyId });
    // Every statement naming the key belongs to a policy of the Slack role alone.
    const readers = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((policy) => JSON.stringify(policy).includes(`"Ref":"${keyId}"`))
      .flatMap((policy) =>
        (policy as { Properties: { Roles: { Ref: string }[] } }).Properties.Roles.map((role) => role.Ref),
      );
    expect(readers).toEqual([slack.Properties.Role['Fn::GetAtt'][0]]);
    const variables = Object.values(template.findResources('AWS::Lambda::Function')).map(
      (fn) =>
        (fn as { Properties: { Environment?: { Variables?: Record<string, unknown> } } }).Properties
          .Environment?.Variables ?? {},
    );
    expect(variables.filter((vars) => 'SLACK_VOTE_JOB_KEY_SECRET_ARN' in vars)).toHaveLength(1);
  });

  it('adds nothing when neither channel is configured', () => {
    const { template: bare } = buildCountersignStack(JWT_CONTEXT, (_app, stack) => {
      new ChatIntegrations(stack, 'Chat', {
        httpApi: stack.httpApi!,
        table: stack.table,
        stateMachine: stack.workflow.stateMachine,
        encryptionKey: new kms.Key(stack, 'ChatKey', { enableKeyRotation: true }),
        environment: {},
      });
    });
    bare.resourceCountIs('AWS::SecretsManager::Secret', 0);
  }, 120_000);

  it('passes cdk-nag AwsSolutions with every acknowledgement carrying a reason', () => {
    const { app } = build(true);
    const assembly = app.synth();
    const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations?: { ruleName: string }[] }[];
    };
    expect(report.pluginReports.flatMap((plugin) => plugin.violations ?? [])).toEqual([]);
  }, 120_000);
});
