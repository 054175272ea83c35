import { Annotations, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { ENV, POWERTOOLS_ENV } from '../lambdas/handlers/environment-names.ts';
import { ActionExecutor } from './action-executor.ts';
import { AgentDecisions } from './agent-decisions.ts';
import { AgentRequestRule } from './agent-request-rule.ts';
import { ApprovalWorkflow } from './approval-workflow.ts';
import { AuditArchiveBucket } from './audit-archive-bucket.ts';
import { AuditArchiver } from './audit-archiver.ts';
import { AuditDigester } from './audit-digester.ts';
import { AuditQueries } from './audit-queries.ts';
import { ChatIntegrations } from './chat-integrations.ts';
import { ClassificationJobs } from './classification-jobs.ts';
import { CONTEXT_KEYS, type CountersignConfig, isLoopbackUrl } from './countersign-config.ts';
import { CountersignEventBus } from './countersign-event-bus.ts';
import {
  AUDIT_KEYS_ROUTE,
  CountersignHttpApi,
  RECEIPT_KEYS_ROUTE,
  type RestApiOptions,
} from './countersign-http-api.ts';
import { CountersignKey } from './countersign-key.ts';
import { FastDecisionAnnouncer } from './fast-decision-announcer.ts';
import { BUNDLED_POLICY_DIR, HandlerFunction, POLICY_ENGINE_BUNDLE } from './handler-function.ts';
import { grantIdentityStoreRead } from './identity-store-access.ts';
import { MacieFindingsRule } from './macie-findings-rule.ts';
import { PrivilegedCallReconciliation } from './privileged-call-reconciliation.ts';
import { RequestTable } from './request-table.ts';
import { ReviewReminders } from './review-reminders.ts';
import { SigningKey } from './signing-key.ts';
import { WorkflowAlarms } from './workflow-alarms.ts';

/** Repo-relative handler modules of the agent-request workflow. */
export const WORKFLOW_HANDLER_ENTRIES = {
  evaluate: 'lambdas/handlers/evaluate.ts',
  requestApproval: 'lambdas/handlers/request-approval.ts',
  finish: 'lambdas/handlers/finish.ts',
} as const;

/** Repo-relative module of the REST API handler. */
export const API_HANDLER_ENTRY = 'lambdas/handlers/api.ts';

/** Repo-relative module of the public keys (JWKS) handler: receipt keys and the audit digest key. */
export const PUBLIC_KEYS_HANDLER_ENTRY = 'lambdas/handlers/public-keys.ts';

/**
 * How far before its window a digest looks for archive objects still being written when the last
 * digest listed: more than the archiver's timeout, which bounds a write.
 */
const DIGEST_LOOKBACK = Duration.minutes(5);

export interface CountersignStackProps extends StackProps {
  /** Settings read from context by `readCountersignConfig`. */
  readonly config: CountersignConfig;
}

/**
 * Countersign in one stack: the event bus agents ask on, the agent-request rule, the approval
 * workflow and its handlers, the request table, the key that encrypts them and the alarms.
 * Environment-agnostic, so `cdk synth` needs no credentials.
 */
export class CountersignStack extends Stack {
  readonly eventBus: CountersignEventBus;
  readonly table: RequestTable;
  readonly workflow: ApprovalWorkflow;
  readonly agentRequestRule: AgentRequestRule;
  readonly handlers: Readonly<Record<keyof typeof WORKFLOW_HANDLER_ENTRIES, HandlerFunction>>;
  /** The REST API handler; only when `countersign:jwtIssuer` is configured. */
  readonly apiHandler?: HandlerFunction;
  /** The key that signs decision receipts; only the decision publishers (Finish, the fast path) may sign. */
  readonly receiptKey: SigningKey;
  /** Serves the public keys (`GET /api/receipts/jwks.json`, `GET /api/audit/jwks.json`, unauthenticated). */
  readonly publicKeysHandler: HandlerFunction;
  /** The audit archive (Object Lock) and its access-log bucket. */
  readonly auditArchive: AuditArchiveBucket;
  /** Table stream → archive objects. */
  readonly auditArchiver: AuditArchiver;
  /** Signed digests of the archive, every five minutes. */
  readonly auditDigester: AuditDigester;
  /** The archive in Glue and Athena: table, workgroup, named queries, the AuditReader policy. */
  readonly auditQueries: AuditQueries;
  /** The HTTP API: the receipt keys always, the REST API, Slack and Teams when configured. */
  readonly httpApi: CountersignHttpApi;
  /** Slack and Teams; only when a channel is configured. */
  readonly chat?: ChatIntegrations;
  /** Reminders before expiry; only with a chat channel, the only place reminders go. */
  readonly reminders?: ReviewReminders;
  /** Macie findings from the default bus into the table. */
  readonly macieFindings: MacieFindingsRule;
  /** Classify before approve; only with `countersign:macie`. */
  readonly classificationJobs?: ClassificationJobs;
  /** Privileged calls (CloudTrail, default bus) reconciled with approvals; break-glass reviews. */
  readonly reconciliation: PrivilegedCallReconciliation;
  /** The agents' fast decision path (IAM-authorized routes on the HTTP API). */
  readonly agentDecisions: AgentDecisions;
  /** Table stream → the fast path's decisions approved, recorded and published. */
  readonly fastDecisionAnnouncer: FastDecisionAnnouncer;
  /** The built-in executors: the function that runs an approved action for Finish, and the role it assumes. */
  readonly executor: ActionExecutor;

  constructor(scope: Construct, id: string, props: CountersignStackProps) {
    super(scope, id, props);
    const { config } = props;
    const logRetention = config.logRetentionDays as RetentionDays;

    const key = new CountersignKey(this, 'DataKey').key;
    // A rotation is a new key (a new generation); the retired ones stay listed so old receipts verify.
    this.receiptKey = new SigningKey(
      this,
      config.receiptKeyGeneration === 1 ? 'ReceiptKey' : `ReceiptKeyGeneration${config.receiptKeyGeneration}`,
      { description: 'Countersign: signs decision receipts (ES256); only the decision publisher may sign' },
    );
    this.eventBus = new CountersignEventBus(this, 'EventBus', {
      busName: config.busName,
      agents: config.agents,
    });
    this.table = new RequestTable(this, 'RequestTable', { encryptionKey: key });

    // Every handler's Powertools settings; the workflow's handlers get the table and the bus too.
    const powertools = {
      [POWERTOOLS_ENV.serviceName]: 'countersign',
      [POWERTOOLS_ENV.metricsNamespace]: 'Countersign',
      [POWERTOOLS_ENV.logLevel]: config.logLevel,
    };
    // The actions whose CloudTrail calls are reconciled: their approvals are kept (Finish, the fast
    // path's follow-up) and looked up (the reconciler); no other action's ever is.
    const watchedActions = {
      [ENV.privilegedActions]: JSON.stringify(config.privilegedActions.map(({ action }) => action)),
    };
    const environment: Record<string, string> = {
      [ENV.tableName]: this.table.tableName,
      [ENV.eventBusName]: this.eventBus.eventBusName,
      [ENV.defaultApproverGroup]: config.defaultApproverGroup,
      [ENV.defaultTimeoutSeconds]: String(config.defaultTimeoutSeconds),
      ...powertools,
      ...(config.consoleUrl === undefined ? {} : { [ENV.consoleUrl]: config.consoleUrl }),
    };
    // The directory people are resolved in (fail closed: an empty one resolves nobody). The twin
    // replaces the value with countersign.local.json wherever the template sets it. With an
    // identity store, people come from IAM Identity Center and the document keeps the agents.
    const directoryEnvironment = {
      [ENV.directoryJson]: JSON.stringify(config.directory),
      ...(config.identityStoreId === undefined ? {} : { [ENV.identityStoreId]: config.identityStoreId }),
    };
    const handler = (
      id: string,
      entry: string,
      description: string,
      extra: Partial<HandlerFunctionExtras> = {},
    ) =>
      new HandlerFunction(this, id, {
        entry,
        description,
        environment: { ...environment, ...extra.environment },
        logEncryptionKey: key,
        logRetention,
        bundledPaths: extra.bundledPaths,
        preparedPolicyDir: extra.preparedPolicyDir,
        externalModules: extra.externalModules,
        memorySize: extra.memorySize,
        timeout: extra.timeout,
      });

    this.handlers = {
      evaluate: handler(
        'Evaluate',
        WORKFLOW_HANDLER_ENTRIES.evaluate,
        'Countersign: validate, deduplicate and evaluate an agent request against the Cedar policies',
        {
          // The directory resolves the person an agent acts for, whom policies may name.
          environment: { ...directoryEnvironment, [ENV.policyDir]: BUNDLED_POLICY_DIR },
          ...POLICY_ENGINE_BUNDLE,
        },
      ),
      requestApproval: handler(
        'RequestApproval',
        WORKFLOW_HANDLER_ENTRIES.requestApproval,
        'Countersign: store the task token and ask the reviewers',
        { environment: directoryEnvironment },
      ),
      finish: handler(
        'Finish',
        WORKFLOW_HANDLER_ENTRIES.finish,
        'Countersign: record the outcome once, run an approved action Countersign executes, publish the decision',
        {
          environment: { [ENV.receiptKeyId]: this.receiptKey.keyArn, ...watchedActions },
          // It waits for the executor function's run (up to its 60 s timeout, then 70 s at most).
          timeout: Duration.seconds(90),
        },
      ),
    };
    // The steps read, create and update items, each write conditional; none deletes one.
    for (const fn of Object.values(this.handlers)) {
      this.table.grantReadAndUpdate(fn.role);
    }
    this.eventBus.grantPublishDecisions(this.handlers.finish.role);
    this.receiptKey.grantSign(this.handlers.finish.role);
    this.executor = new ActionExecutor(this, 'Executor', {
      table: this.table,
      environment,
      logEncryptionKey: key,
      logRetention,
      caller: this.handlers.finish,
      buckets: config.executorBuckets,
      allowedPolicyArns: config.executorAllowedPolicyArns,
    });

    this.macieFindings = new MacieFindingsRule(this, 'MacieFindings', {
      table: this.table,
      environment,
      logEncryptionKey: key,
      logRetention,
    });
    if (config.macie) {
      this.classificationJobs = new ClassificationJobs(this, 'ClassificationJobs', {
        table: this.table,
        environment,
        timeoutSeconds: config.classificationTimeoutSeconds,
        pollSeconds: config.classificationPollSeconds,
        ...(config.macieJobRoleArn === undefined ? {} : { jobRoleArn: config.macieJobRoleArn }),
        logEncryptionKey: key,
        logRetention,
      });
    }

    this.workflow = new ApprovalWorkflow(this, 'ApprovalWorkflow', {
      evaluateFunction: this.handlers.evaluate.function,
      requestApprovalFunction: this.handlers.requestApproval.function,
      finishFunction: this.handlers.finish.function,
      ...(this.classificationJobs === undefined
        ? {}
        : { classificationJobsFunction: this.classificationJobs.handler.function }),
      logEncryptionKey: key,
      logRetention,
    });
    this.agentRequestRule = new AgentRequestRule(this, 'AgentRequestRule', {
      eventBus: this.eventBus.bus,
      stateMachine: this.workflow.stateMachine,
    });

    const restApi = restApiSettings(config);
    let restApiRoutes: RestApiOptions | undefined;
    if (restApi !== undefined) {
      this.apiHandler = handler(
        'Api',
        API_HANDLER_ENTRY,
        'Countersign: REST API (requests, votes, the caller, the OpenAPI document)',
        {
          environment: {
            ...directoryEnvironment,
            [ENV.jwtIssuer]: restApi.jwtIssuer,
            [ENV.jwtAudience]: restApi.jwtAudience,
            [ENV.auditorGroups]: JSON.stringify(config.auditorGroups),
            ...(restApi.jwtJwksUrl === undefined ? {} : { [ENV.jwtJwksUrl]: restApi.jwtJwksUrl }),
          },
        },
      );
      // A vote is a conditional write beside the request, and the deciding vote resumes the workflow.
      this.table.grantReadWrite(this.apiHandler.role);
      this.apiHandler.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
          resources: [this.workflow.stateMachine.stateMachineArn],
        }),
      );
      restApiRoutes = { ...restApi, handler: this.apiHandler.function };
    }

    const slack = config.slackChannelId === undefined ? undefined : { channelId: config.slackChannelId };
    const teams =
      config.teamsConversationId === undefined || config.teamsServiceUrl === undefined
        ? undefined
        : { conversationId: config.teamsConversationId, serviceUrl: config.teamsServiceUrl };
    this.httpApi = new CountersignHttpApi(this, 'HttpApi', {
      logEncryptionKey: key,
      logRetention,
      ...(restApiRoutes === undefined ? {} : { restApi: restApiRoutes }),
      corsAllowedOrigins: config.apiCorsOrigins,
      throttle: { rateLimit: config.apiThrottleRateLimit, burstLimit: config.apiThrottleBurstLimit },
    });
    this.agentDecisions = new AgentDecisions(this, 'AgentDecisions', {
      httpApi: this.httpApi,
      table: this.table,
      receiptKey: this.receiptKey,
      stateMachine: this.workflow.stateMachine,
      classifyBeforeApproval: config.macie,
      environment: {
        ...environment,
        ...directoryEnvironment,
        [ENV.agentPrincipals]: JSON.stringify(config.agents),
      },
      logEncryptionKey: key,
      logRetention,
    });
    // What the fast path stored decided is approved, recorded and published from the table's stream.
    this.fastDecisionAnnouncer = new FastDecisionAnnouncer(this, 'FastDecisionAnnouncer', {
      table: this.table,
      eventBus: this.eventBus,
      logEncryptionKey: key,
      logRetention,
      environment: { ...powertools, ...watchedActions },
    });
    // Every audit record goes from the table's stream to the archive; digests chain and sign it.
    this.auditArchive = new AuditArchiveBucket(this, 'AuditArchive', {
      encryptionKey: key,
      retentionDays: config.archiveRetentionDays,
    });
    this.auditArchiver = new AuditArchiver(this, 'AuditArchiver', {
      table: this.table,
      archive: this.auditArchive,
      retentionDays: config.archiveRetentionDays,
      logEncryptionKey: key,
      logRetention,
      environment: powertools,
    });
    this.auditDigester = new AuditDigester(this, 'AuditDigester', {
      archive: this.auditArchive,
      retentionDays: config.archiveRetentionDays,
      lookback: DIGEST_LOOKBACK,
      maxRecordDelay: this.auditArchiver.maxRecordAge,
      logEncryptionKey: key,
      logRetention,
      environment: powertools,
    });
    this.auditQueries = new AuditQueries(this, 'AuditQueries', {
      archive: this.auditArchive,
      encryptionKey: key,
    });

    // Agents verify receipts, and auditors the archive's digests, with these keys: served to anyone,
    // from GetPublicKey (no other KMS use).
    const receiptKeyArns = [this.receiptKey.keyArn, ...config.retiredReceiptKeyArns];
    this.publicKeysHandler = handler(
      'PublicKeys',
      PUBLIC_KEYS_HANDLER_ENTRY,
      'Countersign: the public keys receipts and audit digests verify with (JWKS)',
      {
        environment: {
          [ENV.receiptKeyId]: this.receiptKey.keyArn,
          [ENV.receiptRetiredKeyIds]: JSON.stringify(config.retiredReceiptKeyArns),
          [ENV.auditDigestKeyId]: this.auditDigester.signingKey.keyArn,
        },
      },
    );
    this.publicKeysHandler.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:GetPublicKey'],
        resources: [...receiptKeyArns, this.auditDigester.signingKey.keyArn],
      }),
    );
    this.httpApi.addUnauthenticatedRoute('ReceiptKeysRoute', {
      ...RECEIPT_KEYS_ROUTE,
      handler: this.publicKeysHandler.function,
      authenticatedBy: 'it serves public keys only (a JWKS); anyone must be able to verify a receipt',
    });
    this.httpApi.addUnauthenticatedRoute('AuditKeysRoute', {
      ...AUDIT_KEYS_ROUTE,
      handler: this.publicKeysHandler.function,
      authenticatedBy: 'it serves public keys only (a JWKS); auditors verify the archive with nothing else',
    });
    if (slack !== undefined || teams !== undefined) {
      this.chat = new ChatIntegrations(this, 'Chat', {
        httpApi: this.httpApi,
        table: this.table,
        stateMachine: this.workflow.stateMachine,
        encryptionKey: key,
        environment: { ...environment, ...directoryEnvironment },
        logRetention,
        ...(slack === undefined ? {} : { slack }),
        ...(teams === undefined ? {} : { teams }),
      });
      this.reminders = new ReviewReminders(this, 'Reminders', {
        table: this.table,
        stateMachine: this.workflow.stateMachine,
        environment: { ...environment, ...directoryEnvironment, ...this.chat.notifierEnvironment },
        logEncryptionKey: key,
        logRetention,
      });
      this.chat.grantNotify(this.reminders.handler.role);
      // The wait task posts each review, and the REST API updates the messages after a vote, as
      // chat votes do.
      for (const notifier of [this.handlers.requestApproval, this.apiHandler]) {
        if (notifier === undefined) continue;
        for (const [name, value] of Object.entries(this.chat.notifierEnvironment)) {
          notifier.function.addEnvironment(name, value);
        }
        this.chat.grantNotify(notifier.role);
      }
    }
    this.reconciliation = new PrivilegedCallReconciliation(this, 'PrivilegedCalls', {
      operations: config.privilegedActions,
      countersignBus: this.eventBus.bus,
      table: this.table,
      environment: {
        ...environment,
        ...directoryEnvironment,
        ...this.chat?.notifierEnvironment,
        [ENV.policyDir]: BUNDLED_POLICY_DIR,
        [ENV.agentPrincipals]: JSON.stringify(config.agents),
        ...watchedActions,
      },
      logEncryptionKey: key,
      logRetention,
    });
    // It alerts reviewers of unapproved calls and break-glass requests in chat.
    this.chat?.grantNotify(this.reconciliation.handler.role);
    warnAboutLocalTwinSettings(this, config);
    const identityStoreId = config.identityStoreId;
    if (identityStoreId !== undefined) {
      // Every function given the directory environment resolves people, so each may read the store.
      const resolvers = [
        this.handlers.evaluate,
        this.agentDecisions.handler,
        this.handlers.requestApproval,
        this.apiHandler,
        this.chat?.slackHandler,
        this.chat?.teamsHandler,
        this.reminders?.handler,
        this.reconciliation.handler,
      ];
      for (const fn of resolvers) if (fn !== undefined) grantIdentityStoreRead(fn, identityStoreId);
    }

    const alarms = new WorkflowAlarms(this, 'Alarms', {
      stateMachine: this.workflow.stateMachine,
      deadLetterQueues: [
        {
          id: 'DeadLetters',
          queue: this.agentRequestRule.deadLetterQueue,
          description: 'Agent requests EventBridge could not deliver to the workflow are waiting in the DLQ.',
        },
        {
          id: 'FindingsDeadLetters',
          queue: this.macieFindings.deadLetterQueue,
          description:
            'Macie findings that could not be stored (undeliverable or malformed) are waiting in their DLQ.',
        },
        {
          id: 'PrivilegedCallDeadLetters',
          queue: this.reconciliation.deadLetterQueue,
          description:
            'Privileged calls (CloudTrail) or decisions that could not be reconciled are waiting in their DLQ.',
        },
        {
          id: 'AuditArchiveDeadLetters',
          queue: this.auditArchiver.deadLetterQueue,
          description:
            'Audit records could not be archived after every retry: their stream positions are in the DLQ; `countersign audit verify` names the missing records.',
        },
        {
          id: 'FastDecisionDeadLetters',
          queue: this.fastDecisionAnnouncer.deadLetterQueue,
          description:
            'Decisions of the fast path were never approved, recorded or published after every retry: their stream positions are in the DLQ.',
        },
      ],
      streamReaders: [
        {
          id: 'FastDecisionsLate',
          function: this.fastDecisionAnnouncer.handler.function,
          maxIteratorAge: Duration.minutes(1),
          description:
            'Decisions of the fast path have waited more than a minute for their approval, audit trail and Action Decided: the announcer keeps failing (the table, the bus) and retries until the stream is about to drop them.',
        },
        {
          id: 'AuditArchiveLate',
          function: this.auditArchiver.handler.function,
          maxIteratorAge: Duration.minutes(15),
          description:
            'Audit records have waited more than 15 minutes to be archived: the archiver keeps failing (S3, the archive key, or a record it cannot read) and retries until the stream is about to drop them.',
        },
      ],
      functions: [
        ...Object.values(this.handlers),
        this.executor.handler,
        this.publicKeysHandler,
        this.macieFindings.handler,
        this.reconciliation.handler,
        this.agentDecisions.handler,
        this.fastDecisionAnnouncer.handler,
        this.auditArchiver.handler,
        this.auditDigester.handler,
        ...[
          this.classificationJobs?.handler,
          this.apiHandler,
          this.chat?.slackHandler,
          this.chat?.teamsHandler,
          this.reminders?.handler,
        ].filter((fn): fn is HandlerFunction => fn !== undefined),
      ],
      topicEncryptionKey: key,
      emails: config.alarmEmails,
    });

    new CfnOutput(this, 'EventBusName', { value: this.eventBus.eventBusName });
    new CfnOutput(this, 'EventBusArn', { value: this.eventBus.eventBusArn });
    new CfnOutput(this, 'StateMachineArn', { value: this.workflow.stateMachine.stateMachineArn });
    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.agentRequestRule.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'FindingsDeadLetterQueueUrl', { value: this.macieFindings.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'AlarmTopicArn', { value: alarms.topic.topicArn });
    new CfnOutput(this, 'HttpApiUrl', { value: this.httpApi.url });
    new CfnOutput(this, 'ReceiptKeyArn', { value: this.receiptKey.keyArn });
    new CfnOutput(this, 'AgentDecisionsInvokeArn', {
      description: 'Grant agents execute-api:Invoke on this to use the fast decision path',
      value: this.agentDecisions.invokeArn,
    });
    new CfnOutput(this, 'ExecutorRoleArn', { value: this.executor.role.roleArn });
    new CfnOutput(this, 'AuditBucketName', { value: this.auditArchive.bucketName });
    new CfnOutput(this, 'AuditWorkGroup', { value: this.auditQueries.workGroup.ref });
    new CfnOutput(this, 'AuditReaderPolicyArn', { value: this.auditQueries.readerPolicy.managedPolicyArn });
    new CfnOutput(this, 'AuditDigestKeyArn', { value: this.auditDigester.signingKey.keyArn });
  }
}

