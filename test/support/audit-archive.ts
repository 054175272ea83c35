/**
 * The audit archive for tests: a bucket with Object Lock (COMPLIANCE default retention, versioning)
 * in the twin's S3 engine behind the real AWS front, reached through the real S3 adapter, and
 * builders for the stream records the archiver reads.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutObjectLockConfigurationCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { vi } from 'vitest';
import { S3AuditArchive } from '../../lambdas/adapters/s3/s3-audit-archive.ts';
import { ARCHIVE_PREFIX } from '../../lambdas/domain/audit-archive.ts';
import { AUDIT_SCHEMA_VERSION, type AuditRecord } from '../../lambdas/domain/audit-record.ts';
import type { StreamedAuditRecord } from '../../lambdas/ports/index.ts';
import { AUDIT_DATA } from '../unit/domain/fixtures.ts';
import { type RunningS3, s3Client, startS3TestServer } from './s3-server.ts';

export const STREAM_ARN =
  'arn:aws:dynamodb:us-east-1:123456789012:table/countersign/stream/2025-06-01T00:00:00.000';

export interface ArchiveBucket {
  readonly s3: RunningS3;
  readonly client: S3Client;
  readonly bucket: string;
  readonly archive: S3AuditArchive;
  close(): Promise<void>;
}

/** Creates `bucket` with Object Lock as the stack does (COMPLIANCE, one day by default). */
export async function createLockedBucket(client: S3Client, bucket: string): Promise<void> {
  await client.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
  await client.send(
    new PutObjectLockConfigurationCommand({
      Bucket: bucket,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 1 } },
      },
    }),
  );
}

export async function startArchiveBucket(bucket = 'countersign-audit'): Promise<ArchiveBucket> {
  const s3 = await startS3TestServer();
  const client = s3Client(s3.endpoint);
  await createLockedBucket(client, bucket);
  return {
    s3,
    client,
    bucket,
    archive: new S3AuditArchive({ client, bucket }),
    close: async () => {
      client.destroy();
      await s3.stop();
      await s3.remove();
    },
  };
}

/** A stored VOTED record of `requestId` number `seq`, at `at`. */
export function storedRecord(requestId: string, seq: number, at: string): AuditRecord {
  return {
    schemaVersion: AUDIT_SCHEMA_VERSION,
    requestId,
    seq,
    kind: 'VOTED',
    key: `VOTED#voter-${seq}`,
    at,
    actor: `voter-${seq}`,
    data: AUDIT_DATA.VOTED,
  };
}

/** The stream record of an audit insert, as the stream adapter hands it to the archiver. */
export function streamed(sequenceNumber: number, record: AuditRecord): StreamedAuditRecord {
  return {
    sequenceNumber: String(sequenceNumber).padStart(21, '0'),
    eventSourceArn: STREAM_ARN,
    auditImage: { pk: `REQ#${record.requestId}`, sk: `AUDIT#${record.key}`, ...record },
  };
}

/** The file the twin's S3 keeps a version's bytes in (for tampering with what is stored, as a disk would). */
export async function storedFileOf(
  directory: string,
  bucket: string,
  key: string,
  versionId: string,
): Promise<string> {
  const record = JSON.parse(
    await readFile(
      join(
        directory,
        bucket,
        'versions',
        createHash('sha256').update(key, 'utf8').digest('hex'),
        `${versionId}.json`,
      ),
      'utf8',
    ),
  ) as { storageId: string };
  return join(directory, bucket, 'data', record.storageId);
}

/** Every line of every archive object version in `bucket`, gunzipped (what an auditor would read). */
export async function archivedLines(client: S3Client, bucket: string): Promise<string[]> {
  const lines: string[] = [];
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (;;) {
    const page = await client.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        Prefix: ARCHIVE_PREFIX,
        KeyMarker: keyMarker,
        VersionIdMarker: versionIdMarker,
      }),
    );
    for (const version of page.Versions ?? []) {
      const object = await client.send(
        new GetObjectCommand({ Bucket: bucket, Key: version.Key, VersionId: version.VersionId }),
      );
      const text = gunzipSync(await object.Body!.transformToByteArray()).toString('utf8');
      lines.push(...text.split('\n').filter((line) => line !== ''));
    }
    if (page.IsTruncated !== true) return lines;
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  }
}

/** Runs a CLI command, collecting what it prints. */
export async function runCli(
  run: (args: string[]) => Promise<number>,
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => {
    out.push(parts.join(' '));
  });
  const error = vi.spyOn(console, 'error').mockImplementation((...parts: unknown[]) => {
    err.push(parts.join(' '));
  });
  try {
    const code = await run(args);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}
