/**
 * The audit archive end to end in the twin, as an auditor meets it: the demo runs, `audit flush`
 * archives and digests, `audit verify` exits 0; then the archive is tampered with the way an
 * account administrator who removed the bucket policy (or a failing disk) could — an object
 * overwritten by a new version, an object hidden by a delete marker, a byte flipped in the stored
 * file, a digest hidden, two digests swapped, an object truncated on disk — and after each one
 * `audit verify` exits 1 naming what was touched.
 */
import { open, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DeleteBucketPolicyCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as audit } from '../../../local/cli/commands/audit.ts';
import { runDemo } from '../../../local/product/demo.ts';
import type { RunningTwin } from '../../../local/twin/index.ts';
import { runCli, storedFileOf } from '../../support/audit-archive.ts';
import { agentRequest, demoAgent, E2eClient, idOf, removeDir, startE2eTwin, tempDir } from './harness.ts';

let dataDir: string;
let twin: RunningTwin;
let client: E2eClient;
let s3: S3Client;
let bucket: string;

async function flush(): Promise<{ key: string; objects: number }> {
  const flushed = await runCli(audit, ['flush', '--url', twin.url, '--json']);
  expect(flushed.code, flushed.err).toBe(0);
  const result = JSON.parse(flushed.out) as { bucket: string; digest: { key: string; objects: number } };
  bucket = result.bucket;
  return result.digest;
}

function verify(...args: string[]) {
  return runCli(audit, ['verify', '--url', twin.url, '--data-dir', twin.dataDir, ...args]);
}

/** The PROBLEM lines of a verify run. */
function problemsOf(out: string): string[] {
  return out.split('\n').filter((line) => line.startsWith('PROBLEM'));
}

async function versionsOf(prefix: string) {
  const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix }));
  return (page.Versions ?? []).filter((version) => version.IsLatest);
}

beforeAll(async () => {
  dataDir = await tempDir('audit');
  twin = await startE2eTwin({ dataDir });
  client = new E2eClient(twin, await demoAgent());
  s3 = new S3Client({
    endpoint: twin.endpoint,
    region: twin.region,
    forcePathStyle: true,
    credentials: { ...twin.operatorCredentials },
    maxAttempts: 1,
  });
  // Three digests with objects: the demo, then one more request each time. The first digest's
  // objects are the ones tampered with below: three requests after the demo's, archived apart (the
  // streams drained after each), give it four at least, however the stream's polls batch records.
  const demo = await runDemo({ endpoint: twin.url, busName: 'countersign', agent: client.agent });
  for (const id of demo) await client.waitForPending(id);
  for (let request = 0; request < 3; request += 1) {
    await twin.drainEventSourceMappings();
    const sent = agentRequest(client.agent);
    await client.send(sent);
    await client.waitForPending(idOf(sent));
  }
  await flush();
  for (let round = 0; round < 2; round += 1) {
    const request = agentRequest(client.agent);
    await client.send(request);
    await client.waitForPending(idOf(request));
    await flush();
  }
});

afterAll(async () => {
  s3?.destroy();
  client?.destroy();
  await twin?.stop();
  if (dataDir !== undefined) await removeDir(dataDir);
});

