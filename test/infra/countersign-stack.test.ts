import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { FinishStepError, WorkflowError } from '../../lambdas/domain/approval.ts';
import { cloudTrailAction, DEFAULT_PRIVILEGED_ACTIONS } from '../../lambdas/domain/privileged-actions.ts';
import { ENV, POWERTOOLS_ENV } from '../../lambdas/handlers/environment-names.ts';
import { EXECUTE_ACTION_HANDLER_ENTRY } from '../../lib/action-executor.ts';
import { AGENT_DECISIONS_HANDLER_ENTRY } from '../../lib/agent-decisions.ts';
import { AUDIT_ARCHIVER_HANDLER_ENTRY } from '../../lib/audit-archiver.ts';
import { AUDIT_DIGESTER_HANDLER_ENTRY } from '../../lib/audit-digester.ts';
import { CHAT_HANDLER_ENTRIES } from '../../lib/chat-integrations.ts';
import { CLASSIFICATION_JOBS_HANDLER_ENTRY } from '../../lib/classification-jobs.ts';
import {
  API_HANDLER_ENTRY,
  PUBLIC_KEYS_HANDLER_ENTRY,
  WORKFLOW_HANDLER_ENTRIES,
} from '../../lib/countersign-stack.ts';
import { FAST_DECISION_ANNOUNCER_HANDLER_ENTRY } from '../../lib/fast-decision-announcer.ts';
import { BUNDLED_POLICY_DIR, ENTRY_METADATA_KEY } from '../../lib/handler-function.ts';
import { CLASSIFICATION_FINDINGS_HANDLER_ENTRY } from '../../lib/macie-findings-rule.ts';
import { RECONCILE_HANDLER_ENTRY } from '../../lib/privileged-call-reconciliation.ts';
import { REMINDER_HANDLER_ENTRY } from '../../lib/review-reminders.ts';
import { WORKFLOW_ERRORS, WORKFLOW_STATES } from '../../lib/workflow-states.ts';
import { assetHashSerializer } from './asset-hash-serializer.ts';
import { type BuiltStack, buildCountersignStack, TEST_DIRECTORY, TEST_FULL_CONTEXT } from './build-stack.ts';
import { renderDefinitionString } from './synth-definition.ts';

// biome-ignore lint/suspicious/noExplicitAny: template JSON is navigated freely; the assertions check its shape.
type Json = any;
type Resources = Record<
  string,
  { Type: string; Properties: Record<string, Json>; Metadata?: Record<string, Json> }
>;
type Statement = {
  Effect: string;
  Action: string | string[];
  Condition?: Record<string, Json>;
  [key: string]: Json;
};

let built: BuiltStack;
let resources: Resources;
let definition: { States: Record<string, Json>; StartAt: string };

/** Synthesis is slow the first time (loading aws-cdk-lib); builds get a generous limit. */
const SLOW_SYNTH_MS = 120_000;

