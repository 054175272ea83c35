/**
 * What every handler that takes votes (the REST API, Slack, Teams) builds once at cold start: the
 * store, the directory and the dependencies of castVote and closeReview. One place, so the three
 * channels cannot drift apart in how a vote or a review is recorded, resumed and shown in chat.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, createDynamoDbClient, createSfnClient } from '../adapters/aws-clients.ts';
import { createDirectory, type DirectoryEnvironment } from '../adapters/directory-wiring.ts';
import { DynamoDbPrivilegedCallStore } from '../adapters/dynamodb/privileged-call-store.ts';
import { DynamoDbRequestStore } from '../adapters/dynamodb/request-store.ts';
import { DynamoDbReviewStore } from '../adapters/dynamodb/review-store.ts';
import { SfnWorkflow } from '../adapters/sfn-workflow.ts';
import { systemClock } from '../adapters/system-clock.ts';
import type { CloseReview, Directory, SettleRequest } from '../ports/index.ts';
import {
  type CastVoteDeps,
  type CastVoteInput,
  type CastVoteResult,
  castVote,
} from '../services/cast-vote.ts';
import { closeReview } from '../services/close-review.ts';
import { settleVotes } from '../services/settle-votes.ts';
import { createReviewAlerts, createReviewNotifier } from './chat-wiring.ts';

export interface VoteWiring {
  readonly documentClient: DynamoDBDocumentClient;
  readonly store: DynamoDbRequestStore;
  readonly directory: Directory;
  /** Privileged calls, for the REST API to list and show. */
  readonly calls: DynamoDbPrivilegedCallStore;
  readonly reviews: DynamoDbReviewStore;
  /** castVote with its dependencies, reporting what the vote could not finish and counting it. */
  readonly castVote: (command: CastVoteInput) => Promise<CastVoteResult>;
  /** closeReview with its dependencies, reporting a chat update that failed. */
  readonly closeReview: CloseReview;
  /** settleVotes with the same dependencies, logging a decision it stored and a resume that failed. */
  readonly settle: SettleRequest;
}

export interface VoteReporting {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The metric each recorded vote adds one to, e.g. `SlackVoteRecorded`. */
  readonly votesMetric: string;
}

export function createVoteWiring(
  env: DirectoryEnvironment & { readonly tableName: string },
  { logger, metrics, votesMetric }: VoteReporting,
): VoteWiring {
  const documentClient = createDocumentClient(createDynamoDbClient());
  const store = new DynamoDbRequestStore({ client: documentClient, tableName: env.tableName });
  const directory = createDirectory(env, { documentClient, tableName: env.tableName });
  const reviews = new DynamoDbReviewStore({ client: documentClient, tableName: env.tableName });
  const reviewDeps = {
    reviews,
    alerts: createReviewAlerts({ documentClient, log: logger }),
    store,
    clock: systemClock,
  };
  const voteDeps: CastVoteDeps = {
    store,
    workflow: new SfnWorkflow(createSfnClient()),
    // A vote from any channel updates the Slack and Teams messages, when those are configured.
    notifier: createReviewNotifier({ documentClient, directory, log: logger }),
    clock: systemClock,
  };
  return {
    documentClient,
    store,
    directory,
    calls: new DynamoDbPrivilegedCallStore({ client: documentClient, tableName: env.tableName }),
    reviews,
    closeReview: async (command) => {
      const result = await closeReview(reviewDeps, command);
      if (result.updateError !== undefined) {
        logger.warn('review closed, chat not updated', { error: result.updateError });
      }
      return result;
    },
    settle: async (record) => {
      const settled = await settleVotes(voteDeps, record);
      if (settled.decided) {
        logger.warn('request decided by its stored votes on read (an earlier decision write was lost)', {
          requestId: record.requestId,
          decision: settled.record.decision,
        });
        metrics.addMetric('DecisionsRecovered', MetricUnit.Count, 1);
      }
      if ('error' in settled.resume) {
        logger.warn('request decided, workflow not resumed yet', {
          requestId: record.requestId,
          error: settled.resume.error,
        });
      }
      return settled.record;
    },
    castVote: async (command) => {
      const result = await castVote(voteDeps, command);
      // The vote stands either way; these are retried by the next vote or the workflow's own steps.
      if (result.resumeError !== undefined) {
        logger.warn('vote recorded, workflow not resumed yet', { error: result.resumeError });
      }
      if (result.updateError !== undefined) {
        logger.warn('vote recorded, reviewers not updated', { error: result.updateError });
      }
      metrics.addMetric(votesMetric, MetricUnit.Count, 1);
      return result;
    },
  };
}
