/**
 * The twin's Secrets Manager and moto's run the same scenario through the real SDK client and must
 * agree on every outcome (values, version stages, error codes); ARNs' random suffixes and version
 * ids are compared by shape. Without moto the twin's half runs alone and one line says so.
 */
import { randomUUID } from 'node:crypto';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningTwin } from '../../../local/twin/index.ts';
import { checkOracle, type RunningMoto, startMoto } from '../../support/oracles.ts';
import { removeDir, startFixtureTwin, tempDataDir } from '../core/helpers.ts';

type Outcome = Record<string, unknown>;

async function outcome(call: () => Promise<unknown>, select: (result: never) => Outcome): Promise<Outcome> {
  try {
    return { ok: select((await call()) as never) };
  } catch (error) {
    return {
      error: (error as Error).name,
      status: (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode,
    };
  }
}

/** The scenario; every id the services choose is replaced by what it looks like. */
async function scenario(client: SecretsManagerClient): Promise<Outcome[]> {
  const name = `countersign-${randomUUID().slice(0, 8)}`;
  const empty = `${name}-empty`;
  const arnShape = (arn: string | undefined) =>
    arn
      ?.replace(/^arn:aws:secretsmanager:[^:]+:\d{12}:secret:/, 'ARN:')
      .replace(/-[A-Za-z0-9]{6}$/, '-SUFFIX');
  const value = (result: {
    SecretString?: string;
    VersionStages?: string[];
    ARN?: string;
    Name?: string;
  }) => ({
    value: result.SecretString,
    stages: result.VersionStages,
    arn: arnShape(result.ARN),
    name: result.Name === name ? 'NAME' : result.Name,
  });
  const get = (input: { SecretId: string; VersionStage?: string; VersionId?: string }) =>
    outcome(() => client.send(new GetSecretValueCommand(input)), value);
  const token = randomUUID();
  const created = await client.send(new CreateSecretCommand({ Name: name, SecretString: 'v1' }));
  return [
    {
      created: { arn: arnShape(created.ARN), name: created.Name === name, version: typeof created.VersionId },
    },
    await outcome(
      () => client.send(new CreateSecretCommand({ Name: name, SecretString: 'again' })),
      () => ({}),
    ),
    await get({ SecretId: name }),
    await get({ SecretId: created.ARN! }),
    await outcome(
      () => client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'v2' })),
      (result: { VersionStages?: string[] }) => ({ stages: result.VersionStages }),
    ),
    await get({ SecretId: name }),
    await get({ SecretId: name, VersionStage: 'AWSPREVIOUS' }),
    await outcome(
      () => client.send(new DescribeSecretCommand({ SecretId: name })),
      (result: { VersionIdsToStages?: Record<string, string[]>; Name?: string }) => ({
        stages: Object.values(result.VersionIdsToStages ?? {})
          .map((stages) => stages.join(','))
          .sort(),
      }),
    ),
    await outcome(
      () =>
        client.send(
          new PutSecretValueCommand({ SecretId: name, SecretString: 'v3', ClientRequestToken: token }),
        ),
      (result: { VersionId?: string }) => ({ sameAsToken: result.VersionId === token }),
    ),
    await outcome(
      () =>
        client.send(
          new PutSecretValueCommand({ SecretId: name, SecretString: 'v3', ClientRequestToken: token }),
        ),
      (result: { VersionId?: string }) => ({ sameAsToken: result.VersionId === token }),
    ),
    await get({ SecretId: name, VersionId: token }),
    await get({ SecretId: `${name}-nobody` }),
    await get({ SecretId: name, VersionId: randomUUID() }),
    await outcome(
      () => client.send(new CreateSecretCommand({ Name: empty })),
      () => ({}),
    ),
    await get({ SecretId: empty }),
  ];
}

const EXPECTED: Outcome[] = [
  {
    created: {
      arn: expect.stringMatching(/^ARN:countersign-[0-9a-f]{8}-SUFFIX$/),
      name: true,
      version: 'string',
    },
  },
  { error: 'ResourceExistsException', status: 400 },
  { ok: { value: 'v1', stages: ['AWSCURRENT'], arn: expect.any(String), name: 'NAME' } },
  { ok: { value: 'v1', stages: ['AWSCURRENT'], arn: expect.any(String), name: 'NAME' } },
  { ok: { stages: ['AWSCURRENT'] } },
  { ok: { value: 'v2', stages: ['AWSCURRENT'], arn: expect.any(String), name: 'NAME' } },
  { ok: { value: 'v1', stages: ['AWSPREVIOUS'], arn: expect.any(String), name: 'NAME' } },
  { ok: { stages: ['AWSCURRENT', 'AWSPREVIOUS'] } },
  { ok: { sameAsToken: true } },
  { ok: { sameAsToken: true } },
  { ok: { value: 'v3', stages: ['AWSCURRENT'], arn: expect.any(String), name: 'NAME' } },
  { error: 'ResourceNotFoundException', status: 400 },
  { error: 'ResourceNotFoundException', status: 400 },
  { ok: {} },
  { error: 'ResourceNotFoundException', status: 400 },
];

/**
 * Known moto 5.2.1 deviation: it answers ResourceNotFoundException with HTTP 404; Secrets Manager's
 * API reference gives it HTTP 400 (as every client error of the service), which the twin follows.
 */
const MOTO_EXPECTED = EXPECTED.map((step) =>
  step.error === 'ResourceNotFoundException' ? { ...step, status: 404 } : step,
);

let twin: RunningTwin;
let dataDir: string;
let moto: RunningMoto | undefined;

beforeAll(async () => {
  dataDir = await tempDataDir();
  twin = await startFixtureTwin(dataDir);
  if (checkOracle('moto_server', 'the Secrets Manager scenario against moto').available)
    moto = await startMoto();
});

afterAll(async () => {
  await moto?.stop();
  await twin.stop();
  await removeDir(dataDir);
});

const client = (
  endpoint: string,
  region: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
) => new SecretsManagerClient({ endpoint, region, credentials, maxAttempts: 1 });

describe('Secrets Manager: the twin and moto agree', () => {
  it('runs the scenario on the twin', async () => {
    const twinClient = client(twin.endpoint, twin.region, twin.operatorCredentials);
    expect(await scenario(twinClient)).toEqual(EXPECTED);
    twinClient.destroy();
  });

  it('runs the same scenario on moto with the same outcomes', async (context) => {
    if (moto === undefined) return context.skip();
    const motoClient = client(moto.endpoint, 'us-east-1', {
      accessKeyId: 'testing',
      secretAccessKey: 'testing',
    });
    expect(await scenario(motoClient)).toEqual(MOTO_EXPECTED);
    motoClient.destroy();
  });
});
