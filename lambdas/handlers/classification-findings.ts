/**
 * Target of the `Macie Finding` rule on the account's default bus: stores the finding as the
 * classification of its object (and its bucket's aggregate) or as a fact about its bucket, each
 * change audited. A malformed finding fails the invocation with one log line naming what is wrong
 * (never the finding itself: it describes where sensitive data lies), so it is retried and then
 * dead-lettered, and nothing is stored.
 */
import middy from '@middy/core';
import { createDocumentClient, createDynamoDbClient } from '../adapters/aws-clients.ts';
import { DynamoDbClassificationStore } from '../adapters/dynamodb/classification-store.ts';
import { systemClock } from '../adapters/system-clock.ts';
import { ValidationError } from '../domain/errors.ts';
import { type MacieFinding, parseFindingEvent } from '../domain/macie-finding-schema.ts';
import { createLogger, withLambdaContext } from '../middleware/logging.ts';
import { type FindingOutcome, recordFinding } from '../services/classification.ts';
import { loadEnvironment } from './environment.ts';

const env = loadEnvironment(['tableName']);
const logger = createLogger();
const deps = {
  store: new DynamoDbClassificationStore({
    client: createDocumentClient(createDynamoDbClient()),
    tableName: env.tableName,
  }),
  clock: systemClock,
};

async function ingest(event: unknown): Promise<FindingOutcome> {
  let finding: MacieFinding;
  try {
    finding = parseFindingEvent(event);
  } catch (error) {
    if (error instanceof ValidationError)
      logger.error('malformed Macie finding rejected', { issues: error.issues });
    throw error;
  }
  const outcome = await recordFinding(deps, finding);
  logger.info('Macie finding recorded', { findingId: finding.id, type: finding.type, ...outcome });
  return outcome;
}

export const handler = middy(ingest).use(withLambdaContext(logger));
