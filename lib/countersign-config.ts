/**
 * The deploy-time settings of the stack, read from CDK context (`cdk.json` or `-c key=value`) and
 * validated once, so a typo fails `cdk synth` with the key's name instead of deploying nonsense.
 *
 * | key | default | meaning |
 * | --- | --- | --- |
 * | `countersign:busName` | `countersign` | name of the Countersign event bus |
 * | `countersign:defaultApproverGroup` | `security` | group asked when no policy names one |
 * | `countersign:defaultTimeoutSeconds` | `3600` | approval timeout when no policy sets one |
 * | `countersign:logRetentionDays` | `365` | retention of every log group (a CloudWatch retention value) |
 * | `countersign:logLevel` | `INFO` | Powertools log level of the handlers |
 * | `countersign:agents` | `[]` | agents allowed to put requests: `[{"id","principalArn"}]` |
 * | `countersign:alarmEmails` | `[]` | addresses subscribed to the alarm topic |
 * | `countersign:consoleUrl` | unset | console URL linked from review messages (`CONSOLE_URL`) |
 * | `countersign:jwtIssuer` | unset | token issuer (`iss`) of the REST API; without it the `/api` routes are left out |
 * | `countersign:jwtAudience` | unset | audience (`aud` or `client_id`) the REST API accepts; required with the issuer |
 * | `countersign:jwtJwksUrl` | unset | the issuer's JWKS URL, when its OpenID metadata should not be used |
 * | `countersign:directory` | `{"users":[],"agents":[]}` | the directory the API and chat handlers resolve people in |
 * | `countersign:identityStoreId` | unset | IAM Identity Center identity store (`d-1234567890`) people are resolved in instead of the directory's `users` |
 * | `countersign:receiptKeyGeneration` | `1` | which receipt signing key signs; raise it to rotate (a new key) |
 * | `countersign:retiredReceiptKeyArns` | `[]` | earlier receipt keys, still listed in the JWKS so their receipts verify |
 * | `countersign:archiveRetentionDays` | `365` | COMPLIANCE Object Lock retention of the audit archive's objects and digests |
 * | `countersign:auditorGroups` | `["security"]` | groups whose members may read every request (`AUDITOR_GROUPS`) |
 * | `countersign:apiCorsOrigins` | `[]` | browser origins allowed to call the HTTP API (CORS off when empty) |
 * | `countersign:apiThrottleRateLimit` | `50` | HTTP API stage steady-state limit, requests per second |
 * | `countersign:apiThrottleBurstLimit` | `100` | HTTP API stage burst limit, requests |
 * | `countersign:slackChannelId` | unset | Slack channel reviews are posted to; turns Slack on |
 * | `countersign:teamsConversationId` | unset | Teams conversation reviews are posted to; turns Teams on |
 * | `countersign:teamsServiceUrl` | unset | Bot Connector service URL of that conversation; required with it |
 * | `countersign:macie` | `false` | classify before approve: start a Macie job for an unclassified object a request reads or exports, and wait for it |
 * | `countersign:macieJobRoleArn` | unset | a role in the Macie administrator account to assume for the jobs (default: the function's own role) |
 * | `countersign:classificationTimeoutSeconds` | `900` | how long a request waits for its object's classification before it is evaluated as FAILED |
 * | `countersign:classificationPollSeconds` | `30` | the wait between two looks at a classification job |
 * | `countersign:privilegedActions` | the 14 of `DEFAULT_PRIVILEGED_ACTIONS` | `<service>:<Operation>`s whose CloudTrail calls are reconciled with approvals |
 *
 * Macie findings (the `Macie Finding` rule on the default bus) are always stored and looked up; the
 * `countersign:macie` switch only adds the classification jobs (and their IAM permissions).
 * | `countersign:executorBuckets` | `[]` | buckets whose objects the s3:CopyObject executor may read and write |
 * | `countersign:executorAllowedPolicyArns` | `[]` | the only IAM policies the iam:AttachRolePolicy executor attaches |
 *
 * Slack or Teams also need `countersign:consoleUrl`, which their messages link to.
 *
 * The directory is the shape of countersign.local.json's `users` and `agents` (ids, emails,
 * groups, chat ids; never secrets). It travels in the handlers' `DIRECTORY_JSON`, so it must fit
 * Lambda's 4 KB environment: at most DIRECTORY_MAX_BYTES of JSON.
 *
 * With `countersign:identityStoreId` people (users and their group names) come from IAM Identity
 * Center instead, the directory keeps only the `agents`, and Slack/Teams accounts are bound by
 * override items in the table. The stack must run in the account and Region of the Identity
 * Center instance (the identity store is called with the handlers' own credentials and Region).
 */
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';
import * as z from 'zod';
import { AgentPrincipal } from '../lambdas/domain/agent-principals.ts';
import { DirectoryDocument } from '../lambdas/domain/directory.ts';
import { DEFAULT_PRIVILEGED_ACTIONS, PrivilegedActions } from '../lambdas/domain/privileged-actions.ts';
import { Arn, GroupName, IamPolicyArn, IdentityStoreId } from '../lambdas/domain/schemas.ts';
import { CHAT_CONTEXT_KEYS } from './chat-integrations.ts';

