import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { ChatReviewNotifier } from '../../../lambdas/adapters/chat-review-notifier.ts';
import { LogReviewNotifier } from '../../../lambdas/adapters/log-review-notifier.ts';
import { StaticDirectory } from '../../../lambdas/adapters/static-directory.ts';
import { ConfigurationError } from '../../../lambdas/domain/errors.ts';
import { createReviewNotifier } from '../../../lambdas/handlers/chat-wiring.ts';

const deps = {
  documentClient: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })),
  directory: new StaticDirectory({ users: [], agents: [] }),
  log: { info: () => undefined },
};
const slackArn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:slack';

describe('createReviewNotifier', () => {
  it('logs reviews when no chat secret is configured', () => {
    expect(createReviewNotifier(deps, { TABLE_NAME: 't' })).toBeInstanceOf(LogReviewNotifier);
  });

  it('posts to chat when a chat secret is configured', () => {
    const notifier = createReviewNotifier(deps, {
      TABLE_NAME: 't',
      CONSOLE_URL: 'https://countersign.example.com',
      SLACK_SECRET_ARN: slackArn,
      SLACK_CHANNEL_ID: 'C0123456789',
    });
    expect(notifier).toBeInstanceOf(ChatReviewNotifier);
  });

  it('fails at start when chat is on without the console URL its messages link to', () => {
    expect(() => createReviewNotifier(deps, { TABLE_NAME: 't', SLACK_SECRET_ARN: slackArn })).toThrow(
      ConfigurationError,
    );
    expect(() => createReviewNotifier(deps, { TABLE_NAME: 't', SLACK_SECRET_ARN: slackArn })).toThrow(
      /CONSOLE_URL/,
    );
  });
});