/** The whole stack: every optional part configured, so every test below sees all of it. */
beforeAll(() => {
  built = buildCountersignStack(TEST_FULL_CONTEXT);
  resources = built.template.toJSON().Resources;
  const [machine] = Object.values(resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine');
  definition = renderDefinitionString(machine!.Properties.DefinitionString, resources) as typeof definition;
}, SLOW_SYNTH_MS);

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
/** The customer-managed key encrypting data (the other key only signs receipts). */
const dataKeyId = () => ofType('AWS::KMS::Key').find(([, key]) => key.Properties.KeySpec === undefined)![0];
const logicalIdOf = (type: string) => {
  const found = ofType(type);
  expect(found).toHaveLength(1);
  return found[0]![0];
};
const functions = () => ofType('AWS::Lambda::Function');
const actionsOf = (statement: Statement) => [statement.Action].flat();

/** Every policy statement in the template: identity policies, roles' inline policies, resource policies. */
function allStatements(): Statement[] {
  const statements: Statement[] = [];
  for (const { Type, Properties } of Object.values(resources)) {
    if (Type === 'AWS::IAM::Policy') statements.push(...Properties.PolicyDocument.Statement);
    if (Type === 'AWS::IAM::Role') {
      for (const policy of Properties.Policies ?? []) statements.push(...policy.PolicyDocument.Statement);
    }
    if (Type === 'AWS::KMS::Key') statements.push(...Properties.KeyPolicy.Statement);
    if (Type === 'AWS::Events::EventBusPolicy') statements.push(Properties.Statement);
    if (Type === 'AWS::SQS::QueuePolicy' || Type === 'AWS::SNS::TopicPolicy') {
      statements.push(...Properties.PolicyDocument.Statement);
    }
  }
  return statements;
}

describe('approval state machine', () => {
  it('is STANDARD, logs every state to an encrypted log group and is traced with X-Ray', () => {
    const [, machine] = ofType('AWS::StepFunctions::StateMachine')[0]!;
    expect(machine.Properties.StateMachineType).toBe('STANDARD');
    expect(machine.Properties.TracingConfiguration).toEqual({ Enabled: true });
    expect(machine.Properties.LoggingConfiguration).toMatchObject({
      Level: 'ALL',
      IncludeExecutionData: false,
    });
    const logGroupId = machine.Properties.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup
      .LogGroupArn['Fn::GetAtt'][0] as string;
    expect(resources[logGroupId]!.Properties.KmsKeyId).toEqual({
      'Fn::GetAtt': [dataKeyId(), 'Arn'],
    });
  });

  it('has exactly the states other code keys off, and no JSONata', () => {
    expect(definition.StartAt).toBe(WORKFLOW_STATES.evaluate);
    expect(Object.keys(definition.States).sort()).toEqual(Object.values(WORKFLOW_STATES).sort());
    expect(JSON.stringify(definition)).not.toContain('JSONata');
  });

  it('starts with Evaluate, which names the request, and stops an event naming no agent', () => {
    const evaluate = definition.States[WORKFLOW_STATES.evaluate];
    // The state as the execution started: the event as delivered. Evaluate names the request
    // (<agentId>:<requestId or event id>) itself, and answers at $.evaluation, beside the event.
    expect(evaluate.Parameters).toEqual({
      'state.$': '$',
      'executionArn.$': '$$.Execution.Id',
      // The full stack has countersign:macie on: classify before approve.
      classifyFirst: true,
    });
    expect(evaluate.ResultPath).toBe('$.evaluation');
    const route = definition.States[WORKFLOW_STATES.route];
    expect(route.Choices[1]).toEqual({
      Variable: '$.evaluation.requestId',
      IsNull: true,
      Next: WORKFLOW_STATES.unidentified,
    });
    expect(definition.States[WORKFLOW_STATES.unidentified]).toEqual({
      Type: 'Fail',
      Error: WORKFLOW_ERRORS.invalidRequest,
      Cause: 'detail.agent.id must be a string',
    });
  });

  it('waits for a task token with the timeout the policy sets, treats a timeout as EXPIRED, and retries only its own failures', () => {
    const requestApproval = definition.States[WORKFLOW_STATES.requestApproval];
    expect(requestApproval.Resource).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
    expect(requestApproval.TimeoutSecondsPath).toBe('$.evaluation.policy.timeoutSeconds');
    expect(requestApproval.TimeoutSeconds).toBeUndefined();
    expect(requestApproval.Parameters.Payload).toEqual({
      'taskToken.$': '$$.Task.Token',
      'requestId.$': '$.evaluation.requestId',
      // The token is stored only on a request this execution owns.
      'executionArn.$': '$$.Execution.Id',
    });
    expect(requestApproval.ResultPath).toBe('$.evaluation.outcome');
    // Answers are final; the step's own failure (a timed-out or crashed function) is run again first.
    expect(requestApproval.Retry).toEqual([
      // CDK's own: the Lambda service's transient errors.
      expect.objectContaining({ ErrorEquals: expect.arrayContaining(['Lambda.ServiceException']) }),
      { ErrorEquals: ['States.Timeout', WorkflowError.expired, WorkflowError.denied], MaxAttempts: 0 },
      { ErrorEquals: ['States.ALL'], IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2 },
    ]);
    expect(requestApproval.Catch).toEqual([
      {
        ErrorEquals: ['States.Timeout', WorkflowError.expired],
        ResultPath: '$.error',
        Next: WORKFLOW_STATES.expired,
      },
      { ErrorEquals: [WorkflowError.denied], ResultPath: '$.error', Next: WORKFLOW_STATES.denied },
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: WORKFLOW_STATES.approvalFailed },
    ]);
    expect(definition.States[WORKFLOW_STATES.expired]).toEqual({
      Type: 'Pass',
      Parameters: { decision: 'EXPIRED' },
      ResultPath: '$.evaluation.outcome',
      Next: WORKFLOW_STATES.finish,
    });
  });

  it("records the policy's own outcome at once (Evaluate's, for ALLOW, DENY and BREAK_GLASS) and asks people otherwise", () => {
    expect(definition.States[WORKFLOW_STATES.evaluate].Next).toBe(WORKFLOW_STATES.route);
    const route = definition.States[WORKFLOW_STATES.route];
    // One Choice, rules in order: an object to classify first, an event naming nobody, a duplicate
    // ends quietly and an invalid request fails before Evaluate's outcome is read. Evaluate sets one
    // only for ALLOW, DENY and BREAK_GLASS (policyOutcomeOf): anything else waits for people.
    expect(route.Choices).toEqual([
      { Variable: '$.evaluation.classify', IsPresent: true, Next: WORKFLOW_STATES.startClassificationJob },
      { Variable: '$.evaluation.requestId', IsNull: true, Next: WORKFLOW_STATES.unidentified },
      { Variable: '$.evaluation.duplicate', BooleanEquals: true, Next: WORKFLOW_STATES.duplicate },
      { Variable: '$.evaluation.invalid', BooleanEquals: true, Next: WORKFLOW_STATES.rejected },
      { Variable: '$.evaluation.outcome', IsPresent: true, Next: WORKFLOW_STATES.finish },
    ]);
    expect(route.Default).toBe(WORKFLOW_STATES.requestApproval);
    expect(definition.States[WORKFLOW_STATES.duplicate]).toEqual({ Type: 'Succeed' });
  });

  it('turns an evaluation failure into a recorded denial, and rejects invalid requests', () => {
    const evaluate = definition.States[WORKFLOW_STATES.evaluate];
    expect(evaluate.Retry[0].ErrorEquals).toContain('Lambda.ServiceException');
    // A function error (DynamoDB throttled past the SDK's retries) is asked again before it denies.
    expect(evaluate.Retry).toContainEqual({
      ErrorEquals: ['States.TaskFailed'],
      IntervalSeconds: 2,
      MaxAttempts: 3,
      BackoffRate: 2,
    });
    expect(evaluate.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: WORKFLOW_STATES.evaluationFailed },
    ]);
    expect(definition.States[WORKFLOW_STATES.evaluationFailed]).toMatchObject({
      // The error's name only, never its cause (which may hold a stack trace).
      Parameters: {
        outcome: { decision: 'DENIED', 'reason.$': "States.Format('evaluation failed: {}', $.error.Error)" },
      },
      ResultPath: '$.evaluation',
      Next: WORKFLOW_STATES.finishEvaluationFailure,
    });
    // Evaluate may have failed before naming or storing the request, so this finish step gets the
    // event (the state), names and stores the request from it, denied, and publishes it.
    const finishFailure = definition.States[WORKFLOW_STATES.finishEvaluationFailure];
    expect(finishFailure.Parameters.Payload).toEqual({
      'event.$': '$',
      'outcome.$': '$.evaluation.outcome',
      'executionArn.$': '$$.Execution.Id',
    });
    expect(finishFailure.End).toBe(true);
    expect(finishFailure.Catch).toEqual([
      { ErrorEquals: [FinishStepError.publish], ResultPath: '$.error', Next: WORKFLOW_STATES.publishFailed },
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: WORKFLOW_STATES.recordFailed },
    ]);
    expect(definition.States[WORKFLOW_STATES.rejected]).toEqual({
      Type: 'Fail',
      Error: WORKFLOW_ERRORS.invalidRequest,
      CausePath: '$.evaluation.policy.reason',
    });
  });

  it('finishes in one task: records, executes what Countersign runs, publishes, retried whole, each failure by its part', () => {
    const finish = definition.States[WORKFLOW_STATES.finish];
    // The execution goes along, so a failing duplicate execution never decides another's request.
    expect(finish.Parameters.Payload).toEqual({
      'requestId.$': '$.evaluation.requestId',
      'outcome.$': '$.evaluation.outcome',
      'executionArn.$': '$$.Execution.Id',
    });
    expect(finish.ResultPath).toBeNull();
    // Finishing ends the execution: a Succeed state after it would be one more billed transition.
    expect(finish.End).toBe(true);
    expect(finish.Next).toBeUndefined();
    // A run claimed by a duplicate invocation still in flight: asked again for longer than it may run
    // (before the general retry, which would give up sooner).
    const retries = finish.Retry.map((retry: { ErrorEquals: string[] }) => retry.ErrorEquals[0]);
    expect(retries.indexOf('ConflictError')).toBeLessThan(retries.indexOf('States.TaskFailed'));
    expect(finish.Retry).toContainEqual({
      ErrorEquals: ['ConflictError'],
      IntervalSeconds: 15,
      MaxAttempts: 25,
      BackoffRate: 1,
    });
    expect(finish.Retry).toContainEqual({
      ErrorEquals: ['States.TaskFailed'],
      IntervalSeconds: 2,
      MaxAttempts: 3,
      BackoffRate: 2,
    });
    // An execution failing for good is still published (without an outcome); a record or publish
    // failing for good fails the execution, and so does what the function cannot name.
    expect(finish.Catch).toEqual([
      {
        ErrorEquals: [FinishStepError.execute, 'ConflictError'],
        ResultPath: '$.error',
        Next: WORKFLOW_STATES.publishDecision,
      },
      { ErrorEquals: [FinishStepError.publish], ResultPath: '$.error', Next: WORKFLOW_STATES.publishFailed },
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: WORKFLOW_STATES.recordFailed },
    ]);
    const publish = definition.States[WORKFLOW_STATES.publishDecision];
    expect(publish.Parameters.Payload).toEqual({
      'requestId.$': '$.evaluation.requestId',
      'executionArn.$': '$$.Execution.Id',
    });
    expect(publish.Parameters.FunctionName).toEqual(finish.Parameters.FunctionName);
    expect(publish.End).toBe(true);
    expect(publish.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: WORKFLOW_STATES.publishFailed },
    ]);
    expect(definition.States[WORKFLOW_STATES.recordFailed]).toMatchObject({
      Type: 'Fail',
      Error: WORKFLOW_ERRORS.recordFailed,
    });
    expect(definition.States[WORKFLOW_STATES.publishFailed]).toMatchObject({
      Type: 'Fail',
      Error: WORKFLOW_ERRORS.publishFailed,
    });
  });
});

