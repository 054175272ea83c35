/**
 * The twin's Secrets Manager state: the template's secrets exist from the start, a generated value
 * is generated once per data dir and survives a restart, the composition's values are put as new
 * versions only when they change, and the file holding the values is readable by its owner only.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../../../lambdas/domain/errors.ts';
import { generateSecretString } from '../../../../../local/aws/secretsmanager/generate.ts';
import {
  LocalSecretsManager,
  SECRETS_FILE,
  secretArn,
} from '../../../../../local/aws/secretsmanager/service.ts';

const dirs: string[] = [];
afterEach(async () => {
  while (dirs.length > 0) await rm(dirs.pop()!, { recursive: true, force: true });
});

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cs-secrets-'));
  dirs.push(dir);
  return dir;
}

const generated = {
  name: 'SlackVoteKey',
  arn: secretArn('SlackVoteKey', 'abcdef'),
  generate: { PasswordLength: 48, ExcludePunctuation: true },
};
const fixed = { name: 'Fixed', arn: secretArn('Fixed', 'fedcba'), secretString: '{"a":1}' };
const filled = { name: 'ChatSlack', arn: secretArn('ChatSlack', 'a1b2c3'), generate: {} };

describe('template secrets', () => {
  it('generates a value once per data dir, keeps it across restarts, and stores it for its owner only', async () => {
    const dir = await dataDir();
    const first = await LocalSecretsManager.open({ dataDir: dir, secrets: [generated, fixed] });
    const value = first.getSecretValue({ SecretId: generated.arn }).SecretString;
    expect(value).toMatch(/^[A-Za-z0-9]{48}$/);
    expect(first.getSecretValue({ SecretId: 'Fixed' }).SecretString).toBe('{"a":1}');
    const again = await LocalSecretsManager.open({ dataDir: dir, secrets: [generated, fixed] });
    expect(again.getSecretValue({ SecretId: generated.arn }).SecretString).toBe(value);
    expect((await stat(join(dir, SECRETS_FILE))).mode & 0o777).toBe(0o600);
    const elsewhere = await LocalSecretsManager.open({ dataDir: await dataDir(), secrets: [generated] });
    expect(elsewhere.getSecretValue({ SecretId: generated.arn }).SecretString).not.toBe(value);
  });

  it('puts the composition’s value as a new version only when it changed', async () => {
    const dir = await dataDir();
    const first = await LocalSecretsManager.open({
      dataDir: dir,
      secrets: [filled],
      values: { [filled.arn]: 'one' },
    });
    const version = first.getSecretValue({ SecretId: filled.arn }).VersionId;
    expect(first.getSecretValue({ SecretId: filled.arn }).SecretString).toBe('one');
    const same = await LocalSecretsManager.open({
      dataDir: dir,
      secrets: [filled],
      values: { [filled.arn]: 'one' },
    });
    expect(same.getSecretValue({ SecretId: filled.arn }).VersionId).toBe(version);
    const changed = await LocalSecretsManager.open({
      dataDir: dir,
      secrets: [filled],
      values: { ChatSlack: 'two' },
    });
    expect(changed.getSecretValue({ SecretId: filled.arn }).SecretString).toBe('two');
    expect(changed.getSecretValue({ SecretId: filled.arn, VersionStage: 'AWSPREVIOUS' }).SecretString).toBe(
      'one',
    );
    await expect(
      LocalSecretsManager.open({ dataDir: dir, secrets: [filled], values: { Nobody: 'x' } }),
    ).rejects.toMatchObject({ code: 'ResourceNotFoundException' });
  });
});

describe('GenerateSecretString', () => {
  it('includes every character type asked for, in the asked length, and none excluded', () => {
    for (let round = 0; round < 20; round += 1) {
      const value = generateSecretString({ PasswordLength: 12, ExcludeCharacters: 'abcXYZ019' });
      expect(value).toHaveLength(12);
      expect(value).toMatch(/[a-z]/);
      expect(value).toMatch(/[A-Z]/);
      expect(value).toMatch(/[0-9]/);
      expect(value).toMatch(/[^A-Za-z0-9]/);
      expect(value).not.toMatch(/[abcXYZ019]/);
    }
    expect(
      generateSecretString({ ExcludeLowercase: true, ExcludeUppercase: true, ExcludePunctuation: true }),
    ).toMatch(/^[0-9]{32}$/);
    expect(
      generateSecretString({ PasswordLength: 3, IncludeSpace: true, RequireEachIncludedType: false }),
    ).toHaveLength(3);
  });

  it('puts the value under GenerateStringKey of SecretStringTemplate', () => {
    const document = JSON.parse(
      generateSecretString({
        SecretStringTemplate: '{"username":"bot"}',
        GenerateStringKey: 'password',
        ExcludePunctuation: true,
      }),
    );
    expect(document).toEqual({ username: 'bot', password: expect.stringMatching(/^[A-Za-z0-9]{32}$/) });
  });

  it('refuses what cannot be generated', () => {
    expect(() => generateSecretString({ PasswordLength: 0 })).toThrow(ConfigurationError);
    expect(() => generateSecretString({ PasswordLength: 3 })).toThrow(/cannot include every type/);
    expect(() =>
      generateSecretString({
        ExcludeLowercase: true,
        ExcludeUppercase: true,
        ExcludeNumbers: true,
        ExcludePunctuation: true,
      }),
    ).toThrow(ConfigurationError);
    expect(() => generateSecretString({ SecretStringTemplate: '{}' })).toThrow(/GenerateStringKey/);
    expect(() => generateSecretString({ SecretStringTemplate: '[]', GenerateStringKey: 'k' })).toThrow(
      /JSON object/,
    );
  });
});
