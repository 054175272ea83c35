/**
 * The digester, run by a scheduled rule (every five minutes) one at a time (reserved concurrency 1):
 * writes the next signed digest of the audit archive. The scheduled event carries nothing it needs.
 */
import middy from '@middy/core';
import { createKmsClient, createS3Client } from '../adapters/aws-clients.ts';
import { KmsEs256Signer } from '../adapters/kms/receipt-signer.ts';
import { S3AuditArchive } from '../adapters/s3/s3-audit-archive.ts';
import { systemClock } from '../adapters/system-clock.ts';
import { createLogger, withLambdaContext } from '../middleware/logging.ts';
import { writeAuditDigest } from '../services/write-audit-digest.ts';
import { loadEnvironment } from './environment.ts';

const env = loadEnvironment([
  'auditBucketName',
  'auditRetentionDays',
  'auditDigestKeyId',
  'auditDigestLookbackSeconds',
  'auditMaxRecordDelaySeconds',
]);
const logger = createLogger();
const deps = {
  archive: new S3AuditArchive({ client: createS3Client(), bucket: env.auditBucketName }),
  signer: new KmsEs256Signer({ client: createKmsClient(), keyId: env.auditDigestKeyId }),
  clock: systemClock,
  bucket: env.auditBucketName,
  retentionDays: env.auditRetentionDays,
  lookbackSeconds: env.auditDigestLookbackSeconds,
  maxRecordDelaySeconds: env.auditMaxRecordDelaySeconds,
};

async function digest(): Promise<{ key: string; sequence: number; objects: number; written: boolean }> {
  const result = await writeAuditDigest(deps);
  const summary = {
    key: result.key,
    sequence: result.digest.sequence,
    objects: result.digest.objects.length,
    written: result.written,
  };
  if (result.written) logger.info('audit digest written', summary);
  else logger.warn('another run wrote this digest first; the chain continues from it', summary);
  return summary;
}

export const handler = middy(digest).use(withLambdaContext(logger));
