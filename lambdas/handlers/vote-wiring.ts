/**
 * What every handler that takes votes (the REST API, Slack, Teams) builds once at cold start: the
 * store, the directory and the dependencies of castVote. One place, so the three channels cannot
 * drift apart in how a vote is recorded, resumed and shown in chat.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, createDynamoDbClient, createSfnClient } from '../adapters/aws-clients.ts';
import { createReviewNotifier } from '../adapters/chat-wiring.ts';
import { createDirectory, type DirectoryEnvironment } from '../adapters/directory-wiring.ts';
import { DynamoDbRequestStore } from '../adapters/dynamodb/request-store.ts';
import type { StructuredLog } from '../adapters/log-review-notifier.ts';
import { SfnWorkflow } from '../adapters/sfn-workflow.ts';
import { systemClock } from '../adapters/system-clock.ts';
import type { Directory } from '../ports/index.ts';
import type { CastVoteDeps } from '../services/cast-vote.ts';

export interface VoteWiring {
  readonly documentClient: DynamoDBDocumentClient;
  readonly store: DynamoDbRequestStore;
  readonly directory: Directory;
  readonly voteDeps: CastVoteDeps;
}

export function createVoteWiring(
  env: DirectoryEnvironment & { readonly tableName: string },
  log: StructuredLog,
): VoteWiring {
  const documentClient = createDocumentClient(createDynamoDbClient());
  const store = new DynamoDbRequestStore({ client: documentClient, tableName: env.tableName });
  const directory = createDirectory(env, { documentClient, tableName: env.tableName });
  return {
    documentClient,
    store,
    directory,
    voteDeps: {
      store,
      workflow: new SfnWorkflow(createSfnClient()),
      // A vote from any channel updates the Slack and Teams messages, when those are configured.
      notifier: createReviewNotifier({ documentClient, directory, log }),
      clock: systemClock,
    },
  };
}
