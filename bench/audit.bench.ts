/**
 * `audit verify` throughput: an archive written by the real archiver and digester into the twin's
 * S3 (behind its AWS front, through the SDK), then verified as `countersign audit verify` does it —
 * listing, streaming every object through SHA-256 and gunzip, parsing every record, checking the
 * signed chain. Its baseline is the ceiling: `sha256sum` over the same stored files in the same run
 * (hashing alone, from the page cache, no HTTP, no gunzip, no parsing).
 */
import { type createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectLockConfigurationCommand } from '@aws-sdk/client-s3';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { S3AuditArchive } from '../lambdas/adapters/s3/s3-audit-archive.ts';
import { AUDIT_SCHEMA_VERSION, type AuditRecord } from '../lambdas/domain/audit-record.ts';
import type { Es256Signer, StreamedAuditRecord } from '../lambdas/ports/index.ts';
import { archiveAuditRecords } from '../lambdas/services/archive-audit-records.ts';
import { verifyAuditArchive } from '../lambdas/services/verify-audit-archive.ts';
import { writeAuditDigest } from '../lambdas/services/write-audit-digest.ts';
import { s3Client, startS3TestServer } from '../test/support/s3-server.ts';
import type { BenchOptions, Figure } from './figures.ts';
import { timeCommand } from './measure.ts';

const SIZES = {
  /** Requests × records each, in batches as the stream hands them over. */
  full: { requests: 20_000, recordsPerRequest: 6, batch: 1_000, runs: 3 },
  quick: { requests: 100, recordsPerRequest: 6, batch: 100, runs: 1 },
} as const;
const BUCKET = 'bench-audit-archive';
const STREAM_ARN = 'arn:aws:dynamodb:us-east-1:123456789012:table/countersign/stream/2025-06-01T00:00:00.000';

/** The digest signer with a key of its own (what KMS does for the stack, done here in process). */
async function localSigner(): Promise<{
  signer: Es256Signer;
  thumbprint: string;
  publicKey: ReturnType<typeof createPrivateKey>;
}> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const thumbprint = await calculateJwkThumbprint(publicKey.export({ format: 'jwk' }) as JWK);
  return {
    thumbprint,
    publicKey,
    signer: {
      keyId: 'arn:aws:kms:us-east-1:123456789012:key/bench',
      thumbprint: async () => thumbprint,
      sign: async (message) => sign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' }),
    },
  };
}

/** The records of one request, as the trail writes them: requested, evaluated, notified, votes, decided. */
function recordsOf(request: number, count: number, at: Date): AuditRecord[] {
  const requestId = `invoice-bot:bench-${request}`;
  return Array.from({ length: count }, (_, index) => ({
    schemaVersion: AUDIT_SCHEMA_VERSION,
    requestId,
    seq: index + 1,
    kind: 'VOTED' as const,
    key: `VOTED#voter-${index}`,
    at: new Date(at.getTime() + index).toISOString(),
    actor: `voter-${index}`,
    data: { vote: 'approve', channel: 'api', reason: `bench record ${index} of request ${request}` },
  })) as AuditRecord[];
}

async function storedBytes(directory: string): Promise<{ files: string[]; bytes: number }> {
  const data = join(directory, BUCKET, 'data');
  const files = (await readdir(data)).map((name) => join(data, name));
  let bytes = 0;
  for (const file of files) bytes += (await stat(file)).size;
  return { files, bytes };
}

export async function measure(options: BenchOptions): Promise<Figure[]> {
  const size = options.quick ? SIZES.quick : SIZES.full;
  const s3 = await startS3TestServer();
  const client = s3Client(s3.endpoint);
  try {
    await client.send(new CreateBucketCommand({ Bucket: BUCKET, ObjectLockEnabledForBucket: true }));
    await client.send(
      new PutObjectLockConfigurationCommand({
        Bucket: BUCKET,
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 1 } },
        },
      }),
    );
    const archive = new S3AuditArchive({ client, bucket: BUCKET });
    const { signer, thumbprint, publicKey } = await localSigner();
    // Written an hour ago, so the digest's window (with its lookback) covers every object.
    const writtenAt = new Date(Date.now() - 3_600_000);
    const clock = { now: () => new Date() };
    let sequence = 0;
    let batch: StreamedAuditRecord[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const result = await archiveAuditRecords({ archive, clock, retentionDays: 1 }, batch);
      if (result.batchItemFailures.length > 0) throw new Error(`archiving failed: ${String(result.failure)}`);
      batch = [];
    };
    for (let request = 0; request < size.requests; request += 1) {
      for (const record of recordsOf(request, size.recordsPerRequest, writtenAt)) {
        sequence += 1;
        batch.push({
          sequenceNumber: String(sequence).padStart(21, '0'),
          eventSourceArn: STREAM_ARN,
          auditImage: { pk: `REQ#${record.requestId}`, sk: `AUDIT#${record.key}`, ...record },
        });
      }
      if (batch.length >= size.batch) await flush();
    }
    await flush();
    await writeAuditDigest({
      archive,
      signer,
      // Run two minutes on, so its window (less the lookback) holds every object just written.
      clock: { now: () => new Date(Date.now() + 120_000) },
      bucket: BUCKET,
      retentionDays: 1,
      lookbackSeconds: 60,
      maxRecordDelaySeconds: 86_400,
    });

    const publicKeys = new Map([[thumbprint, publicKey]]);
    const rates: number[] = [];
    for (let run = 0; run < size.runs; run += 1) {
      const report = await verifyAuditArchive({ archive, publicKeys }, { bucket: BUCKET });
      if (report.problems.length > 0) {
        throw new Error(`the bench archive does not verify: ${JSON.stringify(report.problems.slice(0, 3))}`);
      }
      rates.push(report.megabytesPerSecond);
    }
    const { files, bytes } = await storedBytes(s3.directory);
    const times = timeCommand('sha256sum', files, { runs: size.runs });
    const median = (values: readonly number[]) =>
      [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const sha256sumMBps = bytes / 1_000_000 / (median(times) / 1000);
    return [
      {
        name: 'verifyMBps',
        value: median(rates),
        unit: 'MB/s',
        baseline: { name: 'sha256sumMBps', value: sha256sumMBps },
      },
    ];
  } finally {
    client.destroy();
    await s3.stop();
    await s3.remove();
  }
}
