/**
 * Which agent an AWS caller is. Each agent runs as one IAM principal (`countersign:agents`:
 * `{id, principalArn}`, a role or a user); API Gateway's IAM authorizer names the caller by the ARN
 * of the identity that signed (`requestContext.authorizer.iam.userArn`): a user's own ARN, or for
 * a role the session's `arn:aws:sts::<account>:assumed-role/<role name>/<session>`, which drops the
 * role's path. The agent is the one whose principal that caller is; anyone else is no agent.
 */
import { AgentId, Arn } from './schemas.ts';
import * as z from './zod.ts';

/** An agent and the one IAM principal (role or user ARN) it runs as. */
export const AgentPrincipal = z.strictObject({
  id: AgentId,
  /** The IAM principal (role or user ARN) the agent runs as. */
  principalArn: Arn,
});
export type AgentPrincipal = z.infer<typeof AgentPrincipal>;

const ROLE = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/;
const ASSUMED_ROLE = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/;

/** Whether the caller ARN is the principal: the same ARN, or a session of the role. */
export function isPrincipal(principalArn: string, callerArn: string): boolean {
  if (callerArn === principalArn) return true;
  const role = ROLE.exec(principalArn);
  const session = ASSUMED_ROLE.exec(callerArn);
  if (role === null || session === null) return false;
  // partition, account and role name (role names are unique in an account, whatever the path).
  return role[1] === session[1] && role[2] === session[2] && role[3] === session[3];
}

/** The id of the agent the caller is, or undefined when it is none (or, misconfigured, more than one). */
export function agentOfCaller(agents: readonly AgentPrincipal[], callerArn: string): string | undefined {
  const matches = new Set(
    agents.filter((agent) => isPrincipal(agent.principalArn, callerArn)).map((agent) => agent.id),
  );
  return matches.size === 1 ? [...matches][0] : undefined;
}