describe('event bus and agent-request rule', () => {
  it(
    'is named from context',
    () => {
      built.template.hasResourceProperties('AWS::Events::EventBus', { Name: 'countersign' });
      const renamed = buildCountersignStack({ 'countersign:busName': 'approvals' });
      renamed.template.hasResourceProperties('AWS::Events::EventBus', { Name: 'approvals' });
    },
    SLOW_SYNTH_MS,
  );

  it('starts the workflow for agent requests, with retries and an encrypted TLS-only DLQ', () => {
    const [queueId] = ofType('AWS::SQS::Queue').find(([id]) => id.startsWith('AgentRequestRule'))!;
    built.template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: logicalIdOf('AWS::Events::EventBus') },
      EventPattern: {
        source: [{ prefix: 'countersign.agent.' }],
        'detail-type': ['Action Requested'],
        detail: { agent: { id: [{ exists: true }] } },
      },
      Targets: [
        Match.objectLike({
          Arn: { Ref: logicalIdOf('AWS::StepFunctions::StateMachine') },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
          RetryPolicy: { MaximumRetryAttempts: 24, MaximumEventAgeInSeconds: 7200 },
        }),
      ],
    });
    expect(resources[queueId]!.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1209600,
    });
    built.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('request table', () => {
  it('is on-demand with PITR, KMS, TTL, a stream, the by-status index, and is retained', () => {
    const tableId = logicalIdOf('AWS::DynamoDB::Table');
    const table = built.template.toJSON().Resources[tableId];
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: {
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [dataKeyId(), 'Arn'] },
      },
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      GlobalSecondaryIndexes: [
        {
          IndexName: 'by-status',
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
  });

  it('is encrypted with a rotating customer-managed key', () => {
    built.template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });
});

describe('handlers', () => {
  it('are the workflow handlers and the executor function Finish invokes, the fast path and its follow-up, the reminder run, the REST API, the public keys, the chat endpoints and the audit archiver and digester, each tagged with its entry', () => {
    const entries = functions().map(([, fn]) => fn.Metadata?.[ENTRY_METADATA_KEY]);
    expect(entries.sort()).toEqual(
      [
        ...Object.values(WORKFLOW_HANDLER_ENTRIES),
        EXECUTE_ACTION_HANDLER_ENTRY,
        AGENT_DECISIONS_HANDLER_ENTRY,
        FAST_DECISION_ANNOUNCER_HANDLER_ENTRY,
        REMINDER_HANDLER_ENTRY,
        CLASSIFICATION_FINDINGS_HANDLER_ENTRY,
        CLASSIFICATION_JOBS_HANDLER_ENTRY,
        RECONCILE_HANDLER_ENTRY,
        API_HANDLER_ENTRY,
        PUBLIC_KEYS_HANDLER_ENTRY,
        ...Object.values(CHAT_HANDLER_ENTRIES),
        AUDIT_ARCHIVER_HANDLER_ENTRY,
        AUDIT_DIGESTER_HANDLER_ENTRY,
      ].sort(),
    );
  });

  it('run Node.js 24 on arm64 with X-Ray, in an encrypted log group with retention', () => {
    for (const [, fn] of functions()) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        Handler: 'index.handler',
      });
      const logGroup = resources[fn.Properties.LoggingConfig.LogGroup.Ref]!;
      expect(logGroup.Properties).toMatchObject({ RetentionInDays: 365, KmsKeyId: expect.anything() });
    }
  });

  it('get the environment the handlers read, POLICY_DIR only where policies are evaluated', () => {
    const auditHandlers = new Set<string>([AUDIT_ARCHIVER_HANDLER_ENTRY, AUDIT_DIGESTER_HANDLER_ENTRY]);
    for (const [, fn] of functions()) {
      const variables = fn.Properties.Environment.Variables;
      if (auditHandlers.has(fn.Metadata?.[ENTRY_METADATA_KEY])) {
        // The archive's handlers touch neither the table (the stream comes to them) nor the bus.
        expect(variables).toMatchObject({
          [ENV.auditBucketName]: { Ref: expect.stringMatching(/^AuditArchive/) },
          [ENV.auditRetentionDays]: '365',
          [POWERTOOLS_ENV.logLevel]: 'INFO',
        });
        expect(variables[ENV.tableName]).toBeUndefined();
        continue;
      }
      if (fn.Metadata?.[ENTRY_METADATA_KEY] === FAST_DECISION_ANNOUNCER_HANDLER_ENTRY) {
        // The fast path's follow-up records and publishes what is stored: no defaults, no directory.
        expect(Object.keys(variables).sort()).toEqual(
          [ENV.tableName, ENV.eventBusName, ENV.privilegedActions, ...Object.values(POWERTOOLS_ENV)].sort(),
        );
        expect(variables).toMatchObject({
          [ENV.tableName]: { Ref: logicalIdOf('AWS::DynamoDB::Table') },
          [ENV.eventBusName]: { Ref: logicalIdOf('AWS::Events::EventBus') },
          [ENV.privilegedActions]: JSON.stringify(DEFAULT_PRIVILEGED_ACTIONS.map(cloudTrailAction)),
        });
        continue;
      }
      expect(variables).toMatchObject({
        [ENV.tableName]: { Ref: logicalIdOf('AWS::DynamoDB::Table') },
        [ENV.eventBusName]: { Ref: logicalIdOf('AWS::Events::EventBus') },
        [ENV.defaultApproverGroup]: 'security',
        [ENV.defaultTimeoutSeconds]: '3600',
        [POWERTOOLS_ENV.serviceName]: 'countersign',
        [POWERTOOLS_ENV.metricsNamespace]: 'Countersign',
        [POWERTOOLS_ENV.logLevel]: 'INFO',
      });
      // The reconciliation asks the policies who reviews an unapproved call.
      const readsPolicies = [
        WORKFLOW_HANDLER_ENTRIES.evaluate,
        AGENT_DECISIONS_HANDLER_ENTRY,
        RECONCILE_HANDLER_ENTRY,
      ].includes(fn.Metadata?.[ENTRY_METADATA_KEY]);
      expect(variables[ENV.policyDir]).toBe(readsPolicies ? BUNDLED_POLICY_DIR : undefined);
      // The watched actions go where approvals are kept or looked up (Finish, the reconciler; the
      // fast path's follow-up above).
      const keepsApprovals = [WORKFLOW_HANDLER_ENTRIES.finish, RECONCILE_HANDLER_ENTRY].includes(
        fn.Metadata?.[ENTRY_METADATA_KEY],
      );
      expect(variables[ENV.privilegedActions]).toBe(
        keepsApprovals ? JSON.stringify(DEFAULT_PRIVILEGED_ACTIONS.map(cloudTrailAction)) : undefined,
      );
      // Only the REST API shows requests to people: it alone scopes reads by the auditor groups.
      const isApi = fn.Metadata?.[ENTRY_METADATA_KEY] === API_HANDLER_ENTRY;
      expect(variables[ENV.auditorGroups]).toBe(isApi ? '["security"]' : undefined);
    }
  });
});