/** The REST API's token settings, when an issuer is configured (the config ensures its audience). */
function restApiSettings(
  config: CountersignConfig,
): { jwtIssuer: string; jwtAudience: string; jwtJwksUrl?: string } | undefined {
  if (config.jwtIssuer === undefined || config.jwtAudience === undefined) return undefined;
  return {
    jwtIssuer: config.jwtIssuer,
    jwtAudience: config.jwtAudience,
    ...(config.jwtJwksUrl === undefined ? {} : { jwtJwksUrl: config.jwtJwksUrl }),
  };
}

/**
 * The local twin synthesizes with loopback settings (its dev issuer and console on 127.0.0.1; never
 * in cdk.json); deployed, AWS cannot reach them, so every token would be refused and every console
 * link dead. Whoever passes them to a synth anyway is told so, with the keys to set.
 */
function warnAboutLocalTwinSettings(stack: Stack, config: CountersignConfig): void {
  const local = (['jwtIssuer', 'consoleUrl'] as const).filter((field) => {
    const url = config[field];
    return url !== undefined && isLoopbackUrl(url);
  });
  if (local.length === 0) return;
  const keys = local.map((field) => `${CONTEXT_KEYS[field]} (${config[field]})`).join(', ');
  Annotations.of(stack).addWarningV2(
    'countersign:localTwinSettings',
    `Configured for the local twin: ${keys} point at this machine, which AWS cannot reach. Before deploying, set them (and ${CONTEXT_KEYS.jwtAudience}, the chat channels) to your own.`,
  );
}

interface HandlerFunctionExtras {
  readonly environment: Readonly<Record<string, string>>;
  readonly bundledPaths: readonly string[];
  readonly preparedPolicyDir: string;
  readonly externalModules: readonly string[];
  readonly memorySize: number;
  readonly timeout: Duration;
}
