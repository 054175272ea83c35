/**
 * Chat credentials (Slack signing secret + bot token, Teams app id + password) read at runtime
 * from Secrets Manager and cached for a few minutes, so a rotated secret is picked up without a
 * deploy and the values never sit in environment variables (those hold only the secret ARNs).
 * The twin answers GetSecretValue from countersign.local.json, so this same code runs there.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigurationError } from '../domain/errors.ts';
import * as z from '../domain/zod.ts';

export const SlackCredentials = z.object({
  signingSecret: z.string().check(z.minLength(1)),
  botToken: z.string().check(z.minLength(1)),
});
export type SlackCredentials = z.infer<typeof SlackCredentials>;
export const TeamsCredentials = z.object({
  appId: z.string().check(z.minLength(1)),
  appPassword: z.string().check(z.minLength(1)),
});
export type TeamsCredentials = z.infer<typeof TeamsCredentials>;

/** Resolves the current credentials; rejects (fail closed) when they cannot be read. */
export type CredentialSource<T> = () => Promise<T>;

export interface CachedSecretOptions<T> {
  readonly client: Pick<SecretsManagerClient, 'send'>;
  readonly secretId: string;
  readonly schema: z.ZodMiniType<T>;
  /** @default 300 */
  readonly ttlSeconds?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

export function cachedSecret<T>(options: CachedSecretOptions<T>): CredentialSource<T> {
  const ttlMs = (options.ttlSeconds ?? 300) * 1000;
  const now = options.now ?? Date.now;
  let cached: { value: T; until: number } | undefined;
  let inflight: Promise<T> | undefined;

  async function load(): Promise<T> {
    const { SecretString } = await options.client.send(
      new GetSecretValueCommand({ SecretId: options.secretId }),
    );
    const parsed = options.schema.safeParse(JSON.parse(SecretString ?? 'null'));
    // Never echo the secret's content in the error: only which fields are wrong.
    if (!parsed.success) {
      throw new ConfigurationError(
        `secret ${options.secretId} is malformed at ${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')}`,
      );
    }
    cached = { value: parsed.data, until: now() + ttlMs };
    return parsed.data;
  }

  return () => {
    if (cached !== undefined && now() < cached.until) return Promise.resolve(cached.value);
    inflight ??= load().finally(() => {
      inflight = undefined;
    });
    return inflight;
  };
}

export function createSecretsManagerClient(): SecretsManagerClient {
  return new SecretsManagerClient({});
}
