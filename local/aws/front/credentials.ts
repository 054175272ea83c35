/**
 * Who may call the twin's AWS front: the operator, whose key the twin generates once per data dir
 * for its own functions, CLI and tests, and the agents the composition registers, each with its
 * own key. An access key always resolves to exactly one caller.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as z from 'zod';
import { ConfigurationError } from '../../../lambdas/domain/errors.ts';
import { parse } from '../../../lambdas/domain/schemas.ts';
import { LOCAL_ACCOUNT } from '../cloudformation/intrinsics.ts';
import { readJsonFile, writeJsonFileAtomic } from '../files.ts';
import type { AwsCaller } from './service.ts';

export const OPERATOR_CREDENTIALS_FILE = 'operator-credentials.json';

export const AwsCredentials = z.strictObject({
  accessKeyId: z.string().regex(/^[A-Z0-9]{16,128}$/),
  secretAccessKey: z.string().min(20),
});
export type AwsCredentials = z.infer<typeof AwsCredentials>;

/** An agent's IAM user in the twin, with its access key. */
export interface AgentKey {
  readonly id: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The IAM user or role the key signs as. @default agentArn(id) */
  readonly principalArn?: string;
}

/** A temporary key (a role session): good with its session token, until it expires. */
export interface TemporaryKey {
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
  readonly caller: AwsCaller;
}

/** Where temporary keys are issued (the twin's STS). */
export interface TemporaryKeys {
  find(accessKeyId: string): TemporaryKey | undefined;
}

export interface KeyRing {
  readonly operator: AwsCredentials;
  /** The secret of a known key (an unexpired one, for a temporary key at `now`). */
  secretOf(accessKeyId: string, now?: Date): string | undefined;
  callerOf(accessKeyId: string, now?: Date): AwsCaller | undefined;
  /** The session token a temporary key must come with; undefined for a long-term key. */
  sessionTokenOf(accessKeyId: string, now?: Date): string | undefined;
  /** This ring and the temporary keys `temporary` issues. */
  with(temporary: TemporaryKeys): KeyRing;
}

export function operatorArn(): string {
  return `arn:aws:iam::${LOCAL_ACCOUNT}:user/operator`;
}

export function agentArn(agentId: string): string {
  return `arn:aws:iam::${LOCAL_ACCOUNT}:user/agents/${agentId}`;
}

export function createKeyRing(
  operator: AwsCredentials,
  agents: readonly AgentKey[],
  temporary: readonly TemporaryKeys[] = [],
): KeyRing {
  const entries = new Map<string, { readonly secret: string; readonly caller: AwsCaller }>();
  entries.set(operator.accessKeyId, {
    secret: operator.secretAccessKey,
    caller: { kind: 'operator', accessKeyId: operator.accessKeyId, principalArn: operatorArn() },
  });
  for (const agent of agents) {
    if (entries.has(agent.accessKeyId)) {
      throw new ConfigurationError(`access key ${agent.accessKeyId} is configured twice`);
    }
    entries.set(agent.accessKeyId, {
      secret: agent.secretAccessKey,
      caller: {
        kind: 'agent',
        agentId: agent.id,
        accessKeyId: agent.accessKeyId,
        principalArn: agent.principalArn ?? agentArn(agent.id),
      },
    });
  }
  const temporaryKey = (accessKeyId: string, now: Date) => {
    for (const source of temporary) {
      const key = source.find(accessKeyId);
      if (key !== undefined) return key.expiration > now ? key : undefined;
    }
    return undefined;
  };
  return {
    operator,
    secretOf: (accessKeyId, now = new Date()) =>
      entries.get(accessKeyId)?.secret ?? temporaryKey(accessKeyId, now)?.secretAccessKey,
    callerOf: (accessKeyId, now = new Date()) =>
      entries.get(accessKeyId)?.caller ?? temporaryKey(accessKeyId, now)?.caller,
    sessionTokenOf: (accessKeyId, now = new Date()) =>
      entries.has(accessKeyId) ? undefined : temporaryKey(accessKeyId, now)?.sessionToken,
    with: (more) => createKeyRing(operator, agents, [...temporary, more]),
  };
}

function generateOperatorCredentials(): AwsCredentials {
  // AKIA-style id so tools that sniff key shapes accept it; the secret is 240 random bits.
  const id = `AKIALOCAL${randomBytes(8).toString('hex').toUpperCase()}`.slice(0, 20);
  return { accessKeyId: id, secretAccessKey: randomBytes(30).toString('base64url') };
}

/** Reads the data dir's operator key, generating and storing one on first start. */
export async function loadOrCreateOperatorCredentials(
  path: string,
): Promise<{ credentials: AwsCredentials; created: boolean }> {
  const stored = await readJsonFile(path);
  if (stored !== undefined) {
    return { credentials: parse(AwsCredentials, stored, `operator credentials ${path}`), created: false };
  }
  const credentials = generateOperatorCredentials();
  await writeJsonFileAtomic(path, credentials, 0o600);
  return { credentials, created: true };
}

/** IAM's unique id of a role (`AROA…`) or user (`AIDA…`): stable for its ARN, as in AWS. */
export function iamUniqueId(prefix: 'AROA' | 'AIDA', arn: string): string {
  return `${prefix}${createHash('sha256').update(arn).digest('hex').slice(0, 17).toUpperCase()}`;
}

/** `aws:userid` of a caller: `AIDA…` for a user, `AROA…:<session name>` for a role session. */
export function userIdOf(caller: AwsCaller): string {
  return caller.kind === 'session'
    ? assumedRoleIdOf(caller.roleArn, caller.sessionName)
    : iamUniqueId('AIDA', caller.principalArn);
}

/** The `AssumedRoleId` of a session: the role's unique id and the session name. */
export function assumedRoleIdOf(roleArn: string, sessionName: string): string {
  return `${iamUniqueId('AROA', roleArn)}:${sessionName}`;
}
