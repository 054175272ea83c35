/**
 * Workflow steps StartClassificationJob and CheckClassification (classify before approve): start a
 * one-time Macie job for the request's object, then, once per poll, see whether its verdict is in.
 */
import middy from '@middy/core';
import { createDocumentClient, createDynamoDbClient } from '../adapters/aws-clients.ts';
import { DynamoDbClassificationStore } from '../adapters/dynamodb/classification-store.ts';
import { MacieClassificationJobs } from '../adapters/macie-classification-jobs.ts';
import { createMacieClient } from '../adapters/macie-client.ts';
import { systemClock } from '../adapters/system-clock.ts';
import type { ClassificationScan } from '../domain/classification.ts';
import { parse } from '../domain/schemas.ts';
import { createLogger, withLambdaContext } from '../middleware/logging.ts';
import { checkScan, startScan } from '../services/classification-scans.ts';
import { loadEnvironment } from './environment.ts';
import { MACIE_JOB_TAG_KEY } from './environment-names.ts';
import { ClassificationJobInput } from './inputs.ts';

const env = loadEnvironment([
  'tableName',
  'classificationTimeoutSeconds',
  'classificationPollSeconds',
  'macieBucketOwnerAccountId',
  'macieJobTag',
  'macieJobRoleArn',
]);
const logger = createLogger();
const deps = {
  jobs: new MacieClassificationJobs({
    client: createMacieClient(env.macieJobRoleArn),
    bucketOwnerAccountId: env.macieBucketOwnerAccountId,
    tag: { key: MACIE_JOB_TAG_KEY, value: env.macieJobTag },
  }),
  store: new DynamoDbClassificationStore({
    client: createDocumentClient(createDynamoDbClient()),
    tableName: env.tableName,
  }),
  clock: systemClock,
  settings: { timeoutSeconds: env.classificationTimeoutSeconds, pollSeconds: env.classificationPollSeconds },
};

async function step(event: unknown): Promise<ClassificationScan> {
  const input = parse(ClassificationJobInput, event, 'classification job input');
  const scan = 'scan' in input ? await checkScan(deps, input.scan) : await startScan(deps, input);
  logger.info('classification scan', { jobId: scan.jobId, state: scan.state, reason: scan.reason });
  return scan;
}

export const handler = middy(step).use(withLambdaContext(logger));