describe('permissions', () => {
  it('never allow a wildcard action, but where Secrets Manager uses the key for the account', () => {
    const withWildcards = allStatements().filter(
      (statement) =>
        statement.Effect === 'Allow' && actionsOf(statement).some((action) => action.includes('*')),
    );
    // aws-cdk-lib's Secret grants this on the key it encrypts with; only Secrets Manager can use it.
    const viaSecretsManager = {
      'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']],
    };
    expect(withWildcards).toEqual([
      expect.objectContaining({
        Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*'],
        Condition: { StringEquals: { 'kms:ViaService': viaSecretsManager } },
      }),
    ]);
  });

  it('never allow DynamoDB transactions, scans or batch writes', () => {
    const actions = allStatements().flatMap(actionsOf);
    expect(actions.filter((action) => /^dynamodb:(Transact|Scan|Batch)/.test(action))).toEqual([]);
    expect(actions).toContain('dynamodb:UpdateItem');
  });

  it('let only the decision publishers (the finish step, the fast path’s follow-up) put events, and only with the countersign source', () => {
    const putEvents = ofType('AWS::IAM::Policy').flatMap(([, policy]) =>
      (policy.Properties.PolicyDocument.Statement as Statement[])
        .filter((statement) => actionsOf(statement).includes('events:PutEvents'))
        .map((statement) => ({ roles: policy.Properties.Roles, statement })),
    );
    const roleOf = (entry: string) => {
      const [, fn] = functions().find(([, candidate]) => candidate.Metadata?.[ENTRY_METADATA_KEY] === entry)!;
      return { Ref: fn.Properties.Role['Fn::GetAtt'][0] };
    };
    expect(putEvents.map(({ roles }) => roles)).toEqual([
      [roleOf(WORKFLOW_HANDLER_ENTRIES.finish)],
      [roleOf(FAST_DECISION_ANNOUNCER_HANDLER_ENTRY)],
    ]);
    for (const { statement } of putEvents) {
      expect(statement.Condition).toEqual({
        'ForAllValues:StringEquals': { 'events:source': ['countersign'] },
        Null: { 'events:source': 'false' },
      });
    }
  });
});

