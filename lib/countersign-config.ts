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
 */
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';
import { z } from 'zod';
import { AgentId, Arn } from '../lambdas/domain/schemas.ts';

export const CONTEXT_KEYS = {
  busName: 'countersign:busName',
  defaultApproverGroup: 'countersign:defaultApproverGroup',
  defaultTimeoutSeconds: 'countersign:defaultTimeoutSeconds',
  logRetentionDays: 'countersign:logRetentionDays',
  logLevel: 'countersign:logLevel',
  agents: 'countersign:agents',
  alarmEmails: 'countersign:alarmEmails',
  consoleUrl: 'countersign:consoleUrl',
} as const;

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

export const AgentGrant = z.strictObject({
  id: AgentId,
  /** The IAM principal (role or user ARN) the agent runs as. */
  principalArn: Arn,
});
export type AgentGrant = z.infer<typeof AgentGrant>;

const CountersignConfigSchema = z.strictObject({
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
      .array(AgentGrant)
      .refine(
        (agents) => new Set(agents.map((agent) => agent.id)).size === agents.length,
        'agent ids must be unique',
      ),
  ),
  alarmEmails: z.preprocess(fromJsonString, z.array(z.email())),
  consoleUrl: z.url().optional(),
});
export type CountersignConfig = z.infer<typeof CountersignConfigSchema>;

export const CONFIG_DEFAULTS = {
  busName: 'countersign',
  defaultApproverGroup: 'security',
  defaultTimeoutSeconds: 3600,
  logRetentionDays: 365,
  logLevel: 'INFO',
  agents: [],
  alarmEmails: [],
  consoleUrl: undefined,
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
