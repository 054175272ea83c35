/** The AWS CLI (`aws s3api … --endpoint-url`) against the twin's S3 engine: a second real client. */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkOracle } from '../../../support/oracles.ts';
import {
  type RunningS3,
  startS3TestServer,
  TEST_CREDENTIALS,
  TEST_REGION,
} from '../../../support/s3-server.ts';

const run = promisify(execFile);
const cli = checkOracle('aws', 'the AWS CLI calls against the twin S3', '--version');

describe.skipIf(!cli.available)('aws s3api against the twin S3', () => {
  let server: RunningS3;
  let workDir: string;

  const aws = async (...args: string[]): Promise<unknown> => {
    const { stdout } = await run(
      'aws',
      ['s3api', ...args, '--endpoint-url', server.endpoint, '--output', 'json'],
      {
        env: {
          PATH: process.env.PATH,
          HOME: workDir,
          AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
          AWS_DEFAULT_REGION: TEST_REGION,
          AWS_CONFIG_FILE: join(workDir, 'no-config'),
          AWS_SHARED_CREDENTIALS_FILE: join(workDir, 'no-credentials'),
          AWS_EC2_METADATA_DISABLED: 'true',
        },
      },
    );
    return stdout.trim().length === 0 ? {} : JSON.parse(stdout);
  };

  beforeAll(async () => {
    server = await startS3TestServer();
    workDir = await mkdtemp(join(tmpdir(), 'countersign-cli-'));
  });
  afterAll(async () => {
    await server.stop();
    await server.remove();
    await rm(workDir, { recursive: true, force: true });
  });

  it('creates a bucket, puts objects, lists them (URL-encoded keys) and gets one back', async () => {
    await aws('create-bucket', '--bucket', 'cli-bucket', '--object-lock-enabled-for-bucket');
    const source = join(workDir, 'report.csv');
    await writeFile(source, 'id,amount\n1,100\n');
    const put = (await aws(
      'put-object',
      '--bucket',
      'cli-bucket',
      '--key',
      'reports/q1 2030+final.csv',
      '--body',
      source,
    )) as {
      ETag: string;
      VersionId: string;
    };
    expect(put.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(put.VersionId).toMatch(/^[A-Za-z0-9_-]{32}$/);
    await aws('put-object', '--bucket', 'cli-bucket', '--key', 'top.txt', '--body', source);

    const listed = (await aws('list-objects-v2', '--bucket', 'cli-bucket', '--delimiter', '/')) as {
      Contents: { Key: string; Size: number }[];
      CommonPrefixes: { Prefix: string }[];
    };
    expect(listed.Contents.map((item) => [item.Key, item.Size])).toEqual([['top.txt', 16]]);
    expect(listed.CommonPrefixes).toEqual([{ Prefix: 'reports/' }]);
    const nested = (await aws('list-objects-v2', '--bucket', 'cli-bucket', '--prefix', 'reports/')) as {
      Contents: { Key: string }[];
    };
    expect(nested.Contents.map((item) => item.Key)).toEqual(['reports/q1 2030+final.csv']);

    const target = join(workDir, 'downloaded.csv');
    const got = (await aws(
      'get-object',
      '--bucket',
      'cli-bucket',
      '--key',
      'reports/q1 2030+final.csv',
      target,
    )) as {
      ContentLength: number;
      VersionId: string;
    };
    expect(got).toMatchObject({ ContentLength: 16, VersionId: put.VersionId });
    expect(await readFile(target, 'utf8')).toBe('id,amount\n1,100\n');
  });

  it('reports S3 errors the way the CLI shows them', async () => {
    await expect(
      aws('get-object', '--bucket', 'cli-bucket', '--key', 'missing', join(workDir, 'x')),
    ).rejects.toThrow(/NoSuchKey/);
  });
});
