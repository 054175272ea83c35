/**
 * What a role session's session policy allows, as IAM evaluates it for the permissions a call
 * needs: an explicit Deny matching any of them refuses; otherwise each one must be matched by an
 * Allow (action and resource, with IAM's `*` and `?` wildcards; actions case-insensitive). The twin
 * evaluates no condition: an Allow with a Condition grants nothing and a Deny with one applies, so
 * what the twin cannot read fails closed. A session without a session policy is allowed nothing
 * here (the twin does not evaluate role policies: the session policy is the whole grant).
 */
import * as z from 'zod';
import type { AwsPermission } from '../front/service.ts';

const OneOrMany = z
  .union([z.string(), z.array(z.string())])
  .transform((value) => (Array.isArray(value) ? value : [value]));

const Statement = z.looseObject({
  Effect: z.enum(['Allow', 'Deny']),
  Action: OneOrMany,
  Resource: OneOrMany,
  Condition: z.record(z.string(), z.unknown()).optional(),
});

export const SessionPolicy = z.looseObject({
  Version: z.string().optional(),
  Statement: z
    .union([Statement, z.array(Statement)])
    .transform((value) => (Array.isArray(value) ? value : [value])),
});
export type SessionPolicy = z.infer<typeof SessionPolicy>;

function wildcard(pattern: string, value: string, caseInsensitive: boolean): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, caseInsensitive ? 'is' : 's').test(value);
}

type Statement = z.infer<typeof Statement>;

function matches(statement: Statement, permission: AwsPermission): boolean {
  return (
    statement.Action.some((action) => wildcard(action, permission.action, true)) &&
    statement.Resource.some((resource) => wildcard(resource, permission.resource, false))
  );
}

/** The session policy (JSON as given to AssumeRole), or undefined when it is not a policy IAM would take. */
export function parseSessionPolicy(json: string): SessionPolicy | undefined {
  try {
    const parsed = SessionPolicy.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function sessionPolicyAllows(
  policyJson: string | undefined,
  permissions: readonly AwsPermission[],
): boolean {
  const policy = policyJson === undefined ? undefined : parseSessionPolicy(policyJson);
  if (policy === undefined || permissions.length === 0) return false;
  const denied = policy.Statement.some(
    (statement) =>
      statement.Effect === 'Deny' && permissions.some((permission) => matches(statement, permission)),
  );
  if (denied) return false;
  return permissions.every((permission) =>
    policy.Statement.some(
      (statement) =>
        statement.Effect === 'Allow' && statement.Condition === undefined && matches(statement, permission),
    ),
  );
}
