/**
 * Secrets Manager on the twin (JSON 1.1, `X-Amz-Target: secretsmanager.*`): CreateSecret,
 * DescribeSecret, GetSecretValue and PutSecretValue, with versions and the AWSCURRENT /
 * AWSPREVIOUS staging labels. The template's secrets exist from the start: with their
 * `SecretString`, a `GenerateSecretString` value generated once per data dir, or a value the
 * composition gives (what an operator would put in AWS). Everything persists in the data dir
 * (mode 0600, written atomically), so a generated secret survives a restart.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import * as z from 'zod';
import { parse } from '../../../lambdas/domain/schemas.ts';
import { arn } from '../cloudformation/intrinsics.ts';
import { readJsonFile, writeJsonFileAtomic } from '../files.ts';
import { AwsErrorCode, AwsProtocolError } from '../front/errors.ts';
import { jsonService } from '../front/json-service.ts';
import type { JsonAwsService } from '../front/service.ts';
import { type GenerateSecretStringSpec, generateSecretString } from './generate.ts';

export const SECRETS_FILE = join('secretsmanager', 'secrets.json');
const CURRENT = 'AWSCURRENT';
const PREVIOUS = 'AWSPREVIOUS';

const StoredVersion = z.object({
  id: z.string(),
  value: z.string(),
  stages: z.array(z.string()),
  createdAt: z.number(),
});
const StoredSecret = z.object({
  name: z.string(),
  arn: z.string(),
  description: z.string().optional(),
  createdAt: z.number(),
  versions: z.array(StoredVersion),
});
type StoredSecret = z.infer<typeof StoredSecret>;
const StoredSecrets = z.object({ secrets: z.array(StoredSecret) });

/** A secret the template declares (an `AWS::SecretsManager::Secret`). */
export interface TemplateSecret {
  readonly name: string;
  readonly arn: string;
  readonly description?: string;
  readonly secretString?: string;
  readonly generate?: GenerateSecretStringSpec;
}

export interface SecretsManagerOptions {
  readonly dataDir: string;
  readonly secrets: readonly TemplateSecret[];
  /** Values the composition puts in secrets (by name or ARN) at every start, as an operator would. */
  readonly values?: Readonly<Record<string, string>>;
}

/** The ARN of a secret the twin creates: `…:secret:<name>-<6 characters>`, as Secrets Manager makes them. */
export function secretArn(name: string, suffix = randomBytes(3).toString('hex')): string {
  return arn('secretsmanager', `secret:${name}-${suffix}`);
}

const notFound = () =>
  new AwsProtocolError(AwsErrorCode.resourceNotFound, "Secrets Manager can't find the specified secret.");
const invalidParameter = (message: string) => new AwsProtocolError('InvalidParameterException', message);

function requiredString(input: Record<string, unknown>, name: string): string {
  const value = input[name];
  if (typeof value !== 'string' || value.length === 0) {
    throw invalidParameter(`You must provide a value for the ${name} parameter.`);
  }
  return value;
}

export class LocalSecretsManager {
  readonly #file: string;
  readonly #secrets: StoredSecret[];
  #writes: Promise<void> = Promise.resolve();

  private constructor(file: string, secrets: StoredSecret[]) {
    this.#file = file;
    this.#secrets = secrets;
  }

  static async open(options: SecretsManagerOptions): Promise<LocalSecretsManager> {
    const file = join(options.dataDir, SECRETS_FILE);
    const stored = await readJsonFile(file);
    const manager = new LocalSecretsManager(
      file,
      stored === undefined ? [] : parse(StoredSecrets, stored, file).secrets,
    );
    for (const secret of options.secrets) {
      if (manager.#find(secret.arn) !== undefined) continue;
      const initial = secret.secretString ?? (secret.generate && generateSecretString(secret.generate));
      manager.#create(secret.name, secret.arn, secret.description, initial);
    }
    for (const [id, value] of Object.entries(options.values ?? {})) {
      const secret = manager.#find(id);
      if (secret === undefined) throw notFound();
      if (manager.#version(secret, undefined, CURRENT)?.value !== value) manager.#put(secret, value);
    }
    await manager.#save();
    return manager;
  }

  #find(secretId: string): StoredSecret | undefined {
    return this.#secrets.find(
      (secret) =>
        secret.arn === secretId ||
        secret.name === secretId ||
        secret.arn.replace(/-[^-]{6}$/, '') === secretId,
    );
  }

