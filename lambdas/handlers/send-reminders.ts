/**
 * The reminder run, started by a scheduled EventBridge rule (every five minutes in the stack, the
 * same rule on a timer in the twin): reminds reviewers of pending requests before they expire, and
 * of open after-the-fact reviews until they are closed (escalating them after a day), each
 * reminder once. The scheduled event carries nothing we need; the window is "the last few runs",
 * so a missed run is made up by the next one.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import { createDocumentClient, createDynamoDbClient, createSfnClient } from '../adapters/aws-clients.ts';
import { createDirectory } from '../adapters/directory-wiring.ts';
import { DynamoDbReminderMarks } from '../adapters/dynamodb/reminder-marks.ts';
import { DynamoDbRequestStore } from '../adapters/dynamodb/request-store.ts';
import { DynamoDbReviewStore } from '../adapters/dynamodb/review-store.ts';
import { SfnWorkflow } from '../adapters/sfn-workflow.ts';
import { systemClock } from '../adapters/system-clock.ts';
import { ReminderError } from '../domain/errors.ts';
import { createLogger, withLambdaContext } from '../middleware/logging.ts';
import { createMetrics, withMetrics } from '../middleware/metrics.ts';
import { type SendRemindersResult, sendReminders } from '../services/send-reminders.ts';
import { sendReviewReminders } from '../services/send-review-reminders.ts';
import { createReviewAlerts, createReviewNotifier } from './chat-wiring.ts';
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
const reviewDeps = {
  reviews: new DynamoDbReviewStore({ client: documentClient, tableName: env.tableName }),
  alerts: createReviewAlerts({ documentClient, log: logger }),
  clock: systemClock,
};

async function sendDueReminders(): Promise<
  Omit<SendRemindersResult, 'failures'> & { failed: number; openReviews: number; reviewRemindersSent: number }
> {
  const { failures: requestFailures, ...result } = await sendReminders(deps, env.reminderLookbackSeconds);
  const { failures: reviewFailures, ...reviews } = await sendReviewReminders(
    reviewDeps,
    env.reminderLookbackSeconds,
  );
  const failures = [...requestFailures, ...reviewFailures];
  metrics.addMetric('RemindersSent', MetricUnit.Count, result.sent);
  metrics.addMetric('ReviewRemindersSent', MetricUnit.Count, reviews.sent);
  // Reviews still open: what the escalations are about, and what an operator may alarm on.
  metrics.addMetric('OpenAfterTheFactReviews', MetricUnit.Count, reviews.open);
  logger.info('reminder run', {
    ...result,
    openReviews: reviews.open,
    reviewRemindersSent: reviews.sent,
    failed: failures.length,
  });
  if (failures.length > 0) {
    // Released for the next run; failing the invocation makes the failure visible to the alarms.
    for (const error of failures) logger.error('reminder not sent', { error });
    throw new ReminderError(`${failures.length} reminder(s) not sent`, { cause: failures[0] });
  }
  return { ...result, openReviews: reviews.open, reviewRemindersSent: reviews.sent, failed: 0 };
}

export const handler = middy(sendDueReminders).use(withLambdaContext(logger)).use(withMetrics(metrics));
