import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { REMINDER_HANDLER_ENTRY, ReviewReminders } from '../../lib/review-reminders.ts';
import { buildCountersignStack } from './build-stack.ts';

function build(options: { interval?: Duration; nag?: boolean } = {}) {
  let reminders: ReviewReminders | undefined;
  const built = buildCountersignStack({}, (app, stack) => {
    reminders = new ReviewReminders(stack, 'TestReminders', {
      table: stack.table,
      stateMachine: stack.workflow.stateMachine,
      environment: { TABLE_NAME: stack.table.tableName, CONSOLE_URL: 'https://console.example.com' },
      logEncryptionKey: new kms.Key(stack, 'RemindersKey', { enableKeyRotation: true }),
      ...(options.interval === undefined ? {} : { interval: options.interval }),
    });
    if (options.nag === true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  });
  return { ...built, reminders: reminders! };
}

function functionLogicalId(reminders: ReviewReminders): string {
  return Stack.of(reminders).getLogicalId(reminders.handler.function.node.defaultChild as CfnElement);
}

function reminderFunction(template: Template): Record<string, unknown> {
  const functions = template.findResources('AWS::Lambda::Function', {
    Metadata: { 'countersign:entry': REMINDER_HANDLER_ENTRY },
  });
  expect(Object.keys(functions)).toHaveLength(1);
  return Object.values(functions)[0] as Record<string, unknown>;
}

describe('ReviewReminders', () => {
  let template: Template;
  let reminders: ReviewReminders;

  beforeAll(() => {
    ({ template, reminders } = build());
  }, 120_000);

  it('runs the reminder handler every five minutes by default, with retries for a missed run', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [functionLogicalId(reminders), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 },
        }),
      ],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
    });
  });

  it('looks back over three periods, so a failed run is made up by the next', () => {
    const fn = reminderFunction(template) as {
      Properties: { Environment: { Variables: Record<string, unknown> } };
    };
    expect(fn.Properties.Environment.Variables).toMatchObject({
      REMINDER_LOOKBACK_SECONDS: '900',
      CONSOLE_URL: 'https://console.example.com',
    });
  });

  it('follows a configured interval', () => {
    const { template: hourly } = build({ interval: Duration.hours(1) });
    hourly.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 hour)' });
    const fn = reminderFunction(hourly) as {
      Properties: { Environment: { Variables: Record<string, unknown> } };
    };
    expect(fn.Properties.Environment.Variables.REMINDER_LOOKBACK_SECONDS).toBe('10800');
  }, 120_000);

  it('may read and write the table (requests, reminder marks), resume the workflow the sweep decides, and nothing else', () => {
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: Match.stringLikeRegexp('TestRemindersHandlerRole') }] },
    });
    const text = JSON.stringify(policies);
    expect(text).toContain('dynamodb:Query');
    expect(text).toContain('dynamodb:PutItem');
    expect(text).not.toContain('events:PutEvents');
    const statesStatements = Object.values(policies)
      .flatMap(
        (policy) =>
          (
            policy as {
              Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } };
            }
          ).Properties.PolicyDocument.Statement,
      )
      .filter((statement) => JSON.stringify(statement.Action).includes('states:'));
    expect(statesStatements).toHaveLength(1);
    expect(statesStatements[0]!.Action).toEqual(['states:SendTaskSuccess', 'states:SendTaskFailure']);
    expect(JSON.stringify(statesStatements[0]!.Resource)).toContain('ApprovalWorkflow');
  });

  it('passes cdk-nag AwsSolutions', () => {
    const { app } = build({ nag: true });
    const assembly = app.synth();
    const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations?: { ruleName: string }[] }[];
    };
    expect(report.pluginReports.flatMap((plugin) => plugin.violations ?? [])).toEqual([]);
  }, 120_000);
});
