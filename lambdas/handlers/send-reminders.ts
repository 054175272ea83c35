/**
 * The reminder run, started by a scheduled EventBridge rule (every five minutes in the stack, the
 * same rule on a timer in the twin): reminds reviewers of pending requests before they expire,
 * each reminder once. The scheduled event carries nothing we need; the window is "the last few
 * runs", so a missed run is made up by the next one.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import { createDocumentClient, createDynamoDbClient, createSfnClient } from '../adapters/aws-clients.ts';
import { createDirectory } from '../adapters/directory-wiring.ts';
import { DynamoDbReminderMarks } from '../adapters/dynamodb/reminder-marks.ts';
import { DynamoDbRequestStore } from '../adapters/dynamodb/request-store.ts';
import { SfnWorkflow } from '../adapters/sfn-workflow.ts';
import { systemClock } from '../adapters/system-clock.ts';
import { ReminderError } from '../domain/errors.ts';
import { createLogger, withLambdaContext } from '../middleware/logging.ts';
import { createMetrics, withMetrics } from '../middleware/metrics.ts';
import { type SendRemindersResult, sendReminders } from '../services/send-reminders.ts';
import { createReviewNotifier } from './chat-wiring.ts';
import { loadEnvironment } from './environment.ts';

const env = loadEnvironment(['tableName', 'directoryJson', 'identityStoreId', 'reminderLookbackSeconds']);
const logger = createLogger();
const metrics = createMetrics();
const documentClient = createDocumentClient(createDynamoDbClient());
const deps = {
  store: new DynamoDbRequestStore({ client: documentClient, tableName: env.tableName }),
  workflow: new SfnWorkflow(createSfnClient()),
  marks: new DynamoDbReminderMarks({ client: documentClient, tableName: env.tableName }),
  notifier: createReviewNotifier({
    documentClient,
    directory: createDirectory(env, { documentClient, tableName: env.tableName }),
    log: logger,
  }),
  clock: systemClock,
};

async function sendDueReminders(): Promise<Omit<SendRemindersResult, 'failures'> & { failed: number }> {
  const { failures, ...result } = await sendReminders(deps, env.reminderLookbackSeconds);
  metrics.addMetric('RemindersSent', MetricUnit.Count, result.sent);
  logger.info('reminder run', { ...result, failed: failures.length });
  if (failures.length > 0) {
    // Released for the next run; failing the invocation makes the failure visible to the alarms.
    for (const error of failures) logger.error('reminder not sent', { error });
    throw new ReminderError(`${failures.length} reminder(s) not sent`, { cause: failures[0] });
  }
  return { ...result, failed: 0 };
}

export const handler = middy(sendDueReminders).use(withLambdaContext(logger)).use(withMetrics(metrics));
