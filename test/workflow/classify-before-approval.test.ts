/**
 * Classify before approve, end to end through the SYNTHESIZED state machine (countersign:macie on,
 * short poll and timeout) run by the twin's runner with the real handlers in process, against a
 * local table; Macie itself is scripted at the SDK (its API has no moto implementation), and its
 * finding is delivered through the real findings handler, as the rule would.
 *  - unclassified → job → finding → Evaluate: High, two security approvals;
 *  - unclassified → job never finishes → timeout → FAILED → two security approvals;
 *  - job completes with nothing found → nothing sensitive → one approval; classified objects are
 *    never scanned again.
 */
import { readFileSync } from 'node:fs';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateClassificationJobCommand,
  DescribeClassificationJobCommand,
  GetFindingsCommand,
  ListFindingsCommand,
  Macie2Client,
} from '@aws-sdk/client-macie2';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbClassificationStore } from '../../lambdas/adapters/dynamodb/classification-store.ts';
import { DynamoDbRequestStore } from '../../lambdas/adapters/dynamodb/request-store.ts';
import { LogReviewNotifier } from '../../lambdas/adapters/log-review-notifier.ts';
import { SfnWorkflow } from '../../lambdas/adapters/sfn-workflow.ts';
import { StaticDirectory } from '../../lambdas/adapters/static-directory.ts';
import { systemClock } from '../../lambdas/adapters/system-clock.ts';
import { publicRequestId } from '../../lambdas/domain/schemas.ts';
import { ENV } from '../../lambdas/handlers/environment-names.ts';
import { castVote } from '../../lambdas/services/cast-vote.ts';
import { WORKFLOW_STATES as S } from '../../lib/workflow-states.ts';
import { type LocalTable, startDynalite } from '../support/dynalite.ts';
import { mockKmsSigningKey } from '../support/kms-signing-key.ts';
import { agentRequestEvent } from './support/agent-events.ts';
import { REPO_ROOT, setEnvironment, workflowHandlerEnvironment } from './support/handler-environment.ts';
import { lambdaContext } from './support/lambda-context.ts';
import { type SynthesizedWorkflow, startSynthesizedWorkflow } from './support/synthesized-workflow.ts';

// biome-ignore lint/suspicious/noExplicitAny: fixtures are edited freely
type Json = any;

const TIMEOUT_SECONDS = 3;
const macie = mockClient(Macie2Client);
// The publish step signs each decision's receipt with KMS.
const receiptKey = mockKmsSigningKey();
const eventBridge = mockClient(EventBridgeClient);
const directory = StaticDirectory.fromJson(readFileSync(`${REPO_ROOT}/countersign.local.json`, 'utf8'));
let table: LocalTable;
let store: DynamoDbRequestStore;
let classifications: DynamoDbClassificationStore;
let workflow: SynthesizedWorkflow;
let restoreEnvironment: () => void;
let findingsHandler: (event: unknown, context: Context) => Promise<unknown>;
let sequence = 0;

beforeAll(async () => {
  table = await startDynalite();
  store = new DynamoDbRequestStore({ client: table.client, tableName: table.tableName });
  classifications = new DynamoDbClassificationStore({ client: table.client, tableName: table.tableName });
  restoreEnvironment = setEnvironment(
    await workflowHandlerEnvironment(table, {
      [ENV.classificationTimeoutSeconds]: String(TIMEOUT_SECONDS),
      [ENV.classificationPollSeconds]: '1',
      [ENV.macieBucketOwnerAccountId]: '123456789012',
      [ENV.macieJobTag]: 'Countersign',
    }),
  );
  workflow = await startSynthesizedWorkflow({
    context: {
      'countersign:macie': true,
      'countersign:classificationTimeoutSeconds': TIMEOUT_SECONDS,
      'countersign:classificationPollSeconds': 1,
    },
    intercept: (_arn, _payload, invoke) => invoke(),
  });
  ({ handler: findingsHandler } = await import('../../lambdas/handlers/classification-findings.ts'));
});

afterAll(async () => {
  await workflow?.close();
  restoreEnvironment?.();
  await table?.close();
  macie.restore();
  eventBridge.restore();
  receiptKey.kms.restore();
});

