/**
 * The Macie parts of the stack: the findings rule on the default bus (DLQ, retries both for
 * delivery and for the handler, the alarm), the classification jobs' least-privilege permissions,
 * and the classify-before-approval wait loop in the state machine; none of the loop without
 * `countersign:macie`.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV, MACIE_JOB_TAG_KEY } from '../../lambdas/handlers/environment-names.ts';
import { CLASSIFICATION_JOBS_HANDLER_ENTRY } from '../../lib/classification-jobs.ts';
import { ENTRY_METADATA_KEY } from '../../lib/handler-function.ts';
import { CLASSIFICATION_FINDINGS_HANDLER_ENTRY } from '../../lib/macie-findings-rule.ts';
import { WORKFLOW_STATES as S } from '../../lib/workflow-states.ts';
import { type BuiltStack, buildCountersignStack, TEST_MACIE_CONTEXT } from './build-stack.ts';
import { renderDefinitionString } from './synth-definition.ts';

// biome-ignore lint/suspicious/noExplicitAny: template JSON is navigated freely; the assertions check its shape.
type Json = any;
type Resources = Record<
  string,
  { Type: string; Properties: Record<string, Json>; Metadata?: Record<string, Json> }
>;

const SLOW_SYNTH_MS = 120_000;

function resourcesOf(built: BuiltStack): Resources {
  return built.template.toJSON().Resources;
}

function definitionOf(built: BuiltStack): { States: Record<string, Json> } {
  const resources = resourcesOf(built);
  const machine = Object.values(resources).find((r) => r.Type === 'AWS::StepFunctions::StateMachine')!;
  return renderDefinitionString(machine.Properties.DefinitionString, resources) as {
    States: Record<string, Json>;
  };
}

function functionIdOf(resources: Resources, entry: string): string {
  return Object.entries(resources).find(
    ([, r]) => r.Type === 'AWS::Lambda::Function' && r.Metadata?.[ENTRY_METADATA_KEY] === entry,
  )![0];
}

/** Every statement of the identity policies attached to a function's role. */
function roleStatements(resources: Resources, functionId: string): Json[] {
  const roleId = resources[functionId]!.Properties.Role['Fn::GetAtt'][0];
  return Object.values(resources)
    .filter(
      (r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((role: Json) => role.Ref === roleId),
    )
    .flatMap((r) => r.Properties.PolicyDocument.Statement);
}

const actionsOf = (statement: Json): string[] => [statement.Action].flat();

let withMacie: BuiltStack;
let withoutMacie: BuiltStack;

beforeAll(() => {
  withMacie = buildCountersignStack({
    ...TEST_MACIE_CONTEXT,
    'countersign:classificationTimeoutSeconds': 600,
  });
  withoutMacie = buildCountersignStack();
}, SLOW_SYNTH_MS);

describe('the Macie findings rule', () => {
  it("is on the account's default bus, for Macie Finding events only, with retries and a DLQ", () => {
    for (const built of [withMacie, withoutMacie]) {
      const resources = resourcesOf(built);
      const handlerId = functionIdOf(resources, CLASSIFICATION_FINDINGS_HANDLER_ENTRY);
      const [ruleId, rule] = Object.entries(resources).find(
        ([, r]) => r.Type === 'AWS::Events::Rule' && r.Properties.EventPattern?.source?.[0] === 'aws.macie',
      )!;
      expect(ruleId).toMatch(/^MacieFindings/);
      // No EventBusName: the default bus, where Macie publishes.
      expect(rule.Properties.EventBusName).toBeUndefined();
      expect(rule.Properties.EventPattern).toEqual({
        source: ['aws.macie'],
        'detail-type': ['Macie Finding'],
      });
      const [target] = rule.Properties.Targets;
      expect(target.Arn).toEqual({ 'Fn::GetAtt': [handlerId, 'Arn'] });
      const queueId = target.DeadLetterConfig.Arn['Fn::GetAtt'][0];
      expect(resources[queueId]!.Properties).toMatchObject({
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 1209600,
      });
      expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 24, MaximumEventAgeInSeconds: 21600 });
      // The handler's own failures (a malformed finding) are retried by Lambda, then dead-lettered too.
      built.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: handlerId },
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: 21600,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
      });
      built.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
      });
      built.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: queueId }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Action: 'sqs:SendMessage',
            }),
          ]),
        },
      });
      // It writes classifications and nothing Macie: it only receives findings.
      const actions = roleStatements(resources, handlerId).flatMap(actionsOf);
      expect(actions).toContain('dynamodb:PutItem');
      expect(actions.some((action) => action.startsWith('macie2:'))).toBe(false);
    }
  });
});