describe('chat channels', () => {
  const entryOf = (id: string) => resources[id]?.Metadata?.[ENTRY_METADATA_KEY];
  const variablesOf = (entry: string) =>
    functions().find(([, fn]) => fn.Metadata?.[ENTRY_METADATA_KEY] === entry)![1].Properties.Environment
      .Variables;

  it('let the workflow steps read, create and update items, and delete none', () => {
    for (const entry of Object.values(WORKFLOW_HANDLER_ENTRIES)) {
      const role = functions().find(([id]) => entryOf(id) === entry)![1].Properties.Role['Fn::GetAtt'][0];
      const dynamoDbActions = ofType('AWS::IAM::Policy')
        .filter(([, policy]) => policy.Properties.Roles.some((r: Json) => r.Ref === role))
        .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement as Statement[])
        .flatMap(actionsOf)
        .filter((action) => action.startsWith('dynamodb:'));
      expect(new Set(dynamoDbActions)).toEqual(
        new Set(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem']),
      );
    }
  });

  it('give the wait task, the reminder run and the REST API what they need to post and update reviews', () => {
    const [slackSecret, teamsSecret] = ['ChatSlackCredentials', 'ChatTeamsCredentials'].map(
      (prefix) => ofType('AWS::SecretsManager::Secret').find(([id]) => id.startsWith(prefix))![0],
    );
    for (const entry of [
      WORKFLOW_HANDLER_ENTRIES.requestApproval,
      REMINDER_HANDLER_ENTRY,
      API_HANDLER_ENTRY,
    ]) {
      expect(variablesOf(entry)).toMatchObject({
        [ENV.slackSecretArn]: { Ref: slackSecret },
        [ENV.slackChannelId]: TEST_FULL_CONTEXT['countersign:slackChannelId'],
        [ENV.teamsSecretArn]: { Ref: teamsSecret },
        [ENV.teamsConversationId]: TEST_FULL_CONTEXT['countersign:teamsConversationId'],
        [ENV.teamsServiceUrl]: TEST_FULL_CONTEXT['countersign:teamsServiceUrl'],
        [ENV.consoleUrl]: TEST_FULL_CONTEXT['countersign:consoleUrl'],
      });
      const role = functions().find(([id]) => entryOf(id) === entry)![1].Properties.Role['Fn::GetAtt'][0];
      const readable = ofType('AWS::IAM::Policy')
        .filter(([, policy]) => policy.Properties.Roles.some((r: Json) => r.Ref === role))
        .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement as Statement[])
        .filter((statement) => actionsOf(statement).includes('secretsmanager:GetSecretValue'))
        .flatMap((statement) => [statement.Resource].flat());
      expect(readable).toHaveLength(2);
      expect(readable).toEqual(expect.arrayContaining([{ Ref: slackSecret }, { Ref: teamsSecret }]));
    }
  });

  it('resolve people in one directory, the same for every handler that resolves people', () => {
    const directory = variablesOf(API_HANDLER_ENTRY)[ENV.directoryJson];
    expect(directory).toBe(JSON.stringify(TEST_DIRECTORY));
    for (const entry of [
      ...Object.values(CHAT_HANDLER_ENTRIES),
      WORKFLOW_HANDLER_ENTRIES.evaluate,
      WORKFLOW_HANDLER_ENTRIES.requestApproval,
      REMINDER_HANDLER_ENTRY,
    ]) {
      expect(variablesOf(entry)[ENV.directoryJson]).toBe(directory);
    }
  });
});

