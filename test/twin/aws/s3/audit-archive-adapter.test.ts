/**
 * The audit archive adapter's S3 calls (S3AuditArchive), one scenario against the twin's S3 and
 * against moto_server: created once with If-None-Match and a SHA-256 checksum under COMPLIANCE
 * retention, a retry meets its own object, other bytes are a conflict and never overwrite, versions
 * and reads stream back, and a locked version cannot be deleted. Reading the retention back and
 * shortening it (refused by S3, as documented) hold the twin alone: moto 5.2.1 departs on both.
 */
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import {
  DeleteObjectCommand,
  GetObjectRetentionCommand,
  PutObjectRetentionCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3AuditArchive } from '../../../../lambdas/adapters/s3/s3-audit-archive.ts';
import { ArchiveConflictError, NotFoundError } from '../../../../lambdas/domain/errors.ts';
import { createLockedBucket, startArchiveBucket } from '../../../support/audit-archive.ts';
import { checkOracle, type RunningMoto, startMoto } from '../../../support/oracles.ts';
import { s3Client } from '../../../support/s3-server.ts';

const DAY_MS = 86_400_000;

interface Target {
  readonly client: S3Client;
  /**
   * Whether the target holds to S3's retention semantics: GetObjectRetention answers, and a
   * COMPLIANCE retention cannot be shortened (moto 5.2.1 answers the first with HTTP 500 and lets
   * the second through: see test/twin/aws/s3/differential.test.ts).
   */
  readonly followsS3Retention: boolean;
}

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of source) items.push(item);
  return items;
}

async function bytesOf(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

function scenario(target: () => Target) {
  let bucket: string;
  let archive: S3AuditArchive;
  const key =
    'audit/dt=2025-06-01/hour=09/0123456789abcdef-000000000000000000001-000000000000000000002.jsonl.gz';
  const body = gzipSync('{"a":1}\n{"a":2}\n');
  const retainUntil = new Date(Date.now() + 2 * DAY_MS);

  beforeAll(async () => {
    bucket = `archive-${randomUUID().slice(0, 8)}`;
    await createLockedBucket(target().client, bucket);
    archive = new S3AuditArchive({ client: target().client, bucket });
  });

  it('creates an object once, with COMPLIANCE retention; a retry with the same bytes meets it', async () => {
    const created = await archive.create(key, body, { contentType: 'application/gzip', retainUntil });
    expect(created.created).toBe(true);
    const retried = await archive.create(key, body, { contentType: 'application/gzip', retainUntil });
    expect(retried).toEqual({ created: false, versionId: created.versionId });
    if (!target().followsS3Retention) return;
    const retention = await target().client.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: key }));
    expect(retention.Retention?.Mode).toBe('COMPLIANCE');
    expect(retention.Retention?.RetainUntilDate?.getTime()).toBeGreaterThan(Date.now() + DAY_MS);
  });

  it('refuses other bytes under the key as a conflict, and overwrites nothing', async () => {
    await expect(
      archive.create(key, gzipSync('{"a":3}\n'), { contentType: 'application/gzip', retainUntil }),
    ).rejects.toBeInstanceOf(ArchiveConflictError);
    const versions = await collect(archive.versions('audit/'));
    expect(versions).toHaveLength(1);
    expect(versions[0]).toMatchObject({ key, isLatest: true, deleteMarker: false, size: body.byteLength });
    expect(await bytesOf((await archive.open(key)).body)).toEqual(body);
    expect(await collect(archive.keys('audit/'))).toEqual([key]);
  });

  it('refuses to delete a locked version', async () => {
    const [version] = await collect(archive.versions(key));
    await expect(
      target().client.send(
        new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: version!.versionId }),
      ),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(await bytesOf((await archive.open(key, version!.versionId)).body)).toEqual(body);
    await expect(archive.open('audit/missing', undefined)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses to shorten a COMPLIANCE retention (S3; moto 5.2.1 departs)', async () => {
    const [version] = await collect(archive.versions(key));
    const shorten = target().client.send(
      new PutObjectRetentionCommand({
        Bucket: bucket,
        Key: key,
        VersionId: version!.versionId,
        Retention: { Mode: 'COMPLIANCE', RetainUntilDate: new Date(Date.now() + 60_000) },
      }),
    );
    if (target().followsS3Retention) await expect(shorten).rejects.toMatchObject({ name: 'AccessDenied' });
    else await shorten.catch(() => undefined);
  });
}

describe('the archive adapter against the twin’s S3', () => {
  let twin: Awaited<ReturnType<typeof startArchiveBucket>>;
  beforeAll(async () => {
    twin = await startArchiveBucket(`twin-${randomUUID().slice(0, 8)}`);
  });
  afterAll(async () => {
    await twin.close();
  });
  scenario(() => ({ client: twin.client, followsS3Retention: true }));
});

const moto = checkOracle('moto_server', 'the moto half of the audit archive adapter scenario');

describe.skipIf(!moto.available)('the archive adapter against moto_server', () => {
  let oracle: RunningMoto;
  let client: S3Client;
  beforeAll(async () => {
    oracle = await startMoto();
    client = s3Client(oracle.endpoint);
  }, 90_000);
  afterAll(async () => {
    client?.destroy();
    await oracle?.stop();
  });
  scenario(() => ({ client, followsS3Retention: false }));
});
