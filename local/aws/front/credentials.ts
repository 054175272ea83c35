/**
 * Who may call the twin's AWS front: the agents of the directory (countersign.local.json), each
 * with its own access key, and the operator, whose key the twin generates once per data dir for
 * its own CLI, handlers and tests. An access key always resolves to exactly one principal.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ConfigurationError } from '../../../lambdas/domain/errors.ts';
import { AgentId, parse } from '../../../lambdas/domain/schemas.ts';
import { readJsonFile, writeJsonFileAtomic } from '../../twin/files.ts';

export const OPERATOR_CREDENTIALS_FILE = 'operator-credentials.json';

export const AwsCredentials = z.strictObject({
  accessKeyId: z.string().regex(/^[A-Z0-9]{16,128}$/),
  secretAccessKey: z.string().min(20),
});
export type AwsCredentials = z.infer<typeof AwsCredentials>;

/** The agents' keys, as the directory document carries them (other keys belong to other readers). */
const DirectoryKeys = z.object({
  agents: z
    .array(z.object({ id: AgentId, accessKeyId: z.string().min(1), secretAccessKey: z.string().min(1) }))
    .default([]),
});

export type CallerPrincipal =
  | { readonly kind: 'operator' }
  | { readonly kind: 'agent'; readonly agentId: string };

export interface KeyRing {
  readonly operator: AwsCredentials;
  secretOf(accessKeyId: string): string | undefined;
  principalOf(accessKeyId: string): CallerPrincipal | undefined;
}

interface KeyEntry {
  readonly secret: string;
  readonly principal: CallerPrincipal;
}

export function createKeyRing(operator: AwsCredentials, agents: readonly AgentKey[]): KeyRing {
  const entries = new Map<string, KeyEntry>();
  entries.set(operator.accessKeyId, { secret: operator.secretAccessKey, principal: { kind: 'operator' } });
  for (const agent of agents) {
    if (entries.has(agent.accessKeyId)) {
      throw new ConfigurationError(`access key ${agent.accessKeyId} is configured twice`);
    }
    entries.set(agent.accessKeyId, {
      secret: agent.secretAccessKey,
      principal: { kind: 'agent', agentId: agent.id },
    });
  }
  return {
    operator,
    secretOf: (accessKeyId) => entries.get(accessKeyId)?.secret,
    principalOf: (accessKeyId) => entries.get(accessKeyId)?.principal,
  };
}

export interface AgentKey {
  readonly id: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export async function readAgentKeys(directoryPath: string): Promise<AgentKey[]> {
  const text = await readFile(directoryPath, 'utf8');
  return parse(DirectoryKeys, JSON.parse(text), `directory ${directoryPath}`).agents;
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