  #secret(input: Record<string, unknown>): StoredSecret {
    const secret = this.#find(requiredString(input, 'SecretId'));
    if (secret === undefined) throw notFound();
    return secret;
  }

  #version(secret: StoredSecret, versionId: string | undefined, stage: string | undefined) {
    return secret.versions.find(
      (version) =>
        (versionId === undefined || version.id === versionId) &&
        (stage === undefined || version.stages.includes(stage)),
    );
  }

  #create(name: string, secretArnValue: string, description?: string, value?: string, versionId?: string) {
    const secret: StoredSecret = {
      name,
      arn: secretArnValue,
      ...(description === undefined ? {} : { description }),
      createdAt: Date.now(),
      versions: [],
    };
    this.#secrets.push(secret);
    if (value !== undefined) this.#put(secret, value, versionId);
    return secret;
  }

  #put(secret: StoredSecret, value: string, versionId: string = randomUUID()) {
    for (const version of secret.versions) {
      version.stages = version.stages.filter((stage) => stage !== PREVIOUS);
      if (version.stages.includes(CURRENT)) version.stages = [PREVIOUS];
    }
    secret.versions = secret.versions.filter((version) => version.stages.length > 0);
    const version = { id: versionId, value, stages: [CURRENT], createdAt: Date.now() };
    secret.versions.push(version);
    return version;
  }

  #save(): Promise<void> {
    const snapshot = { secrets: this.#secrets };
    this.#writes = this.#writes.then(() => writeJsonFileAtomic(this.#file, snapshot, 0o600));
    return this.#writes;
  }

  async createSecret(input: Record<string, unknown>) {
    const name = requiredString(input, 'Name');
    if (this.#secrets.some((secret) => secret.name === name)) {
      throw new AwsProtocolError(
        'ResourceExistsException',
        `The operation failed because the secret ${name} already exists.`,
      );
    }
    const value = typeof input.SecretString === 'string' ? input.SecretString : undefined;
    const token = typeof input.ClientRequestToken === 'string' ? input.ClientRequestToken : undefined;
    const description = typeof input.Description === 'string' ? input.Description : undefined;
    const secret = this.#create(name, secretArn(name), description, value, token);
    await this.#save();
    const version = this.#version(secret, undefined, CURRENT);
    return {
      ARN: secret.arn,
      Name: secret.name,
      ...(version === undefined ? {} : { VersionId: version.id }),
    };
  }

  describeSecret(input: Record<string, unknown>) {
    const secret = this.#secret(input);
    const changed = Math.max(secret.createdAt, ...secret.versions.map((version) => version.createdAt));
    return {
      ARN: secret.arn,
      Name: secret.name,
      ...(secret.description === undefined ? {} : { Description: secret.description }),
      CreatedDate: new Date(secret.createdAt),
      LastChangedDate: new Date(changed),
      VersionIdsToStages: Object.fromEntries(secret.versions.map((version) => [version.id, version.stages])),
    };
  }

  getSecretValue(input: Record<string, unknown>) {
    const secret = this.#secret(input);
    const versionId = typeof input.VersionId === 'string' ? input.VersionId : undefined;
    const stage = typeof input.VersionStage === 'string' ? input.VersionStage : undefined;
    const version = this.#version(
      secret,
      versionId,
      stage ?? (versionId === undefined ? CURRENT : undefined),
    );
    if (version === undefined) {
      throw new AwsProtocolError(
        AwsErrorCode.resourceNotFound,
        `Secrets Manager can't find the specified secret value for ${versionId === undefined ? `staging label: ${stage ?? CURRENT}` : `VersionId: ${versionId}`}`,
      );
    }
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.id,
      SecretString: version.value,
      VersionStages: version.stages,
      CreatedDate: new Date(version.createdAt),
    };
  }

  async putSecretValue(input: Record<string, unknown>) {
    const secret = this.#secret(input);
    if (typeof input.SecretString !== 'string') {
      throw invalidParameter('You must provide either SecretString or SecretBinary.');
    }
    const token = typeof input.ClientRequestToken === 'string' ? input.ClientRequestToken : undefined;
    const existing = token === undefined ? undefined : this.#version(secret, token, undefined);
    if (existing !== undefined) {
      // The same token again is the same request (idempotent); with another value it is a conflict.
      if (existing.value !== input.SecretString) {
        throw new AwsProtocolError(
          'ResourceExistsException',
          `You can't modify an existing version, you can only create a new version.`,
        );
      }
      return { ARN: secret.arn, Name: secret.name, VersionId: existing.id, VersionStages: existing.stages };
    }
    const version = this.#put(secret, input.SecretString, token);
    await this.#save();
    return { ARN: secret.arn, Name: secret.name, VersionId: version.id, VersionStages: version.stages };
  }
}

export function secretsManagerService(secrets: LocalSecretsManager): JsonAwsService {
  return jsonService({
    signingName: 'secretsmanager',
    targetPrefix: 'secretsmanager',
    jsonVersion: '1.1',
    operations: {
      CreateSecret: (input) => secrets.createSecret(input),
      DescribeSecret: (input) => secrets.describeSecret(input),
      GetSecretValue: (input) => secrets.getSecretValue(input),
      PutSecretValue: (input) => secrets.putSecretValue(input),
    },
  });
}
