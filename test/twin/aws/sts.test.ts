/**
 * STS on the twin, checked against moto's STS with one scenario through the real SDK client:
 * AssumeRole with a session policy gives an `ASIA…` key whose caller (GetCallerIdentity) is the
 * assumed-role session. What moto does not check (STS's input constraints) is checked against the
 * STS API reference.
 * Then what only the twin enforces (moto grants every call): the session key works only with its
 * token, and only for what its session policy allows. The executor's own Query calls
 * (aws-query.ts) read the session from both, and the twin's refusals (IAM, which it does not serve,
 * included) as AWS's. Without moto the twin half runs alone.
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AwsQueryError,
  QUERY_APIS,
  type QueryApi,
  queryClient,
} from '../../../lambdas/adapters/aws-query.ts';
import type { RunningTwin } from '../../../local/twin/index.ts';
import { checkOracle, type RunningMoto, startMoto } from '../../support/oracles.ts';
import { removeDir, startE2eTwin, tempDir } from '../e2e/harness.ts';

interface Target {
  readonly name: string;
  readonly endpoint: string;
  readonly region: string;
  readonly account: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
}

const moto = checkOracle('moto_server', 'the STS scenario against moto (the twin half runs)');
let twin: RunningTwin;
let dataDir: string;
let motoServer: RunningMoto | undefined;
const targets: Target[] = [];

const BUCKET = 'sts-session-bucket';
const sessionPolicy = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [`arn:aws:s3:::${BUCKET}/granted.txt`] },
  ],
});

beforeAll(async () => {
  dataDir = await tempDir('sts');
  twin = await startE2eTwin({ dataDir });
  targets.push({
    name: 'twin',
    endpoint: twin.endpoint,
    region: twin.region,
    account: '000000000000',
    credentials: { ...twin.operatorCredentials },
  });
  if (moto.available) {
    motoServer = await startMoto();
    targets.push({
      name: 'moto',
      endpoint: motoServer.endpoint,
      region: 'us-east-1',
      account: '123456789012',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
  }
}, 120_000);

afterAll(async () => {
  await twin?.stop();
  await motoServer?.stop();
  if (dataDir !== undefined) await removeDir(dataDir);
});

function sts(
  target: Target,
  credentials: Target['credentials'] & { sessionToken?: string } = target.credentials,
) {
  return new STSClient({ endpoint: target.endpoint, region: target.region, credentials, maxAttempts: 1 });
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'no error',
    (error: Error) => error.name,
  );
}

describe('STS: the twin and moto agree', () => {
  it('assumes a role in a named session with a session policy; the session is who signs', async () => {
    for (const target of targets) {
      const roleArn = `arn:aws:iam::${target.account}:role/countersign/executor`;
      const client = sts(target);
      const assumed = await client.send(
        new AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: 'invoice-bot=req-1',
          Policy: sessionPolicy,
          DurationSeconds: 900,
        }),
      );
      const sessionArn = `arn:aws:sts::${target.account}:assumed-role/executor/invoice-bot=req-1`;
      expect(assumed.AssumedRoleUser?.Arn, target.name).toBe(sessionArn);
      expect(assumed.AssumedRoleUser?.AssumedRoleId, target.name).toMatch(
        /^AROA[A-Z0-9]+:invoice-bot=req-1$/,
      );
      expect(assumed.Credentials?.AccessKeyId, target.name).toMatch(/^ASIA[A-Z0-9]{16}$/);
      expect(assumed.Credentials?.Expiration, target.name).toBeInstanceOf(Date);
      const credentials = assumed.Credentials!;
      const session = sts(target, {
        accessKeyId: credentials.AccessKeyId!,
        secretAccessKey: credentials.SecretAccessKey!,
        sessionToken: credentials.SessionToken!,
      });
      const identity = await session.send(new GetCallerIdentityCommand({}));
      expect(identity, target.name).toMatchObject({ Arn: sessionArn, Account: target.account });
      // (moto gives the caller a fresh role id; STS gives the session's own, as the twin does.)
      expect(identity.UserId, target.name).toMatch(/^AROA[A-Z0-9]+:invoice-bot=req-1$/);
      client.destroy();
      session.destroy();
    }
  });
});

describe('the executor’s Query calls (lambdas/adapters/aws-query.ts)', () => {
  const query = (target: Target, api: QueryApi = QUERY_APIS.sts) =>
    queryClient({
      api,
      endpoint: { url: target.endpoint, signingRegion: target.region },
      credentials: target.credentials,
      timeoutMs: 10_000,
    });

  it('read the session AssumeRole grants from the twin and from moto alike', async () => {
    for (const target of targets) {
      const { result, requestId } = await query(target)('AssumeRole', {
        RoleArn: `arn:aws:iam::${target.account}:role/executor`,
        RoleSessionName: 'invoice-bot=req-2',
        Policy: sessionPolicy,
        DurationSeconds: '900',
      });
      expect(requestId, target.name).toEqual(expect.any(String));
      expect(result, target.name).toMatchObject({
        Credentials: {
          AccessKeyId: expect.stringMatching(/^ASIA[A-Z0-9]{16}$/),
          SecretAccessKey: expect.any(String),
          SessionToken: expect.any(String),
        },
      });
    }
  });

  it('get the twin’s refusals as STS’s codes, and IAM (which the twin does not serve) as a refusal', async () => {
    const twinTarget = targets[0]!;
    await expect(
      query(twinTarget)('AssumeRole', {
        RoleArn: 'arn:aws:iam::000000000000:role/executor',
        RoleSessionName: 'x',
      }),
    ).rejects.toMatchObject({ code: 'ValidationError', outcome: 'refused', requestId: expect.any(String) });
    const refused = await query(twinTarget, QUERY_APIS.iam)('AttachRolePolicy', {
      RoleName: 'payments-deployer',
      PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
    }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AwsQueryError);
    expect(refused).toMatchObject({
      outcome: 'refused',
      message: expect.stringContaining('does not emulate the AWS service iam'),
    });
  });
});

describe('STS sessions on the twin', () => {
  // moto takes any session name and role ARN; STS's constraints are checked against its documentation.
  it('refuses a malformed session name, role ARN, duration or policy with STS codes', async () => {
    const client = sts(targets[0]!);
    const roleArn = 'arn:aws:iam::000000000000:role/executor';
    const attempts: [Partial<ConstructorParameters<typeof AssumeRoleCommand>[0]>, string][] = [
      [{ RoleSessionName: 'has spaces' }, 'ValidationError'],
      [{ RoleSessionName: 'x' }, 'ValidationError'],
      [{ RoleArn: 'arn:aws:iam::000000000000:user/someone' }, 'ValidationError'],
      [{ RoleArn: 'arn:aws:iam::123456789012:role/elsewhere' }, 'AccessDenied'],
      [{ DurationSeconds: 60 }, 'ValidationError'],
      // The SDK's classes for STS's codes MalformedPolicyDocument and PackedPolicyTooLarge.
      [{ Policy: '{"Statement": "not a statement"}' }, 'MalformedPolicyDocumentException'],
      [{ Policy: 'x'.repeat(2049) }, 'PackedPolicyTooLargeException'],
    ];
    for (const [overrides, code] of attempts) {
      const input = { RoleArn: roleArn, RoleSessionName: 'valid-name', ...overrides };
      expect(await codeOf(client.send(new AssumeRoleCommand(input))), JSON.stringify(overrides)).toBe(code);
    }
    client.destroy();
  });

  it('accept a session key only with its token, and only for what the session policy allows', async () => {
    const operatorS3 = new S3Client({
      endpoint: twin.endpoint,
      region: twin.region,
      forcePathStyle: true,
      credentials: { ...twin.operatorCredentials },
    });
    await operatorS3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    for (const key of ['granted.txt', 'other.txt']) {
      await operatorS3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));
    }
    const client = sts(targets[0]!);
    const { Credentials } = await client.send(
      new AssumeRoleCommand({
        RoleArn: 'arn:aws:iam::000000000000:role/executor',
        RoleSessionName: 'scoped',
        Policy: sessionPolicy,
      }),
    );
    const s3As = (sessionToken: string | undefined) =>
      new S3Client({
        endpoint: twin.endpoint,
        region: twin.region,
        forcePathStyle: true,
        maxAttempts: 1,
        credentials: {
          accessKeyId: Credentials!.AccessKeyId!,
          secretAccessKey: Credentials!.SecretAccessKey!,
          ...(sessionToken === undefined ? {} : { sessionToken }),
        },
      });
    const session = s3As(Credentials!.SessionToken!);
    const granted = await session.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'granted.txt' }));
    expect(await granted.Body!.transformToString()).toBe('granted.txt');
    expect(await codeOf(session.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'other.txt' })))).toBe(
      'AccessDenied',
    );
    expect(
      await codeOf(session.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'granted.txt', Body: 'x' }))),
    ).toBe('AccessDenied');
    // The key without its token, or with another token, is not a valid credential.
    expect(
      await codeOf(s3As(undefined).send(new GetObjectCommand({ Bucket: BUCKET, Key: 'granted.txt' }))),
    ).not.toBe('no error');
    expect(
      await codeOf(
        s3As(`${Credentials!.SessionToken!}x`).send(
          new GetObjectCommand({ Bucket: BUCKET, Key: 'granted.txt' }),
        ),
      ),
    ).not.toBe('no error');
    // A session policy the twin cannot evaluate grants nothing: a session without one is refused.
    const { Credentials: unscoped } = await client.send(
      new AssumeRoleCommand({
        RoleArn: 'arn:aws:iam::000000000000:role/executor',
        RoleSessionName: 'unscoped',
      }),
    );
    const unscopedS3 = new S3Client({
      endpoint: twin.endpoint,
      region: twin.region,
      forcePathStyle: true,
      credentials: {
        accessKeyId: unscoped!.AccessKeyId!,
        secretAccessKey: unscoped!.SecretAccessKey!,
        sessionToken: unscoped!.SessionToken!,
      },
    });
    expect(await codeOf(unscopedS3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'granted.txt' })))).toBe(
      'AccessDenied',
    );
    // An agent may not assume roles in the twin.
    const directory = await import('../../../countersign.local.json', { with: { type: 'json' } });
    const agent = directory.default.agents[0]!;
    const asAgent = sts(targets[0]!, {
      accessKeyId: agent.accessKeyId,
      secretAccessKey: agent.secretAccessKey,
    });
    expect(
      await codeOf(
        asAgent.send(
          new AssumeRoleCommand({
            RoleArn: 'arn:aws:iam::000000000000:role/executor',
            RoleSessionName: 'x1',
          }),
        ),
      ),
    ).toBe('AccessDenied');
    for (const c of [operatorS3, session, unscopedS3, client, asAgent]) c.destroy();
  });
});
