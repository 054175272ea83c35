/**
 * Executes the SYNTHESIZED approval state machine (the definition `cdk synth` would deploy) with
 * aws-local-stepfunctions. Every Lambda task runs the real handler module the template names,
 * against a local DynamoDB; reviewers vote through the real castVote service, which resumes the
 * paused execution through the task-token registry (the Workflow port). EventBridge is mocked at
 * the SDK to capture the `Action Decided` events.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbRequestStore } from '../../lambdas/adapters/dynamodb/request-store.ts';
import { LogReviewNotifier } from '../../lambdas/adapters/log-review-notifier.ts';
import { StaticDirectory } from '../../lambdas/adapters/static-directory.ts';
import { systemClock } from '../../lambdas/adapters/system-clock.ts';
import { WorkflowTokenError } from '../../lambdas/domain/errors.ts';
import type { ActionDecidedDetail } from '../../lambdas/domain/schemas.ts';
import { castVote } from '../../lambdas/services/cast-vote.ts';
import { WORKFLOW_STATES } from '../../lib/workflow-states.ts';
import { synthesizeStateMachineDefinition } from '../infra/synth-definition.ts';
import { type LocalTable, startDynalite } from '../support/dynalite.ts';
import { agentRequestEvent } from './support/agent-events.ts';
import { REPO_ROOT, setEnvironment, workflowHandlerEnvironment } from './support/handler-environment.ts';
import { createLocalWorkflow, type LocalWorkflow } from './support/local-workflow.ts';
import { TaskTokenRegistry } from './support/task-tokens.ts';

/** Requests no policy matches wait for the default group for this long: the timeout scenario. */
const DEFAULT_TIMEOUT_SECONDS = 1;
/** Set by a test to make the Evaluate function crash after it stored the request. */
let crashEvaluateAfterStoring = false;

const eventBridge = mockClient(EventBridgeClient);
const directory = StaticDirectory.fromJson(
  readFileSync(resolve(REPO_ROOT, 'countersign.local.json'), 'utf8'),
);
const tokens = new TaskTokenRegistry();
let table: LocalTable;
let store: DynamoDbRequestStore;
let workflow: LocalWorkflow;
let restoreEnvironment: () => void;

beforeAll(async () => {
  const { definition, functionEntries } = synthesizeStateMachineDefinition();
  table = await startDynalite();
  store = new DynamoDbRequestStore({ client: table.client, tableName: table.tableName });
  restoreEnvironment = setEnvironment(
    await workflowHandlerEnvironment(table, { DEFAULT_TIMEOUT_SECONDS: String(DEFAULT_TIMEOUT_SECONDS) }),
  );
  workflow = await createLocalWorkflow({
    definition,
    functionEntries,
    repoRoot: REPO_ROOT,
    tokens,
    wrapHandler: (stateName, handler) =>
      stateName === WORKFLOW_STATES.evaluate
        ? async (event, context) => {
            const result = await handler(event, context);
            if (crashEvaluateAfterStoring) throw new Error('Task timed out after 30.00 seconds');
            return result;
          }
        : handler,
  });
});

afterAll(async () => {
  restoreEnvironment?.();
  await table?.close();
});

beforeEach(() => {
  crashEvaluateAfterStoring = false;
  eventBridge.reset();
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
});

function publishedDecisions(): ActionDecidedDetail[] {
  return eventBridge.commandCalls(PutEventsCommand).flatMap((call) =>
    (call.args[0].input.Entries ?? []).map((entry) => {
      expect(entry).toMatchObject({ Source: 'countersign', DetailType: 'Action Decided' });
      return JSON.parse(entry.Detail ?? '{}') as ActionDecidedDetail;
    }),
  );
}

async function vote(
  requestId: string,
  voterId: string,
  ballot: { vote: 'approve' | 'deny'; reason?: string },
) {
  const principal = await directory.resolve({ kind: 'id', value: voterId });
  if (principal === undefined) throw new Error(`${voterId} is not in the directory`);
  return castVote(
    {
      store,
      workflow: tokens,
      notifier: new LogReviewNotifier({ info: () => undefined }),
      clock: systemClock,
    },
    { requestId, principal, input: ballot, channel: 'console' },
  );
}