describe('the classification jobs', () => {
  it('exist only with countersign:macie', () => {
    const entries = (built: BuiltStack) =>
      Object.values(resourcesOf(built)).map((r) => r.Metadata?.[ENTRY_METADATA_KEY]);
    expect(entries(withMacie)).toContain(CLASSIFICATION_JOBS_HANDLER_ENTRY);
    expect(entries(withoutMacie)).not.toContain(CLASSIFICATION_JOBS_HANDLER_ENTRY);
    const everyAction = (built: BuiltStack) =>
      Object.values(resourcesOf(built))
        .filter((r) => r.Type === 'AWS::IAM::Policy')
        .flatMap((r) => r.Properties.PolicyDocument.Statement.flatMap(actionsOf));
    expect(everyAction(withoutMacie).some((action: string) => action.startsWith('macie2:'))).toBe(false);
  });

  it('may create only jobs tagged with the stack and describe only those, on job ARNs of this account', () => {
    const resources = resourcesOf(withMacie);
    const functionId = functionIdOf(resources, CLASSIFICATION_JOBS_HANDLER_ENTRY);
    const macie = roleStatements(resources, functionId).filter((s) =>
      actionsOf(s).some((a) => a.startsWith('macie2:')),
    );
    const jobArn = {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':macie2:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':classification-job/*',
        ],
      ],
    };
    expect(macie).toEqual([
      {
        Sid: 'CreateTaggedClassificationJobs',
        Effect: 'Allow',
        Action: 'macie2:CreateClassificationJob',
        Resource: jobArn,
        Condition: {
          StringEquals: { [`aws:RequestTag/${MACIE_JOB_TAG_KEY}`]: 'Countersign' },
          'ForAllValues:StringEquals': { 'aws:TagKeys': [MACIE_JOB_TAG_KEY] },
        },
      },
      {
        Sid: 'DescribeOwnClassificationJobs',
        Effect: 'Allow',
        Action: 'macie2:DescribeClassificationJob',
        Resource: jobArn,
        Condition: { StringEquals: { [`aws:ResourceTag/${MACIE_JOB_TAG_KEY}`]: 'Countersign' } },
      },
      // No resource type exists for these two in Macie's service authorization reference.
      {
        Sid: 'ReadJobFindings',
        Effect: 'Allow',
        Action: ['macie2:ListFindings', 'macie2:GetFindings'],
        Resource: '*',
      },
    ]);
    expect(resources[functionId]!.Properties.Environment.Variables).toMatchObject({
      [ENV.classificationTimeoutSeconds]: '600',
      [ENV.classificationPollSeconds]: '30',
      [ENV.macieBucketOwnerAccountId]: { Ref: 'AWS::AccountId' },
      [ENV.macieJobTag]: 'Countersign',
    });
  });

  it(
    'with a job role may only assume it',
    () => {
      const roleArn = 'arn:aws:iam::210987654321:role/countersign-macie-jobs';
      const built = buildCountersignStack({ ...TEST_MACIE_CONTEXT, 'countersign:macieJobRoleArn': roleArn });
      const resources = resourcesOf(built);
      const functionId = functionIdOf(resources, CLASSIFICATION_JOBS_HANDLER_ENTRY);
      const statements = roleStatements(resources, functionId);
      expect(statements.filter((s) => actionsOf(s).some((a) => a.startsWith('macie2:')))).toEqual([]);
      expect(statements).toContainEqual({ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: roleArn });
      expect(resources[functionId]!.Properties.Environment.Variables[ENV.macieJobRoleArn]).toBe(roleArn);
    },
    SLOW_SYNTH_MS,
  );

  it('refuse settings that cannot work', () => {
    expect(() =>
      buildCountersignStack({ 'countersign:macieJobRoleArn': 'arn:aws:iam::210987654321:role/x' }),
    ).toThrow(/countersign:macieJobRoleArn: has no effect without countersign:macie/);
    expect(() =>
      buildCountersignStack({
        ...TEST_MACIE_CONTEXT,
        'countersign:classificationTimeoutSeconds': 10,
        'countersign:classificationPollSeconds': 20,
      }),
    ).toThrow(/countersign:classificationPollSeconds: must not exceed/);
    expect(() =>
      buildCountersignStack({ ...TEST_MACIE_CONTEXT, 'countersign:macieJobRoleArn': 'arn:aws:s3:::x' }),
    ).toThrow(/must be an IAM role ARN/);
  });
});

describe('the classify-before-approval wait loop', () => {
  it('is asked for by Evaluate, starts a job, waits, polls until the scan is no longer WAITING, then evaluates', () => {
    const { States } = definitionOf(withMacie);
    const resources = resourcesOf(withMacie);
    const evaluateFn = `arn:aws:lambda:us-east-1:123456789012:function:${functionIdOf(resources, 'lambdas/handlers/evaluate.ts')}`;
    const jobsFn = `arn:aws:lambda:us-east-1:123456789012:function:${functionIdOf(resources, CLASSIFICATION_JOBS_HANDLER_ENTRY)}`;
    // Evaluate answers `{requestId, classify}` when the object must be classified first; its
    // failures (planning included) are evaluation failures, never an unclassified evaluation.
    expect(States[S.evaluate]).toMatchObject({
      Resource: evaluateFn,
      Parameters: { 'state.$': '$', classifyFirst: true },
      ResultPath: '$.evaluation',
      Next: S.route,
    });
    expect(States[S.route].Choices[0]).toEqual({
      Variable: '$.evaluation.classify',
      IsPresent: true,
      Next: S.startClassificationJob,
    });
    expect(States[S.startClassificationJob]).toMatchObject({
      Resource: jobsFn,
      Parameters: { 'requestId.$': '$.evaluation.requestId', 'target.$': '$.evaluation.classify' },
      ResultPath: '$.scan',
      Next: S.waitForClassification,
    });
    expect(States[S.waitForClassification]).toEqual({
      Type: 'Wait',
      SecondsPath: '$.scan.pollSeconds',
      Next: S.checkClassification,
    });
    expect(States[S.checkClassification]).toMatchObject({
      Resource: jobsFn,
      Parameters: { 'scan.$': '$.scan' },
      ResultPath: '$.scan',
      Next: S.classificationDone,
      Catch: [{ ErrorEquals: ['States.ALL'], Next: S.classificationFailed }],
    });
    expect(States[S.classificationDone]).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.scan.state', StringEquals: 'WAITING', Next: S.waitForClassification }],
      Default: S.evaluate,
    });
    // Any failure on the way is evaluated as a FAILED classification, with the error's name only.
    expect(States[S.classificationFailed]).toEqual({
      Type: 'Pass',
      Parameters: {
        state: 'FAILED',
        'reason.$': "States.Format('the classification failed ({})', $.error.Error)",
      },
      ResultPath: '$.scan',
      Next: S.evaluate,
    });
  });

  it('is absent without countersign:macie: Evaluate is not asked to classify first', () => {
    const { States } = definitionOf(withoutMacie);
    expect(States[S.evaluate].Parameters.classifyFirst).toBe(false);
    expect(States[S.startClassificationJob]).toBeUndefined();
    expect(JSON.stringify(States[S.route])).not.toContain('classify');
  });
});
