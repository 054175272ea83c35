/**
 * Names of the environment variables the CDK stack gives the handlers. The stack sets them, the
 * handlers read them once at start (failing when one is missing), and the local twin reads the
 * same variables from the synthesized template.
 */
export const ENV = {
  tableName: 'TABLE_NAME',
  eventBusName: 'EVENT_BUS_NAME',
  policyDir: 'POLICY_DIR',
  defaultApproverGroup: 'DEFAULT_APPROVER_GROUP',
  defaultTimeoutSeconds: 'DEFAULT_TIMEOUT_SECONDS',
  consoleUrl: 'CONSOLE_URL',
  /** Optional: the directory document (same shape as countersign.local.json) as JSON. */
  directoryJson: 'DIRECTORY_JSON',
  /**
   * Optional: the IAM Identity Center identity store people are resolved in (users, groups); chat
   * overrides live in the table and agents stay in DIRECTORY_JSON. Without it DIRECTORY_JSON is the directory.
   */
  identityStoreId: 'IDENTITY_STORE_ID',
  /** The REST API's token issuer (`iss`), e.g. a Cognito user pool URL; the twin's dev issuer locally. */
  jwtIssuer: 'JWT_ISSUER',
  /** The audience the REST API accepts (`aud`, or `client_id` for access tokens), as the JWT authorizer. */
  jwtAudience: 'JWT_AUDIENCE',
  /** JSON array of the groups whose members may read every request (besides requesters and approver groups). */
  auditorGroups: 'AUDITOR_GROUPS',
  /** Optional: the issuer's JWKS URL; read from its OpenID metadata when absent. */
  jwtJwksUrl: 'JWT_JWKS_URL',
  /** Optional: Secrets Manager ARN of `{"signingSecret","botToken"}`; Slack is off without it. */
  slackSecretArn: 'SLACK_SECRET_ARN',
  /** Secrets Manager ARN of `{"key"}`: the HMAC key sealing Slack vote jobs (Slack function only). */
  slackVoteJobKeySecretArn: 'SLACK_VOTE_JOB_KEY_SECRET_ARN',
  /** Optional: the Slack channel id reviews are posted to. */
  slackChannelId: 'SLACK_CHANNEL_ID',
  /** Optional: Slack Web API base URL (the twin's sink locally). */
  slackApiUrl: 'SLACK_API_URL',
  /** Optional: Secrets Manager ARN of `{"appId","appPassword"}`; Teams is off without it. */
  teamsSecretArn: 'TEAMS_SECRET_ARN',
  /** Optional: the Teams conversation id reviews are posted to. */
  teamsConversationId: 'TEAMS_CONVERSATION_ID',
  /** Optional: the Bot Connector service URL of that conversation. */
  teamsServiceUrl: 'TEAMS_SERVICE_URL',
  /** Optional: Bot Framework OpenID metadata URL (the twin's issuer locally). */
  botOpenIdMetadataUrl: 'BOT_OPENID_METADATA_URL',
  /** Optional: Bot Framework OAuth token URL (the twin's sink locally). */
  botTokenUrl: 'BOT_TOKEN_URL',
  /**
   * JSON array of the watched privileged actions (`countersign:privilegedActions`): only their
   * approvals are kept (Finish, the fast path's follow-up) and looked up (the reconciler); no call
   * of another action is ever reconciled.
   */
  privilegedActions: 'PRIVILEGED_ACTIONS',
  /** The KMS key (ARN or id) that signs decision receipts (ECC_NIST_P256, SIGN_VERIFY). */
  receiptKeyId: 'RECEIPT_KEY_ID',
  /** Optional: JSON array of retired receipt keys (ARNs) still listed in the JWKS after a rotation. */
  receiptRetiredKeyIds: 'RECEIPT_RETIRED_KEY_IDS',
  /** How far back each reminder run looks for due reminders, in seconds (a few schedule periods). */
  reminderLookbackSeconds: 'REMINDER_LOOKBACK_SECONDS',
  /** How long a classify-before-approval scan may take before the request is evaluated as FAILED. */
  classificationTimeoutSeconds: 'CLASSIFICATION_TIMEOUT_SECONDS',
  /** The wait between two polls of a classification job. */
  classificationPollSeconds: 'CLASSIFICATION_POLL_SECONDS',
  /** The account that owns the buckets Macie jobs analyse (the stack's account). */
  macieBucketOwnerAccountId: 'MACIE_BUCKET_OWNER_ACCOUNT_ID',
  /** The value of the MACIE_JOB_TAG_KEY tag on every job this stack starts (its name). */
  macieJobTag: 'MACIE_JOB_TAG',
  /** Optional: a role (in the Macie administrator account) assumed to create and read jobs. */
  macieJobRoleArn: 'MACIE_JOB_ROLE_ARN',
  /**
   * JSON array of `{"id","principalArn"}`: which IAM principal each agent runs as (`countersign:agents`),
   * by which an API caller and a CloudTrail call are told to be an agent's.
   */
  agentPrincipals: 'AGENT_PRINCIPALS',
  /** `true` when the workflow classifies data before approval: the fast path leaves such requests to it. */
  classifyBeforeApproval: 'CLASSIFY_BEFORE_APPROVAL',
  /** The approval state machine the fast decision path starts for what people decide. */
  stateMachineArn: 'STATE_MACHINE_ARN',
  /** The role the built-in executors assume (one session per run, scoped to the approved action). */
  executorRoleArn: 'EXECUTOR_ROLE_ARN',
  /** JSON array of the IAM policy ARNs the executor may attach (`countersign:executorAllowedPolicyArns`). */
  executorAllowedPolicyArns: 'EXECUTOR_ALLOWED_POLICY_ARNS',
  /** The executor function (name or ARN) the workflow's Finish step invokes to run an approved action. */
  executorFunctionName: 'EXECUTOR_FUNCTION_NAME',
  /** Set by Lambda: the Region the function runs in. */
  awsRegion: 'AWS_REGION',
  /** The audit archive bucket (S3, Object Lock): the archiver writes `audit/`, the digester `digests/`. */
  auditBucketName: 'AUDIT_BUCKET_NAME',
  /** Days of COMPLIANCE retention given to every archive object and digest. */
  auditRetentionDays: 'AUDIT_RETENTION_DAYS',
  /** The KMS key (ARN) that signs audit digests (ECC_NIST_P256, SIGN_VERIFY); only the digester signs with it. */
  auditDigestKeyId: 'AUDIT_DIGEST_KEY_ID',
  /** How far before its window a digest looks for objects still in flight at the last run, in seconds. */
  auditDigestLookbackSeconds: 'AUDIT_DIGEST_LOOKBACK_SECONDS',
  /** How long after its time a record can still reach the archive (the stream's retention), in seconds. */
  auditMaxRecordDelaySeconds: 'AUDIT_MAX_RECORD_DELAY_SECONDS',
} as const;

/** The tag key on the Macie jobs a stack starts; IAM lets the stack describe only jobs tagged with its name. */
export const MACIE_JOB_TAG_KEY = 'countersign-stack';

/** Powertools' own settings (service name, metrics namespace, log level), set by the stack on every handler. */
export const POWERTOOLS_ENV = {
  serviceName: 'POWERTOOLS_SERVICE_NAME',
  metricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
  logLevel: 'POWERTOOLS_LOG_LEVEL',
} as const;