beforeEach(() => {
  macie.reset();
  eventBridge.reset();
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
  macie
    .on(CreateClassificationJobCommand)
    .resolves({ jobId: 'job-1', jobArn: 'arn:aws:macie2:::classification-job/job-1' });
  macie
    .on(DescribeClassificationJobCommand)
    .resolves({ jobId: 'job-1', jobStatus: 'RUNNING', createdAt: new Date() });
  macie.on(ListFindingsCommand).resolves({ findingIds: [] });
  macie.on(GetFindingsCommand).resolves({ findings: [] });
});

/** The public id the state machine gives the request: `<agentId>:<the agent's requestId>`. */
function publicIdOf(event: ReturnType<typeof agentRequestEvent>): string {
  return publicRequestId(event.detail.agent.id, event.detail.requestId);
}

function freshBucket(): string {
  sequence += 1;
  return `exports-${sequence}`;
}

/** An agent copying `bucket/cards.csv` to a partner's bucket: a data export reading that object. */
function copyEvent(bucket: string) {
  return agentRequestEvent({
    action: 's3:CopyObject',
    resource: { arn: `arn:aws:s3:::${bucket}/cards.csv`, type: 'AWS::S3::Object' },
    parameters: { CopySource: `${bucket}/cards.csv`, Bucket: 'partner-exchange', Key: 'inbound/cards.csv' },
  });
}

/** Macie's finding for the object, as the `Macie Finding` rule delivers it. */
function cardsFindingEvent(bucket: string): Json {
  const event = JSON.parse(
    readFileSync(
      new URL('../fixtures/macie/sensitive-data-finding-multiple-csv.eventbridge.json', import.meta.url),
      'utf8',
    ),
  );
  event.detail.resourcesAffected.s3Bucket.name = bucket;
  event.detail.resourcesAffected.s3Object.key = 'cards.csv';
  event.detail.updatedAt = new Date().toISOString();
  return event;
}

function enteredStates(executionArn: string): string[] {
  const { events } = workflow.stepFunctions.getExecutionHistory({ executionArn, maxResults: 1000 });
  return events.flatMap((event) => {
    const entered = (event as { stateEnteredEventDetails?: { name?: string } }).stateEnteredEventDetails;
    return entered?.name === undefined ? [] : [entered.name];
  });
}

async function start(event: unknown): Promise<string> {
  const { executionArn } = await workflow.stepFunctions.startExecution({
    stateMachineArn: workflow.stateMachineArn,
    input: JSON.stringify(event),
  });
  return executionArn;
}