describe('audit verify on the twin', () => {
  it('exits 0 on the archive as written, with a summary', async () => {
    const result = await verify();
    expect(result.code, result.out).toBe(0);
    expect(result.out).toMatch(/Digests:\s+3 \(digests\/dt=\d{4}-\d{2}-\d{2}\/000000000001\.json/);
    expect(result.out).toMatch(/Records:\s+\d+ of [1-9]\d* requests/);
    expect(result.out).toMatch(/MB\/s/);
    const json = await verify('--json');
    expect(JSON.parse(json.out)).toMatchObject({ bucket, digests: 3, problems: [] });
  });

  it('answers usage errors with exit 2 and an unreachable archive with exit 1', async () => {
    expect((await verify('--from', 'yesterday')).code).toBe(2);
    expect((await verify('--from', '2030-01-02', '--to', '2030-01-01')).code).toBe(2);
    expect((await runCli(audit, ['verify', '--bucket', bucket])).code).toBe(2);
    expect((await runCli(audit, ['audit'])).code).toBe(2);
    expect((await runCli(audit, ['flush', '--bucket', bucket, '--url', twin.url])).code).toBe(2);
    const missing = await verify('--bucket', 'no-such-archive');
    expect(missing.code).toBe(1);
  });

  it('names every tampering, one after the other (exit 1)', { timeout: 120_000 }, async () => {
    // What the bucket policy refuses everyone, an administrator can lift by removing the policy.
    await s3.send(new DeleteBucketPolicyCommand({ Bucket: bucket }));
    const objects = await versionsOf('audit/');
    const digests = await versionsOf('digests/');
    expect(objects.length).toBeGreaterThanOrEqual(4);
    expect(digests).toHaveLength(3);
    const [overwritten, hidden, flipped, truncated] = objects as [
      (typeof objects)[number],
      (typeof objects)[number],
      (typeof objects)[number],
      (typeof objects)[number],
    ];
    const expectNamed = async (key: string, pattern: RegExp) => {
      const result = await verify();
      expect(result.code, result.out).toBe(1);
      const named = problemsOf(result.out).filter((line) => line.includes(key));
      expect(
        named.some((line) => pattern.test(line)),
        `${key}:\n${result.out}`,
      ).toBe(true);
    };

    // An object overwritten by a new version (allowed: Object Lock protects versions, not keys).
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: overwritten.Key, Body: 'a rewritten history\n' }),
    );
    await expectNamed(overwritten.Key!, /was overwritten/);

    // An object hidden by a delete marker.
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: hidden.Key }));
    await expectNamed(hidden.Key!, /hidden by a delete marker/);

    // A byte flipped in the twin's stored file (what a disk, or someone at the disk, does).
    const flippedFile = await storedFileOf(join(dataDir, 's3'), bucket, flipped.Key!, flipped.VersionId!);
    const handle = await open(flippedFile, 'r+');
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, 20);
    byte[0] = byte[0]! ^ 0x01;
    await handle.write(byte, 0, 1, 20);
    await handle.close();
    await expectNamed(flipped.Key!, /does not match its digest|cannot be read|not valid/);

    // An object truncated on disk.
    const truncatedFile = await storedFileOf(
      join(dataDir, 's3'),
      bucket,
      truncated.Key!,
      truncated.VersionId!,
    );
    await truncate(truncatedFile, Math.floor((await stat(truncatedFile)).size / 2));
    await expectNamed(truncated.Key!, /cannot be read|does not match its digest/);

    // Two digests swapped: each key now holds the other's digest (as new versions).
    const [first, second, third] = digests as [
      (typeof digests)[number],
      (typeof digests)[number],
      (typeof digests)[number],
    ];
    const body = async (key: string) =>
      Buffer.from(
        await (
          await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
        ).Body!.transformToByteArray(),
      );
    const [firstBody, secondBody] = [await body(first.Key!), await body(second.Key!)];
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: first.Key, Body: secondBody }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: second.Key, Body: firstBody }));
    await expectNamed(first.Key!, /sequence|previous|chain|key/i);
    await expectNamed(second.Key!, /sequence|previous|chain|key/i);
    // Put back as they were (new versions again), so the next step is seen alone.
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: first.Key, Body: firstBody }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: second.Key, Body: secondBody }));

    // A digest deleted (hidden by a delete marker: its version itself is locked).
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: second.Key }));
    await expectNamed(third.Key!, /missing|previous|sequence/i);

    // Every tampering still in place is named together at the end.
    const final = await verify();
    expect(final.code).toBe(1);
    for (const key of [overwritten.Key, hidden.Key, flipped.Key, truncated.Key, third.Key]) {
      expect(final.out).toContain(key);
    }
  });
});
