/**
 * countersign.local.json: the twin's directory and its local-only settings, in one schema, read and
 * validated once. The people and agents are the deployed DIRECTORY_JSON document (the same schema,
 * DirectoryDocument); the twin adds each agent's access key (its IAM user in the twin) and the chat
 * platforms' local settings. Everything else derives from the parsed config: the directory the
 * handlers get (no secrets), the agents' keys, the chat secrets' values.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { AgentPrincipal } from '../../lambdas/domain/agent-principals.ts';
import { DirectoryAgent, DirectoryDocument } from '../../lambdas/domain/directory.ts';
import { ValidationError } from '../../lambdas/domain/errors.ts';
import { parse } from '../../lambdas/domain/schemas.ts';
import * as z from '../../lambdas/domain/zod.ts';
import { LOCAL_ACCOUNT } from '../aws/cloudformation/intrinsics.ts';
import { AwsCredentials, agentArn } from '../aws/front/credentials.ts';

/** countersign.local.json at the root of this clone, wherever the twin or the CLI is run from. */
export const DEFAULT_CONFIG_PATH = fileURLToPath(new URL('../../countersign.local.json', import.meta.url));

/**
 * The IAM principal an agent's key signs as in the twin: a user or a role of the twin's account.
 * A CloudTrail record of its calls names it, and reconciliation tells the agent by it.
 */
const TwinPrincipalArn = z
  .string()
  .check(
    z.regex(
      new RegExp(`^arn:aws:iam::${LOCAL_ACCOUNT}:(user|role)/[\\w+=,.@/-]{1,512}$`),
      `must be an IAM user or role ARN in the twin's account ${LOCAL_ACCOUNT}`,
    ),
  );

const LocalAgentEntry = z.pipe(
  z.extend(DirectoryAgent, { ...AwsCredentials.shape, principalArn: z.optional(TwinPrincipalArn) }),
  // Without one, the agent is the IAM user arn:aws:iam::000000000000:user/agents/<id>.
  z.transform((agent) => ({ ...agent, principalArn: agent.principalArn ?? agentArn(agent.id) })),
);

export const LocalConfig = z.strictObject({
  $comment: z.optional(z.string()),
  users: DirectoryDocument.shape.users,
  agents: z._default(z.array(LocalAgentEntry), []),
  /** The Slack app the twin stands in for: its signing secret and the review channel. */
  slack: z.optional(
    z.strictObject({
      signingSecret: z.string().check(z.minLength(1)),
      channel: z.string().check(z.minLength(1)),
    }),
  ),
  /** The Teams bot the twin stands in for: its app id and the review conversation. */
  teams: z.optional(
    z.strictObject({
      appId: z.string().check(z.minLength(1)),
      conversationId: z.string().check(z.minLength(1)),
    }),
  ),
});
export type LocalConfig = z.infer<typeof LocalConfig>;
export type LocalAgent = LocalConfig['agents'][number];

export function parseLocalConfig(text: string, source: string): LocalConfig {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new ValidationError(`${source} is not JSON`, [String(error)], { cause: error });
  }
  const config = parse(LocalConfig, document, source);
  const keys = config.agents.map((agent) => agent.accessKeyId);
  const repeated = keys.find((key, index) => keys.indexOf(key) !== index);
  if (repeated !== undefined) {
    throw new ValidationError(`invalid ${source}`, [`access key ${repeated} belongs to more than one agent`]);
  }
  const principals = config.agents.map((agent) => agent.principalArn);
  const shared = principals.find((arn, index) => principals.indexOf(arn) !== index);
  if (shared !== undefined) {
    throw new ValidationError(`invalid ${source}`, [`principal ${shared} belongs to more than one agent`]);
  }
  return config;
}

export async function readLocalConfig(path: string = DEFAULT_CONFIG_PATH): Promise<LocalConfig> {
  return parseLocalConfig(await readFile(path, 'utf8'), path);
}

/** The directory as the deployed stack passes it in DIRECTORY_JSON: people and agents, no secrets. */
export function publicDirectory(config: LocalConfig): DirectoryDocument {
  return {
    users: config.users,
    agents: config.agents.map(
      ({ accessKeyId: _key, secretAccessKey: _secret, principalArn: _principal, ...agent }) => agent,
    ),
  };
}

/** Each agent's principal, as the deployed stack passes `countersign:agents` in AGENT_PRINCIPALS. */
export function agentPrincipals(config: LocalConfig): AgentPrincipal[] {
  return config.agents.map(({ id, principalArn }) => ({ id, principalArn }));
}
