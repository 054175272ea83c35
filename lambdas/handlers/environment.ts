/**
 * The one place handlers read their environment. Each handler module calls `loadEnvironment` at
 * load time, so a function deployed without a setting fails at cold start, naming every missing
 * or malformed variable, instead of failing later on the first request that needs it.
 */
import * as z from 'zod';
import { AgentPrincipal } from '../domain/agent-principals.ts';
import { ConfigurationError } from '../domain/errors.ts';
import { IamPolicyArn } from '../domain/executors.ts';
import { Arn, describeIssues, GroupName, IdentityStoreId } from '../domain/schemas.ts';
import { ENV } from './environment-names.ts';

const Required = z.string({ error: 'is required' }).trim().min(1, 'must not be empty');

/** A JSON array of `element`s, e.g. `["security"]` (possibly empty). */
function jsonList<T extends z.ZodType>(element: T, what: string) {
  return Required.transform((text, context) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      context.addIssue({ code: 'custom', message: `must be a JSON array of ${what}` });
      return z.NEVER;
    }
  }).pipe(z.array(element, { error: `must be a JSON array of ${what}` }));
}

/**
 * Variables that need more than "present and non-empty", and the optional ones. Any other name in
 * ENV is simply required.
 */
const SPECIAL_VARIABLES = {
  tableName: Required,
  eventBusName: Required,
  policyDir: Required,
  defaultApproverGroup: Required,
  defaultTimeoutSeconds: Required.pipe(z.coerce.number<string>().int().positive()),
  consoleUrl: Required.pipe(z.url()),
  directoryJson: Required.optional(),
  identityStoreId: Required.pipe(IdentityStoreId).optional(),
  jwtIssuer: Required.pipe(z.url()),
  jwtJwksUrl: Required.pipe(z.url()).optional(),
  auditorGroups: jsonList(GroupName, 'group names'),
  receiptRetiredKeyIds: jsonList(z.string().min(1), 'KMS key ARNs').optional(),
  slackSecretArn: Required.optional(),
  slackChannelId: Required.optional(),
  slackApiUrl: Required.pipe(z.url()).optional(),
  teamsSecretArn: Required.optional(),
  teamsConversationId: Required.optional(),
  teamsServiceUrl: Required.pipe(z.url()).optional(),
  botOpenIdMetadataUrl: Required.pipe(z.url()).optional(),
  botTokenUrl: Required.pipe(z.url()).optional(),
  reminderLookbackSeconds: Required.pipe(z.coerce.number<string>().int().positive()),
  classificationTimeoutSeconds: Required.pipe(z.coerce.number<string>().int().positive()),
  classificationPollSeconds: Required.pipe(z.coerce.number<string>().int().positive()),
  macieBucketOwnerAccountId: Required.pipe(z.string().regex(/^\d{12}$/, 'must be a 12-digit account id')),
  macieJobRoleArn: Required.pipe(Arn).optional(),
  classifyBeforeApproval: Required.pipe(z.enum(['true', 'false'])).transform((value) => value === 'true'),
  agentPrincipals: jsonList(AgentPrincipal, 'agents ({"id","principalArn"})'),
  executorAllowedPolicyArns: jsonList(IamPolicyArn, 'IAM policy ARNs'),
  auditRetentionDays: Required.pipe(z.coerce.number<string>().int().positive()),
  auditDigestLookbackSeconds: Required.pipe(z.coerce.number<string>().int().positive()),
  auditMaxRecordDelaySeconds: Required.pipe(z.coerce.number<string>().int().positive()),
} as const satisfies Partial<Record<keyof typeof ENV, z.ZodType>>;
type SpecialVariables = typeof SPECIAL_VARIABLES;

export type EnvironmentKey = keyof typeof ENV;
export type Environment<K extends EnvironmentKey> = {
  readonly [P in K]: P extends keyof SpecialVariables ? z.infer<SpecialVariables[P]> : string;
};

function schemaOf(key: EnvironmentKey): z.ZodType {
  return key in SPECIAL_VARIABLES ? SPECIAL_VARIABLES[key as keyof SpecialVariables] : Required;
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