describe('reminders', () => {
  it('run on a schedule, with the chat settings and the directory (the rule is ReviewReminders)', () => {
    const [reminders] = functions().filter(
      ([id]) => resources[id]?.Metadata?.[ENTRY_METADATA_KEY] === REMINDER_HANDLER_ENTRY,
    );
    const schedules = ofType('AWS::Events::Rule').filter(([, rule]) => rule.Properties.ScheduleExpression);
    expect(schedules.map(([, rule]) => rule.Properties.Targets[0].Arn)).toContainEqual({
      'Fn::GetAtt': [reminders![0], 'Arn'],
    });
  });
});

describe('alarms', () => {
  it('watch failed executions, the five DLQs (agent requests, Macie findings, privileged calls, audit archive, fast decisions), the archive and the fast path’s follow-up running late and every handler (REST API, chat, Macie, reconciliation, archive, fast path, executor too), notifying the encrypted topic', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties);
    expect(alarms.map((alarm) => alarm.MetricName).sort()).toEqual(
      [
        'ApproximateNumberOfMessagesVisible',
        'ApproximateNumberOfMessagesVisible',
        'ApproximateNumberOfMessagesVisible',
        'ExecutionsFailed',
        'ApproximateNumberOfMessagesVisible',
        'ApproximateNumberOfMessagesVisible',
        'IteratorAge',
        'IteratorAge',
        ...Array.from({ length: functions().length }, () => 'Errors'),
      ].sort(),
    );
    const topicId = logicalIdOf('AWS::SNS::Topic');
    for (const alarm of alarms) {
      expect(alarm).toMatchObject({
        // The archive may wait 15 minutes; a fast decision's trail and event, a minute.
        Threshold: alarm.MetricName === 'IteratorAge' ? expect.toBeOneOf([900_000, 60_000]) : 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
      expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
    }
    expect(resources[topicId]!.Properties.KmsMasterKeyId).toBeDefined();
  });
});

describe('template snapshot', () => {
  it('matches, with asset hashes masked', () => {
    expect.addSnapshotSerializer(assetHashSerializer);
    expect(built.template.toJSON()).toMatchSnapshot();
  });
});
