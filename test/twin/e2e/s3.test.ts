/**
 * S3 in the whole twin (startLocalTwin, as `npm start` runs it): on the twin's one port, path-style,
 * through the real SDK with the operator's key and an agent's key; objects persist under the data
 * dir and read back after a restart.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  GetObjectRetentionCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunningTwin } from '../../../local/twin/index.ts';
import { demoAgent, removeDir, startE2eTwin, tempDir, twinS3Client } from './harness.ts';

const running: RunningTwin[] = [];
let dataDir: string | undefined;

async function start(dir: string): Promise<RunningTwin> {
  const twin = await startE2eTwin({ dataDir: dir });
  running.push(twin);
  return twin;
}

const s3 = (twin: RunningTwin, credentials = twin.operatorCredentials): S3Client =>
  twinS3Client(twin, credentials);

afterAll(async () => {
  for (const twin of running) await twin.stop();
  if (dataDir !== undefined) await removeDir(dataDir);
});

describe('S3 in the twin', () => {
  it('keeps an Object Lock bucket and its objects across a restart', async () => {
    dataDir = await tempDir('s3');
    const before = await start(dataDir);
    const client = s3(before);
    await client.send(new CreateBucketCommand({ Bucket: 'audit-archive', ObjectLockEnabledForBucket: true }));
    const retainUntil = new Date(Date.now() + 86_400_000);
    const put = await client.send(
      new PutObjectCommand({
        Bucket: 'audit-archive',
        Key: 'audit/dt=2030-01-01/hour=00/part-0.jsonl.gz',
        Body: 'first audit record',
        ObjectLockMode: 'COMPLIANCE',
        ObjectLockRetainUntilDate: retainUntil,
        IfNoneMatch: '*',
      }),
    );
    const listed = await client.send(new ListObjectsV2Command({ Bucket: 'audit-archive', Prefix: 'audit/' }));
    expect(listed.Contents?.map((item) => item.Key)).toEqual(['audit/dt=2030-01-01/hour=00/part-0.jsonl.gz']);
    const read = await client.send(
      new GetObjectCommand({ Bucket: 'audit-archive', Key: 'audit/dt=2030-01-01/hour=00/part-0.jsonl.gz' }),
    );
    expect(await read.Body?.transformToString()).toBe('first audit record');
    expect(existsSync(join(dataDir, 's3', 'audit-archive', 'bucket.json'))).toBe(true);
    await before.stop();

    const after = await start(dataDir);
    const again = s3(after);
    const reread = await again.send(
      new GetObjectCommand({ Bucket: 'audit-archive', Key: 'audit/dt=2030-01-01/hour=00/part-0.jsonl.gz' }),
    );
    expect(await reread.Body?.transformToString()).toBe('first audit record');
    expect(reread.VersionId).toBe(put.VersionId);
    const retention = await again.send(
      new GetObjectRetentionCommand({
        Bucket: 'audit-archive',
        Key: 'audit/dt=2030-01-01/hour=00/part-0.jsonl.gz',
      }),
    );
    expect(retention.Retention).toEqual({ Mode: 'COMPLIANCE', RetainUntilDate: retainUntil });
  });

  it('serves an agent key as a role with S3 permissions', async () => {
    const twin = running.at(-1)!;
    const agent = await demoAgent();
    const client = s3(twin, agent);
    await client.send(
      new PutObjectCommand({ Bucket: 'audit-archive', Key: 'from-agent.txt', Body: 'agent wrote this' }),
    );
    const read = await client.send(new GetObjectCommand({ Bucket: 'audit-archive', Key: 'from-agent.txt' }));
    expect(await read.Body?.transformToString()).toBe('agent wrote this');
  });
});
