/**
 * The one place handlers read their environment. Each handler module calls `loadEnvironment` at
 * load time, so a function deployed without a setting fails at cold start, naming every missing
 * or malformed variable, instead of failing later on the first request that needs it.
 */
import { AgentPrincipal } from '../domain/agent-principals.ts';
import { ConfigurationError } from '../domain/errors.ts';
import { cloudTrailAction } from '../domain/privileged-actions.ts';
import {
  ActionName,
  Arn,
  describeIssues,
  GroupName,
  IamPolicyArn,
  IdentityStoreId,
} from '../domain/schemas.ts';
import * as z from '../domain/zod.ts';
import { ENV } from './environment-names.ts';

const Required = z.string({ error: 'is required' }).check(z.trim(), z.minLength(1, 'must not be empty'));

/** A JSON array of `element`s, e.g. `["security"]` (possibly empty). */
function jsonList<T extends z.core.$ZodType>(element: T, what: string) {
  return z.pipe(
    z.pipe(
      Required,
      z.transform((text, context) => {
        try {
          return JSON.parse(text) as unknown;
        } catch {
          context.issues.push({ code: 'custom', message: `must be a JSON array of ${what}`, input: text });
          return z.NEVER;
        }
      }),
    ),
    z.array(element, { error: `must be a JSON array of ${what}` }),
  );
}

/** A positive whole number, e.g. seconds. */
const positiveInteger = () => z.pipe(Required, z.coerce.number<string>().check(z.int(), z.positive()));

/**
 * Variables that need more than "present and non-empty", and the optional ones. Any other name in
 * ENV is simply required. Each schema is built when a handler asks for its variable: a function
 * reads a few of these, and building all of them (~90 zod schemas) was part of every cold start.
 */
const SPECIAL_VARIABLES = {
  tableName: () => Required,
  eventBusName: () => Required,
  policyDir: () => Required,
  defaultApproverGroup: () => Required,
  defaultTimeoutSeconds: positiveInteger,
  consoleUrl: () => z.pipe(Required, z.url()),
  directoryJson: () => z.optional(Required),
  identityStoreId: () => z.optional(z.pipe(Required, IdentityStoreId)),
  jwtIssuer: () => z.pipe(Required, z.url()),
  jwtJwksUrl: () => z.optional(z.pipe(Required, z.url())),
  auditorGroups: () => jsonList(GroupName, 'group names'),
  receiptRetiredKeyIds: () => z.optional(jsonList(z.string().check(z.minLength(1)), 'KMS key ARNs')),
  slackSecretArn: () => z.optional(Required),
  slackChannelId: () => z.optional(Required),
  slackApiUrl: () => z.optional(z.pipe(Required, z.url())),
  teamsSecretArn: () => z.optional(Required),
  teamsConversationId: () => z.optional(Required),
  teamsServiceUrl: () => z.optional(z.pipe(Required, z.url())),
  botOpenIdMetadataUrl: () => z.optional(z.pipe(Required, z.url())),
  botTokenUrl: () => z.optional(z.pipe(Required, z.url())),
  reminderLookbackSeconds: positiveInteger,
  classificationTimeoutSeconds: positiveInteger,
  classificationPollSeconds: positiveInteger,
  macieBucketOwnerAccountId: () =>
    z.pipe(Required, z.string().check(z.regex(/^\d{12}$/, 'must be a 12-digit account id'))),
  macieJobRoleArn: () => z.optional(z.pipe(Required, Arn)),
  classifyBeforeApproval: () =>
    z.pipe(
      z.pipe(Required, z.enum(['true', 'false'])),
      z.transform((value) => value === 'true'),
    ),
  agentPrincipals: () => jsonList(AgentPrincipal, 'agents ({"id","principalArn"})'),
  // As CloudTrail names them (the one spelling calls and approvals are compared in).
  privilegedActions: () =>
    z.pipe(
      jsonList(ActionName, '"<service>:<Operation>" names'),
      z.transform((actions): ReadonlySet<string> => new Set(actions.map(cloudTrailAction))),
    ),
  executorAllowedPolicyArns: () => jsonList(IamPolicyArn, 'IAM policy ARNs'),
  auditRetentionDays: positiveInteger,
  auditDigestLookbackSeconds: positiveInteger,
  auditMaxRecordDelaySeconds: positiveInteger,
} as const satisfies Partial<Record<keyof typeof ENV, () => z.ZodMiniType>>;
type SpecialVariables = typeof SPECIAL_VARIABLES;

export type EnvironmentKey = keyof typeof ENV;
export type Environment<K extends EnvironmentKey> = {
  readonly [P in K]: P extends keyof SpecialVariables ? z.infer<ReturnType<SpecialVariables[P]>> : string;
};

function schemaOf(key: EnvironmentKey): z.ZodMiniType {
  return key in SPECIAL_VARIABLES ? SPECIAL_VARIABLES[key as keyof SpecialVariables]() : Required;
}

/**
 * Reads and validates the named variables from `source` (the process environment by default).
 * Throws one ConfigurationError listing every problem, by variable name.
 */
export function loadEnvironment<const K extends EnvironmentKey>(
  keys: readonly K[],
  source: Readonly<Record<string, string | undefined>> = process.env,
): Environment<K> {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const key of keys) {
    const result = schemaOf(key).safeParse(source[ENV[key]]);
    if (result.success) {
      values[key] = result.data;
    } else {
      problems.push(
        ...describeIssues(result.error).map((issue) => `${ENV[key]} ${issue.replace(/^\(root\): /, '')}`),
      );
    }
  }
  if (problems.length > 0) {
    throw new ConfigurationError(`invalid environment: ${problems.join('; ')}`);
  }
  return values as Environment<K>;
}