async function waitForPending(requestId: string) {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const state = await store.getWaitState(requestId).catch(() => undefined);
    if (state?.taskToken !== undefined) return store.get(requestId);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${requestId} never waited for reviewers`);
}

async function approve(requestId: string, voterId: string) {
  const principal = await directory.resolve({ kind: 'id', value: voterId });
  return castVote(
    {
      store,
      workflow: new SfnWorkflow(new SFNClient({ region: 'us-east-1' })),
      notifier: new LogReviewNotifier({ info: () => undefined }),
      clock: systemClock,
    },
    { requestId, principal: principal!, input: { vote: 'approve' }, channel: 'console' },
  );
}

describe('classify before approve', () => {
  it('scans an unclassified object, stores the finding, and then needs two security approvals for High data', async () => {
    const bucket = freshBucket();
    const event = copyEvent(bucket);
    const requestId = publicIdOf(event);
    const executionArn = await start(event);
    // The job is started, scoped to the source object; while it runs, Macie's finding arrives.
    await expect
      .poll(() => macie.commandCalls(CreateClassificationJobCommand).length, { timeout: 10_000 })
      .toBe(1);
    const job = macie.commandCalls(CreateClassificationJobCommand)[0]!.args[0].input;
    expect(job).toMatchObject({
      jobType: 'ONE_TIME',
      s3JobDefinition: {
        bucketDefinitions: [{ accountId: '123456789012', buckets: [bucket] }],
        scoping: {
          includes: {
            and: [
              { simpleScopeTerm: { key: 'OBJECT_KEY', comparator: 'STARTS_WITH', values: ['cards.csv'] } },
            ],
          },
        },
      },
      tags: { 'countersign-stack': 'Countersign' },
    });
    await findingsHandler(cardsFindingEvent(bucket), lambdaContext('ClassificationFindings'));

    const pending = await waitForPending(requestId);
    expect(pending?.classification).toMatchObject({
      status: 'CLASSIFIED',
      severity: 'High',
      categories: ['FINANCIAL_INFORMATION', 'PERSONAL_INFORMATION'],
      subject: `s3://${bucket}/cards.csv`,
    });
    expect(pending?.policy).toMatchObject({
      decision: 'REQUIRE_APPROVAL',
      groups: ['security'],
      quorum: 2,
      policyIds: ['data-export-needs-security', 'sensitive-data-export-needs-two-security'],
    });
    expect((await approve(requestId, 'alice')).decided).toBe(false);
    expect((await approve(requestId, 'bob')).decided).toBe(true);
    await expect(workflow.stepFunctions.waitForCompletion(executionArn)).resolves.toMatchObject({
      status: 'SUCCEEDED',
    });
    expect(await store.get(requestId)).toMatchObject({ status: 'APPROVED', approvers: ['alice', 'bob'] });
    expect(enteredStates(executionArn)).toEqual(
      expect.arrayContaining([
        S.evaluate,
        S.route,
        S.startClassificationJob,
        S.waitForClassification,
        S.checkClassification,
      ]),
    );

    // The object is classified now: the next request on it is evaluated at once, no job.
    const again = copyEvent(bucket);
    const againArn = await start(again);
    await waitForPending(publicIdOf(again));
    expect(macie.commandCalls(CreateClassificationJobCommand)).toHaveLength(1);
    await approve(publicIdOf(again), 'alice');
    await approve(publicIdOf(again), 'bob');
    await expect(workflow.stepFunctions.waitForCompletion(againArn)).resolves.toMatchObject({
      status: 'SUCCEEDED',
    });
    expect(enteredStates(againArn).slice(0, 3)).toEqual([S.evaluate, S.route, S.requestApproval]);
  });

  it('evaluates as FAILED when the job does not finish in time, which needs two security approvals', async () => {
    const bucket = freshBucket();
    const event = copyEvent(bucket);
    const requestId = publicIdOf(event);
    const executionArn = await start(event);
    const pending = await waitForPending(requestId);
    expect(pending?.classification).toMatchObject({
      status: 'FAILED',
      severity: null,
      reason: expect.stringContaining('did not classify the object before'),
    });
    expect(pending?.policy).toMatchObject({ quorum: 2, groups: ['security'] });
    expect(macie.commandCalls(DescribeClassificationJobCommand).length).toBeGreaterThanOrEqual(2);
    await approve(requestId, 'alice');
    await approve(requestId, 'bob');
    await expect(workflow.stepFunctions.waitForCompletion(executionArn)).resolves.toMatchObject({
      status: 'SUCCEEDED',
    });
    // Nothing was stored for the object: a later request scans it again.
    expect(await classifications.objectVerdict(bucket, 'cards.csv')).toBeUndefined();
  }, 20_000);

  it('classifies an object a completed job found nothing in as nothing sensitive: one approval', async () => {
    const bucket = freshBucket();
    macie.on(DescribeClassificationJobCommand).resolves({
      jobId: 'job-1',
      jobStatus: 'COMPLETE',
      createdAt: new Date(),
      lastRunErrorStatus: { code: 'NONE' },
    });
    const event = copyEvent(bucket);
    const executionArn = await start(event);
    const stored = await waitForPending(publicIdOf(event));
    expect(stored?.classification).toMatchObject({ status: 'CLASSIFIED', severity: null });
    expect(stored?.policy).toMatchObject({ quorum: 1, policyIds: ['data-export-needs-security'] });
    expect(macie.commandCalls(ListFindingsCommand)[0]!.args[0].input).toEqual({
      findingCriteria: { criterion: { 'classificationDetails.jobId': { eq: ['job-1'] } } },
    });
    await approve(publicIdOf(event), 'alice');
    await expect(workflow.stepFunctions.waitForCompletion(executionArn)).resolves.toMatchObject({
      status: 'SUCCEEDED',
    });
  }, 20_000);
});