export const CONTEXT_KEYS = {
  busName: 'countersign:busName',
  defaultApproverGroup: 'countersign:defaultApproverGroup',
  defaultTimeoutSeconds: 'countersign:defaultTimeoutSeconds',
  logRetentionDays: 'countersign:logRetentionDays',
  logLevel: 'countersign:logLevel',
  agents: 'countersign:agents',
  alarmEmails: 'countersign:alarmEmails',
  consoleUrl: 'countersign:consoleUrl',
  jwtIssuer: 'countersign:jwtIssuer',
  jwtAudience: 'countersign:jwtAudience',
  jwtJwksUrl: 'countersign:jwtJwksUrl',
  directory: 'countersign:directory',
  identityStoreId: 'countersign:identityStoreId',
  auditorGroups: 'countersign:auditorGroups',
  receiptKeyGeneration: 'countersign:receiptKeyGeneration',
  retiredReceiptKeyArns: 'countersign:retiredReceiptKeyArns',
  archiveRetentionDays: 'countersign:archiveRetentionDays',
  apiCorsOrigins: 'countersign:apiCorsOrigins',
  apiThrottleRateLimit: 'countersign:apiThrottleRateLimit',
  apiThrottleBurstLimit: 'countersign:apiThrottleBurstLimit',
  privilegedActions: 'countersign:privilegedActions',
  executorBuckets: 'countersign:executorBuckets',
  executorAllowedPolicyArns: 'countersign:executorAllowedPolicyArns',
  ...CHAT_CONTEXT_KEYS,
  macie: 'countersign:macie',
  macieJobRoleArn: 'countersign:macieJobRoleArn',
  classificationTimeoutSeconds: 'countersign:classificationTimeoutSeconds',
  classificationPollSeconds: 'countersign:classificationPollSeconds',
} as const;

/**
 * The directory shares Lambda's 4 KB of environment with the other variables; larger directories
 * need a store of their own (the identity store), not a bigger variable.
 */
export const DIRECTORY_MAX_BYTES = 3072;

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Whether a URL points at this machine, as the local twin's dev issuer does. */
export const isLoopbackUrl = (url: string): boolean => LOOPBACK_HOSTS.has(new URL(url).hostname);

/**
 * API Gateway fetches the issuer's metadata and keys over HTTPS; plain HTTP is accepted only on
 * loopback, for the local twin's dev issuer (which AWS can never reach, so it fails closed there).
 */
const IssuerUrl = z
  .url()
  .refine(
    (url) => url.startsWith('https://') || (url.startsWith('http://') && isLoopbackUrl(url)),
    'must be an https URL (http only on 127.0.0.1 or localhost, for the local twin)',
  );

/** A browser origin: scheme, host and optional port, nothing else. */
const Origin = z
  .url()
  .refine((url) => new URL(url).origin === url, 'must be an origin such as https://console.example.com');

const RETENTION_VALUES = new Set<number>(
  Object.values(RetentionDays).filter((value): value is number => typeof value === 'number'),
);

/** Context given with `-c` arrives as a string; from cdk.json as JSON. Accept both for structured keys. */
const fromJsonString = (value: unknown): unknown => {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
};

