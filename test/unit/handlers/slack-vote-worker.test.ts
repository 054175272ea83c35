/**
 * The Slack function invoked directly, as any principal of the account with lambda:InvokeFunction
 * could: a job it did not seal itself records no vote. Secrets Manager and Step Functions are mocked
 * at the SDK; the table is dynalite.
 */
import { readFileSync } from 'node:fs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbRequestStore } from '../../../lambdas/adapters/dynamodb/request-store.ts';
import { sealVoteJob } from '../../../lambdas/adapters/slack/vote-job.ts';
import { ENV } from '../../../lambdas/handlers/environment-names.ts';
import { type LocalTable, startDynalite } from '../../support/dynalite.ts';
import { setEnvironment } from '../../workflow/support/handler-environment.ts';
import { type LambdaHandler, lambdaContext } from '../../workflow/support/lambda-context.ts';
import { pendingRecord } from '../chat/review-record.ts';

const SLACK_SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:slack-AbCdEf';
const JOB_KEY_SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:job-key-AbCdEf';
const JOB_KEY = { key: 'generated-by-cloudformation-0123456789abcdefghijklmn' };
const secrets = mockClient(SecretsManagerClient);
const sfn = mockClient(SFNClient);

let table: LocalTable;
let store: DynamoDbRequestStore;
let restore: () => void;
let handler: LambdaHandler;

beforeAll(async () => {
  table = await startDynalite();
  store = new DynamoDbRequestStore({ client: table.client, tableName: table.tableName });
  secrets.on(GetSecretValueCommand, { SecretId: SLACK_SECRET }).resolves({
    SecretString: JSON.stringify({ signingSecret: 'slack-signing-secret', botToken: 'xoxb-unused' }),
  });
  secrets
    .on(GetSecretValueCommand, { SecretId: JOB_KEY_SECRET })
    .resolves({ SecretString: JSON.stringify(JOB_KEY) });
  const endpoint = await table.client.config.endpoint!();
  restore = setEnvironment({
    [ENV.tableName]: table.tableName,
    [ENV.consoleUrl]: 'https://countersign.example.com',
    [ENV.slackSecretArn]: SLACK_SECRET,
    [ENV.slackVoteJobKeySecretArn]: JOB_KEY_SECRET,
    [ENV.directoryJson]: readFileSync('countersign.local.json', 'utf8'),
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: `${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  handler = (await import('../../../lambdas/handlers/slack-interactions.ts')).handler as LambdaHandler;
});

afterAll(async () => {
  restore();
  secrets.restore();
  sfn.restore();
  await table.close();
});

describe('the Slack function invoked with a vote job', () => {
  it('records no vote for a job it did not seal (a direct invocation), and audits the refusal', async () => {
    const record = pendingRecord({ requestId: 'invoice-bot:req-forged', clientRequestId: 'req-forged' });
    await store.claim(record);
    const job = {
      requestId: record.requestId,
      vote: 'approve' as const,
      slackUserId: 'U0A11CE01',
      channelId: 'C0COUNTERSIGN',
      attemptId: 'forged-1',
      retry: false,
    };
    const forgeries = [
      { countersignSlackVote: job },
      {
        countersignSlackVote: sealVoteJob(
          job,
          { key: 'guessed-key-that-is-long-enough-000000000' },
          new Date(),
        ),
      },
      { countersignSlackVote: sealVoteJob(job, JOB_KEY, new Date(Date.now() - 10 * 60_000)) },
    ];
    for (const event of forgeries) {
      await expect(handler(event, lambdaContext('SlackInteractions'))).resolves.toBeUndefined();
    }
    const stored = await store.get(record.requestId);
    expect(stored).toMatchObject({ status: 'PENDING', votes: [] });
    const refusals = (await store.listAudit(record.requestId)).filter((audit) => audit.kind === 'REFUSED');
    expect(refusals.map((audit) => audit.data.code).sort()).toEqual([
      'EXPIRED_JOB',
      'FORGED_JOB',
      'MALFORMED_JOB',
    ]);
    expect(JSON.stringify(refusals)).not.toContain(JOB_KEY.key);
  });
});