describe('the synthesized approval state machine', () => {
  it('auto-approves a read-only action: recorded and published as AUTO_APPROVED, nobody asked', async () => {
    const event = agentRequestEvent({ action: 's3:GetObject' });
    const { requestId } = event.detail;

    await workflow.start(event).result;

    await expect(store.get(requestId)).resolves.toMatchObject({
      status: 'APPROVED',
      decision: 'AUTO_APPROVED',
      policy: { decision: 'ALLOW' },
    });
    await expect(store.getWaitState(requestId)).resolves.toMatchObject({ notified: false });
    expect(publishedDecisions()).toEqual([
      expect.objectContaining({ requestId, decision: 'AUTO_APPROVED', approvers: [] }),
    ]);
  });

  it('waits for a platform reviewer on iam:AttachRolePolicy and resumes on the approving vote', async () => {
    const event = agentRequestEvent({
      action: 'iam:AttachRolePolicy',
      resource: { arn: 'arn:aws:iam::123456789012:role/invoice-bot' },
      parameters: { RoleName: 'invoice-bot', PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' },
    });
    const { requestId } = event.detail;
    const execution = workflow.start(event);
    await tokens.whenWaiting((token) => token === execution.taskToken);
    expect(publishedDecisions()).toEqual([]);

    const voted = await vote(requestId, 'carol', { vote: 'approve' });
    await execution.result;

    expect(voted).toMatchObject({ decided: true, resumed: true });
    const stored = await store.get(requestId);
    expect(stored).toMatchObject({ status: 'APPROVED', decision: 'APPROVED', approvers: ['carol'] });
    expect(publishedDecisions()).toEqual([
      { requestId, decision: 'APPROVED', actionHash: stored?.actionHash, approvers: ['carol'] },
    ]);
  });

  it('ends DENIED when an eligible reviewer denies, with the reason published', async () => {
    const event = agentRequestEvent({
      action: 'iam:AttachRolePolicy',
      resource: { arn: 'arn:aws:iam::123456789012:role/invoice-bot' },
      parameters: { RoleName: 'invoice-bot', PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' },
    });
    const { requestId } = event.detail;
    const execution = workflow.start(event);
    await tokens.whenWaiting((token) => token === execution.taskToken);

    await vote(requestId, 'erin', { vote: 'deny', reason: 'the role is shared with payroll' });
    await execution.result;

    await expect(store.get(requestId)).resolves.toMatchObject({ status: 'DENIED', decision: 'DENIED' });
    expect(publishedDecisions()).toEqual([
      expect.objectContaining({ requestId, decision: 'DENIED', reason: 'the role is shared with payroll' }),
    ]);
  });

  it('expires when nobody answers within the policy timeout, and a late vote cannot resume it', async () => {
    const event = agentRequestEvent({
      action: 's3:DeleteObject',
      parameters: { Bucket: 'invoices', Key: '2026/03.csv' },
    });
    const { requestId } = event.detail;
    const execution = workflow.start(event);

    await execution.result;

    await expect(store.get(requestId)).resolves.toMatchObject({
      status: 'EXPIRED',
      decision: 'EXPIRED',
      policy: { decision: 'REQUIRE_APPROVAL', groups: ['security'], timeoutSeconds: DEFAULT_TIMEOUT_SECONDS },
    });
    expect(publishedDecisions()).toEqual([expect.objectContaining({ requestId, decision: 'EXPIRED' })]);
    await expect(
      tokens.succeed(execution.taskToken, { decision: 'APPROVED', approvers: ['alice'] }),
    ).rejects.toMatchObject({ name: WorkflowTokenError.name, code: 'TASK_TIMED_OUT' });
  });

  it('denies by policy without asking anyone: kms:ScheduleKeyDeletion is forbidden for agents', async () => {
    const event = agentRequestEvent({
      action: 'kms:ScheduleKeyDeletion',
      resource: { arn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
      parameters: { PendingWindowInDays: 7 },
    });
    const { requestId } = event.detail;

    await workflow.start(event).result;

    const stored = await store.get(requestId);
    expect(stored).toMatchObject({ status: 'DENIED', decision: 'POLICY_DENIED' });
    await expect(store.getWaitState(requestId)).resolves.toMatchObject({ notified: false });
    expect(publishedDecisions()).toEqual([
      expect.objectContaining({ requestId, decision: 'POLICY_DENIED', reason: stored?.policy.reason }),
    ]);
  });

  it('records and publishes DENIED when the Evaluate function fails', async () => {
    crashEvaluateAfterStoring = true;
    const event = agentRequestEvent({ action: 's3:GetObject' });
    const { requestId } = event.detail;

    await workflow.start(event).result;

    await expect(store.get(requestId)).resolves.toMatchObject({
      status: 'DENIED',
      decision: 'DENIED',
      reason: 'evaluation failed',
    });
    expect(publishedDecisions()).toEqual([
      expect.objectContaining({ requestId, decision: 'DENIED', reason: 'evaluation failed' }),
    ]);
  });

  it('rejects a malformed request without storing or publishing anything', async () => {
    const event = agentRequestEvent({ action: 's3:GetObject' });
    const forged = { ...event, source: 'countersign.agent.someone-else' };

    await expect(workflow.start(forged).result).rejects.toMatchObject({
      cause: {
        name: 'Countersign.InvalidRequest',
        message: expect.stringContaining('an agent can only ask for itself'),
      },
    });

    await expect(store.get(event.detail.requestId)).resolves.toBeUndefined();
    expect(publishedDecisions()).toEqual([]);
  });

  it('runs one workflow per requestId: a second execution for the same request stops as a duplicate', async () => {
    const event = agentRequestEvent({ action: 's3:GetObject' });
    await workflow.start(event).result;
    eventBridge.resetHistory();

    await workflow.start({ ...event, id: 'redelivered-event-id' }).result;

    expect(publishedDecisions()).toEqual([]);
  });
});