const CountersignConfigFields = z.strictObject({
  busName: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,256}$/, 'an event bus name: letters, digits, . _ - (at most 256)')
    .refine((name) => name !== 'default', 'the default bus cannot carry the Countersign policy'),
  defaultApproverGroup: z.string().trim().min(1),
  defaultTimeoutSeconds: z.coerce.number().int().min(60).max(31_536_000),
  logRetentionDays: z.coerce
    .number()
    .int()
    .refine((days) => RETENTION_VALUES.has(days), 'must be a CloudWatch Logs retention value, e.g. 365'),
  logLevel: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']),
  agents: z.preprocess(
    fromJsonString,
    z
      .array(AgentPrincipal)
      .refine(
        (agents) => new Set(agents.map((agent) => agent.id)).size === agents.length,
        'agent ids must be unique',
      ),
  ),
  alarmEmails: z.preprocess(fromJsonString, z.array(z.email())),
  consoleUrl: z.url().optional(),
  jwtIssuer: IssuerUrl.optional(),
  jwtAudience: z.string().trim().min(1).optional(),
  jwtJwksUrl: IssuerUrl.optional(),
  directory: z.preprocess(
    fromJsonString,
    DirectoryDocument.check(
      z.refine(
        (document) => Buffer.byteLength(JSON.stringify(document)) <= DIRECTORY_MAX_BYTES,
        `must fit in ${DIRECTORY_MAX_BYTES} bytes of JSON (it is passed in the handlers' environment)`,
      ),
    ),
  ),
  identityStoreId: z.optional(IdentityStoreId),
  auditorGroups: z.preprocess(fromJsonString, z.array(GroupName)),
  receiptKeyGeneration: z.coerce.number().int().min(1).max(1000),
  retiredReceiptKeyArns: z.preprocess(
    fromJsonString,
    z.array(z.string().regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/, 'a KMS key ARN')),
  ),
  /** At least a day (Object Lock's minimum), at most a hundred years. */
  archiveRetentionDays: z.coerce.number().int().min(1).max(36_500),
  apiCorsOrigins: z.preprocess(fromJsonString, z.array(Origin)),
  apiThrottleRateLimit: z.coerce.number().positive().max(10_000),
  apiThrottleBurstLimit: z.coerce.number().int().min(1).max(5_000),
  privilegedActions: z.preprocess(fromJsonString, PrivilegedActions),
  slackChannelId: z
    .string()
    .regex(/^[CG][A-Z0-9]{2,}$/, 'must be a Slack channel id such as C0123456789')
    .optional(),
  teamsConversationId: z.string().trim().min(1).optional(),
  teamsServiceUrl: z
    .url({ protocol: /^https$/, error: 'must be the https Bot Connector service URL' })
    .optional(),
  macie: z.preprocess(fromJsonString, z.boolean()),
  macieJobRoleArn: z.optional(
    Arn.check(z.refine((arn) => /^arn:aws[a-z-]*:iam::\d{12}:role\//.test(arn), 'must be an IAM role ARN')),
  ),
  classificationTimeoutSeconds: z.coerce.number().int().min(1).max(86_400),
  classificationPollSeconds: z.coerce.number().int().min(1).max(300),
  executorBuckets: z.preprocess(
    fromJsonString,
    z.array(z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name')),
  ),
  executorAllowedPolicyArns: z.preprocess(fromJsonString, z.array(IamPolicyArn)),
});
const CountersignConfigSchema = CountersignConfigFields.superRefine((config, context) => {
  if (config.jwtIssuer !== undefined && config.jwtAudience === undefined) {
    context.addIssue({
      code: 'custom',
      path: ['jwtAudience'],
      message: `is required when ${CONTEXT_KEYS.jwtIssuer} is set`,
    });
  }
  if ((config.teamsConversationId === undefined) !== (config.teamsServiceUrl === undefined)) {
    context.addIssue({
      code: 'custom',
      path: [config.teamsConversationId === undefined ? 'teamsConversationId' : 'teamsServiceUrl'],
      message: `${CONTEXT_KEYS.teamsConversationId} and ${CONTEXT_KEYS.teamsServiceUrl} go together`,
    });
  }
  const chat = config.slackChannelId !== undefined || config.teamsConversationId !== undefined;
  if (chat && config.consoleUrl === undefined) {
    context.addIssue({
      code: 'custom',
      path: ['consoleUrl'],
      message: 'is required with Slack or Teams: every review message links to the console',
    });
  }
  if (config.identityStoreId !== undefined && config.directory.users.length > 0) {
    // Two sources of people would let one say "not in the group" while the other says "in it".
    context.addIssue({
      code: 'custom',
      path: ['directory', 'users'],
      message: `must be empty when ${CONTEXT_KEYS.identityStoreId} is set: people come from the identity store`,
    });
  }
  checkAgentsAndOwners(config, context);
  if (!config.macie && config.macieJobRoleArn !== undefined) {
    context.addIssue({
      code: 'custom',
      path: ['macieJobRoleArn'],
      message: `has no effect without ${CONTEXT_KEYS.macie}`,
    });
  }
  if (config.classificationPollSeconds > config.classificationTimeoutSeconds) {
    context.addIssue({
      code: 'custom',
      path: ['classificationPollSeconds'],
      message: `must not exceed ${CONTEXT_KEYS.classificationTimeoutSeconds}`,
    });
  }
  if (config.jwtIssuer === undefined) {
    for (const field of ['jwtAudience', 'jwtJwksUrl'] as const) {
      if (config[field] !== undefined) {
        context.addIssue({
          code: 'custom',
          path: [field],
          message: `has no effect without ${CONTEXT_KEYS.jwtIssuer}`,
        });
      }
    }
  }
});
export type CountersignConfig = z.infer<typeof CountersignConfigSchema>;

/**
 * Every agent the bus admits is one the directory registers, with an owner who is a person in
 * the directory (checked here when the directory lists the people; with an identity store the
 * owner is resolved at evaluation, which denies a request whose owner does not resolve). Ids are
 * unique across people and agents, so an agent can never be taken for a person.
 */
function checkAgentsAndOwners(
  config: z.infer<typeof CountersignConfigFields>,
  context: z.RefinementCtx,
): void {
  const { users, agents } = config.directory;
  const registered = new Set(agents.map((agent) => agent.id));
  config.agents.forEach((agent, index) => {
    if (!registered.has(agent.id)) {
      context.addIssue({
        code: 'custom',
        path: ['agents', index, 'id'],
        message: `agent "${agent.id}" is not in ${CONTEXT_KEYS.directory}'s agents, with its owner: its requests would all be denied`,
      });
    }
  });
  if (new Set(agents.map((agent) => agent.id)).size !== agents.length) {
    context.addIssue({ code: 'custom', path: ['directory', 'agents'], message: 'agent ids must be unique' });
  }
  const userIds = new Set(users.map((user) => user.id));
  agents.forEach((agent, index) => {
    if (userIds.has(agent.id)) {
      context.addIssue({
        code: 'custom',
        path: ['directory', 'agents', index, 'id'],
        message: `"${agent.id}" is also a user id: people and agents must be told apart`,
      });
    }
  });
  if (config.identityStoreId !== undefined) return;
  agents.forEach((agent, index) => {
    const owner = agent.owner.toLowerCase();
    const person = users.some((user) => user.id === agent.owner || user.email?.toLowerCase() === owner);
    if (!person) {
      context.addIssue({
        code: 'custom',
        path: ['directory', 'agents', index, 'owner'],
        message: `the owner of "${agent.id}" ("${agent.owner}") is not a user of the directory (by id or email)`,
      });
    }
  });
}

export const CONFIG_DEFAULTS = {
  busName: 'countersign',
  defaultApproverGroup: 'security',
  defaultTimeoutSeconds: 3600,
  logRetentionDays: 365,
  logLevel: 'INFO',
  agents: [],
  alarmEmails: [],
  consoleUrl: undefined,
  jwtIssuer: undefined,
  jwtAudience: undefined,
  jwtJwksUrl: undefined,
  directory: { users: [], agents: [] },
  identityStoreId: undefined,
  auditorGroups: ['security'],
  receiptKeyGeneration: 1,
  retiredReceiptKeyArns: [],
  archiveRetentionDays: 365,
  apiCorsOrigins: [],
  apiThrottleRateLimit: 50,
  apiThrottleBurstLimit: 100,
  privilegedActions: DEFAULT_PRIVILEGED_ACTIONS,
  slackChannelId: undefined,
  teamsConversationId: undefined,
  teamsServiceUrl: undefined,
  macie: false,
  macieJobRoleArn: undefined,
  classificationTimeoutSeconds: 900,
  classificationPollSeconds: 30,
  executorBuckets: [],
  executorAllowedPolicyArns: [],
} as const satisfies Record<keyof typeof CONTEXT_KEYS, unknown>;

/** Reads every `countersign:*` context key (falling back to its default); throws naming each bad key. */
export function readCountersignConfig(scope: IConstruct): CountersignConfig {
  const raw = Object.fromEntries(
    Object.entries(CONTEXT_KEYS).map(([field, key]) => [
      field,
      scope.node.tryGetContext(key) ?? CONFIG_DEFAULTS[field as keyof typeof CONTEXT_KEYS],
    ]),
  );
  const result = CountersignConfigSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const [field, ...rest] = issue.path;
      const key = CONTEXT_KEYS[field as keyof typeof CONTEXT_KEYS] ?? String(field);
      return `${[key, ...rest].join('.')}: ${issue.message}`;
    });
    throw new Error(`invalid Countersign context: ${problems.join('; ')}`);
  }
  return result.data;
}
