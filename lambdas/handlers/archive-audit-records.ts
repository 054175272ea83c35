/**
 * The archiver, invoked by the table stream's event source mapping with a batch of audit-record
 * inserts: writes them to the archive bucket and answers which record to retry from
 * (ReportBatchItemFailures). The mapping retries and bisects a batch that fails until the stream
 * is about to drop it (an alarm fires once it is 15 minutes late), then parks it in its
 * dead-letter queue, which alarms too.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import { createS3Client } from '../adapters/aws-clients.ts';
import { streamedAuditRecords } from '../adapters/dynamodb/audit-stream.ts';
import { S3AuditArchive } from '../adapters/s3/s3-audit-archive.ts';
import { systemClock } from '../adapters/system-clock.ts';
import { createLogger, withLambdaContext } from '../middleware/logging.ts';
import { createMetrics, withMetrics } from '../middleware/metrics.ts';
import { archiveAuditRecords, type BatchResponse } from '../services/archive-audit-records.ts';
import { loadEnvironment } from './environment.ts';

const env = loadEnvironment(['auditBucketName', 'auditRetentionDays']);
const logger = createLogger();
const metrics = createMetrics();
const deps = {
  archive: new S3AuditArchive({ client: createS3Client(), bucket: env.auditBucketName }),
  clock: systemClock,
  retentionDays: env.auditRetentionDays,
};

async function archive(event: unknown): Promise<BatchResponse> {
  const result = await archiveAuditRecords(deps, streamedAuditRecords(event));
  const records = result.archived.reduce((sum, object) => sum + object.records, 0);
  metrics.addMetric('AuditRecordsArchived', MetricUnit.Count, records);
  logger.info('audit records archived', { objects: result.archived, records });
  if (result.batchItemFailures.length > 0) {
    metrics.addMetric('AuditArchiveFailures', MetricUnit.Count, 1);
    logger.error('audit records not archived; the batch is retried from the first', {
      from: result.batchItemFailures[0]?.itemIdentifier,
      error: result.failure,
    });
  }
  return { batchItemFailures: result.batchItemFailures };
}

export const handler = middy(archive).use(withLambdaContext(logger)).use(withMetrics(metrics));
