/**
 * Countersign's rules, as the twin enforces them for the stack: what the deployed IAM and bus
 * policies allow each caller, and the local settings of the functions.
 *  - An agent may put events, but only with its own source `countersign.agent.<id>` and only on the
 *    Countersign bus (the bus policy's `events:source` condition); it may call the HTTP API's
 *    IAM-authorized routes (`execute-api:Invoke`: the fast decision path); it may use S3 as a real
 *    agent role with S3 permissions could; nothing else. The operator (the twin's own functions,
 *    CLI, tests) may call anything. A role session (the executor's, from the twin's STS) may read
 *    and write S3 objects and attach role policies, and only what its session policy allows.
 *  - The fast decision path and the reconciliation of privileged calls know each agent by the
 *    principal its key signs as (countersign.local.json's `principalArn`, by default the IAM user
 *    `arn:aws:iam::000000000000:user/agents/<id>`), whatever principal the template names.
 *  - Every function that resolves people gets the twin's directory (countersign.local.json without
 *    its secrets) in DIRECTORY_JSON, even when the template was synthesized for Identity Center:
 *    the twin never reaches a real identity store.
 *  - Review links point at the twin's own console.
 */
import { AGENT_SOURCE_PREFIX } from '../../lambdas/domain/schemas.ts';
import { ENV } from '../../lambdas/handlers/environment-names.ts';
import type { AwsCaller, AwsPermission, TwinExtension } from '../twin/index.ts';
import { agentPrincipals, type LocalConfig, publicDirectory } from './config.ts';

/** The AWS actions an agent's key may call in the twin. */
const AGENT_ACTIONS = [/^events:PutEvents$/, /^execute-api:Invoke$/, /^s3:/] as const;
const DEFAULT_BUS = 'default';

/**
 * What a role session may call at most: the executor role's actions (its session policy, which the
 * twin checks first, narrows them to the one approved call on its resources).
 */
const SESSION_ACTIONS = [/^s3:(GetObject|GetObjectVersion|PutObject)$/, /^iam:AttachRolePolicy$/] as const;

export function mayCall(caller: AwsCaller, action: string, permissions: readonly AwsPermission[]): boolean {
  if (caller.kind === 'operator') return true;
  if (caller.kind === 'agent') return AGENT_ACTIONS.some((pattern) => pattern.test(action));
  // IAM actions, not operations: a session's CopyObject is its GetObject and PutObject.
  return permissions.every((permission) =>
    SESSION_ACTIONS.some((pattern) => pattern.test(permission.action)),
  );
}

export function agentSourcePolicy(
  entry: { readonly source: string; readonly busName: string },
  caller: AwsCaller | undefined,
): boolean {
  if (caller?.kind !== 'agent') return true;
  return entry.source === `${AGENT_SOURCE_PREFIX}${caller.agentId}` && entry.busName !== DEFAULT_BUS;
}

export function countersignRules(config: LocalConfig, twin: { readonly url: string }): TwinExtension {
  const directoryJson = JSON.stringify(publicDirectory(config));
  const principalsJson = JSON.stringify(agentPrincipals(config));
  return {
    authorize: mayCall,
    putEventsPolicy: agentSourcePolicy,
    functionEnvironment: (_fn, environment) => {
      const { [ENV.identityStoreId]: identityStore, ...rest } = environment;
      const resolvesPeople = environment[ENV.directoryJson] !== undefined || identityStore !== undefined;
      return {
        ...rest,
        ...(resolvesPeople ? { [ENV.directoryJson]: directoryJson } : {}),
        ...(environment[ENV.consoleUrl] !== undefined ? { [ENV.consoleUrl]: twin.url } : {}),
        // The reconciliation tells an agent's calls by the principal its key signs as in the twin.
        ...(environment[ENV.agentPrincipals] !== undefined ? { [ENV.agentPrincipals]: principalsJson } : {}),
      };
    },
  };
}
