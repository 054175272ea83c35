/**
 * Executes the SYNTHESIZED approval state machine (the definition `cdk synth` would deploy) with
 * the twin's runner (LocalStepFunctions). Every Lambda task runs the real handler module the
 * template names, against a local DynamoDB (dynalite); reviewers vote through the real castVote
 * service, which resumes the paused execution with SendTaskSuccess/SendTaskFailure through the real
 * SfnWorkflow adapter. EventBridge is mocked at the SDK to capture the `Action Decided` events.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { CopyObjectCommand } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbRequestStore } from '../../lambdas/adapters/dynamodb/request-store.ts';
import { LogReviewNotifier } from '../../lambdas/adapters/log-review-notifier.ts';
import { SfnWorkflow } from '../../lambdas/adapters/sfn-workflow.ts';
import { StaticDirectory } from '../../lambdas/adapters/static-directory.ts';
import { systemClock } from '../../lambdas/adapters/system-clock.ts';
import { actionHash } from '../../lambdas/domain/action-hash.ts';
import { WorkflowError } from '../../lambdas/domain/approval.ts';
import { WorkflowTokenError } from '../../lambdas/domain/errors.ts';
import type { ActionDecidedDetail } from '../../lambdas/domain/schemas.ts';
import { castVote } from '../../lambdas/services/cast-vote.ts';
import { WORKFLOW_ERRORS, WORKFLOW_STATES } from '../../lib/workflow-states.ts';
import { AwsProtocolError } from '../../local/aws/front/errors.ts';
import { LambdaFunctionError } from '../../local/aws/lambda/invocation.ts';
import { type Deferred, deferred } from '../../local/aws/states/deferred.ts';
import { TaskFailure } from '../../local/aws/states/errors.ts';
import { type LocalTable, startDynalite } from '../support/dynalite.ts';
import { startExecutorSession } from '../support/executor-session.ts';
import { mockKmsSigningKey } from '../support/kms-signing-key.ts';
import { agentRequestEvent } from './support/agent-events.ts';
import { REPO_ROOT, setEnvironment, workflowHandlerEnvironment } from './support/handler-environment.ts';
import { type SynthesizedWorkflow, startSynthesizedWorkflow } from './support/synthesized-workflow.ts';

/** Requests no policy matches wait for the default group for this long: the timeout scenario. */
const DEFAULT_TIMEOUT_SECONDS = 1;

const EvaluateFailure = {
  none: 'none',
  /** The function fails before it stores anything, as when the table is unavailable until Lambda's retries run out. */
  beforeStoring: 'beforeStoring',
  /** The function stores the request, then dies (its timeout). */
  afterStoring: 'afterStoring',
} as const;
let evaluateFailure: (typeof EvaluateFailure)[keyof typeof EvaluateFailure] = EvaluateFailure.none;

const ExecutorFault = {
  none: 'none',
  /** The executor function runs the action, and its answer never reaches Finish (a function error). */
  answerLost: 'answerLost',
  /** Lambda throttles the first three invocations of the executor function: all of Finish's attempts. */
  throttled: 'throttled',
} as const;
let executorFault: (typeof ExecutorFault)[keyof typeof ExecutorFault] = ExecutorFault.none;
let executorInvocations = 0;

const eventBridge = mockClient(EventBridgeClient);
let executorSession: Awaited<ReturnType<typeof startExecutorSession>>;
const receiptKey = mockKmsSigningKey();
const directory = StaticDirectory.fromJson(
  readFileSync(resolve(REPO_ROOT, 'countersign.local.json'), 'utf8'),
);
/** Resolved when the RequestApproval function has stored the task token and notified reviewers. */
const approvalsRequested = new Map<string, Deferred<void>>();
let table: LocalTable;
let store: DynamoDbRequestStore;
let workflow: SynthesizedWorkflow;
let restoreEnvironment: () => void;

function approvalRequest(requestId: string): Deferred<void> {
  let requested = approvalsRequested.get(requestId);
  if (requested === undefined) {
    requested = deferred<void>();
    approvalsRequested.set(requestId, requested);
  }
  return requested;
}

/** The public id the state machine gives the request: `<agentId>:<the agent's requestId>`. */
function publicIdOf(event: ReturnType<typeof agentRequestEvent>): string {
  return `${event.detail.agent.id}:${event.detail.requestId}`;
}

/** A function failure as Lambda reports it to the state machine. */
function lambdaFailure(errorType: string, errorMessage: string): TaskFailure {
  return new TaskFailure(errorType, JSON.stringify({ errorType, errorMessage, trace: [] }));
}

beforeAll(async () => {
  table = await startDynalite();
  store = new DynamoDbRequestStore({ client: table.client, tableName: table.tableName });
  executorSession = await startExecutorSession();
  const environment = await workflowHandlerEnvironment(table, {
    DEFAULT_TIMEOUT_SECONDS: String(DEFAULT_TIMEOUT_SECONDS),
    ...executorSession.environment,
  });
  restoreEnvironment = setEnvironment(environment);
  workflow = await startSynthesizedWorkflow({
    intercept: async (functionArn, payload, invoke) => {
      const requestId = (payload as { requestId: string }).requestId;
      if (functionArn === workflow.executorFunctionArn) {
        executorInvocations += 1;
        if (executorFault === ExecutorFault.throttled && executorInvocations <= 3) {
          throw new AwsProtocolError('TooManyRequestsException', 'Rate exceeded', 429);
        }
        const answer = await invoke();
        if (executorFault === ExecutorFault.answerLost && executorInvocations === 1) {
          throw new LambdaFunctionError('Runtime.ExitError', 'the answer was lost after the run');
        }
        return answer;
      }
      const evaluating = functionArn === workflow.functionOf(WORKFLOW_STATES.evaluate);
      if (evaluating && evaluateFailure === EvaluateFailure.beforeStoring) {
        throw lambdaFailure('ServiceUnavailable', 'the table is unavailable');
      }
      const result = await invoke();
      if (evaluating && evaluateFailure === EvaluateFailure.afterStoring) {
        throw lambdaFailure('Sandbox.Timedout', 'Task timed out after 30.00 seconds');
      }
      if (functionArn === workflow.functionOf(WORKFLOW_STATES.requestApproval)) {
        approvalRequest(requestId).resolve();
      }
      return result;
    },
  });
});

afterAll(async () => {
  receiptKey.kms.restore();
  await executorSession?.close();
  await workflow?.close();
  restoreEnvironment?.();
  await table?.close();
});

beforeEach(() => {
  evaluateFailure = EvaluateFailure.none;
  executorFault = ExecutorFault.none;
  executorInvocations = 0;
  eventBridge.reset();
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
  executorSession.reset();
});

/** Starts an execution as the agent-request rule would, with the event as input. */
async function start(event: unknown): Promise<string> {
  const { executionArn } = await workflow.stepFunctions.startExecution({
    stateMachineArn: workflow.stateMachineArn,
    input: JSON.stringify(event),
  });
  return executionArn;
}

async function run(event: unknown) {
  return workflow.stepFunctions.waitForCompletion(await start(event));
}

function publishedDecisions(): ActionDecidedDetail[] {
  return eventBridge.commandCalls(PutEventsCommand).flatMap((call) =>
    (call.args[0].input.Entries ?? []).map((entry) => {
      expect(entry).toMatchObject({ Source: 'countersign', DetailType: 'Action Decided' });
      return JSON.parse(entry.Detail ?? '{}') as ActionDecidedDetail;
    }),
  );
}

/** The Workflow port the vote service uses in Lambda, here reaching the local runner. */
const sfnWorkflow = () => new SfnWorkflow(new SFNClient({ region: 'us-east-1' }));

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
      workflow: sfnWorkflow(),
      notifier: new LogReviewNotifier({ info: () => undefined }),
      clock: systemClock,
    },
    { requestId, principal, input: ballot, channel: 'console' },
  );
}

async function taskTokenOf(requestId: string): Promise<string> {
  const { taskToken } = await store.getWaitState(requestId);
  if (taskToken === undefined) throw new Error(`request ${requestId} has no stored task token`);
  return taskToken;
}

function attachRolePolicyEvent() {
  return agentRequestEvent({
    action: 'iam:AttachRolePolicy',
    resource: { arn: 'arn:aws:iam::123456789012:role/invoice-bot' },
    parameters: { RoleName: 'invoice-bot', PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' },
  });
}

function enteredStates(executionArn: string): string[] {
  const { events } = workflow.stepFunctions.getExecutionHistory({ executionArn, maxResults: 1000 });
  return events.flatMap((event) => {
    const entered = (event as { stateEnteredEventDetails?: { name?: string } }).stateEnteredEventDetails;
    return entered?.name === undefined ? [] : [entered.name];
  });
}

/** An export the agent asks Countersign to make: security approves it, Countersign copies it. */
function executedExportEvent() {
  return agentRequestEvent({
    action: 's3:CopyObject',
    resource: { arn: 'arn:aws:s3:::finance-invoices/2026/11/ledger.csv' },
    parameters: {
      sourceBucket: 'finance-invoices',
      sourceKey: '2026/11/ledger.csv',
      destinationBucket: 'partner-exchange-eu',
      destinationKey: 'inbound/ledger.csv',
    },
    execute: true,
  });
}

describe('the synthesized approval state machine', () => {
  it('executes an approved export Countersign runs, once, between recording and telling the decision', async () => {
    const event = executedExportEvent();
    const requestId = publicIdOf(event);
    const executionArn = await start(event);
    await approvalRequest(requestId).promise;
    await vote(requestId, 'alice', { vote: 'approve' });
    await expect(workflow.stepFunctions.waitForCompletion(executionArn)).resolves.toMatchObject({
      status: 'SUCCEEDED',
    });

    // Four states for a human approval: Evaluate names the request, Finish records, runs, publishes.
    expect(enteredStates(executionArn)).toEqual([
      WORKFLOW_STATES.evaluate,
      WORKFLOW_STATES.route,
      WORKFLOW_STATES.requestApproval,
      WORKFLOW_STATES.finish,
    ]);
    const [assumed] = executorSession.assumeRoleCalls();
    expect(assumed).toMatchObject({ RoleSessionName: requestId.replace(':', '='), DurationSeconds: '900' });
    expect(executorSession.s3.commandCalls(CopyObjectCommand).map((call) => call.args[0].input)).toEqual([
      {
        Bucket: 'partner-exchange-eu',
        Key: 'inbound/ledger.csv',
        CopySource: 'finance-invoices/2026/11/ledger.csv',
      },
    ]);
    await expect(store.get(requestId)).resolves.toMatchObject({
      status: 'APPROVED',
      execution: { status: 'EXECUTED', awsRequestId: 'copy-request-1' },
    });
    expect(publishedDecisions()).toEqual([
      expect.objectContaining({
        requestId,
        decision: 'APPROVED',
        execution: { status: 'EXECUTED', awsRequestId: 'copy-request-1' },
      }),
    ]);
  });

  it.each([
    [ExecutorFault.answerLost, 2],
    [ExecutorFault.throttled, 4],
  ])(
    'copies once when the executor function fails Finish (%s): the retried step answers the recorded run',
    async (fault, invocations) => {
      executorFault = fault;
      const event = executedExportEvent();
      const requestId = publicIdOf(event);
      const executionArn = await start(event);
      await approvalRequest(requestId).promise;
      await vote(requestId, 'alice', { vote: 'approve' });
      await expect(workflow.stepFunctions.waitForCompletion(executionArn)).resolves.toMatchObject({
        status: 'SUCCEEDED',
      });

      // Finish failed once and was retried by the state machine; the action ran in one invocation.
      expect(executorInvocations).toBe(invocations);
      expect(executorSession.s3.commandCalls(CopyObjectCommand)).toHaveLength(1);
      expect(executorSession.assumeRoleCalls()).toHaveLength(1);
      expect(publishedDecisions()).toEqual([
        expect.objectContaining({
          requestId,
          decision: 'APPROVED',
          execution: { status: 'EXECUTED', awsRequestId: 'copy-request-1' },
        }),
      ]);
    },
  );

  it('runs nothing for a denied export', async () => {
    const event = executedExportEvent();
    const requestId = publicIdOf(event);
    const executionArn = await start(event);
    await approvalRequest(requestId).promise;
    await vote(requestId, 'alice', { vote: 'deny', reason: 'not to this partner' });
    await workflow.stepFunctions.waitForCompletion(executionArn);

    expect(enteredStates(executionArn)).toEqual([
      WORKFLOW_STATES.evaluate,
      WORKFLOW_STATES.route,
      WORKFLOW_STATES.requestApproval,
      WORKFLOW_STATES.denied,
      WORKFLOW_STATES.finish,
    ]);
    expect(executorSession.assumeRoleCalls()).toEqual([]);
    expect(executorSession.s3.commandCalls(CopyObjectCommand)).toEqual([]);
    expect(publishedDecisions()).toEqual([expect.objectContaining({ requestId, decision: 'DENIED' })]);
    expect(publishedDecisions()[0]).not.toHaveProperty('execution');
  });

  it('auto-approves a read-only action: recorded and published as AUTO_APPROVED, nobody asked', async () => {
    const event = agentRequestEvent({ action: 's3:GetObject' });
    const requestId = publicIdOf(event);

    const done = await run(event);

    expect(done).toMatchObject({ status: 'SUCCEEDED' });
    // Three states for what the policy decides alone: Evaluate's outcome goes straight to Finish.
    expect(enteredStates(done.executionArn)).toEqual([
      WORKFLOW_STATES.evaluate,
      WORKFLOW_STATES.route,
      WORKFLOW_STATES.finish,
    ]);
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
    const event = attachRolePolicyEvent();
    const requestId = publicIdOf(event);
    const executionArn = await start(event);
    await approvalRequest(requestId).promise;
    expect(workflow.stepFunctions.describeExecution(executionArn).status).toBe('RUNNING');
    expect(publishedDecisions()).toEqual([]);

    const voted = await vote(requestId, 'carol', { vote: 'approve' });
    await expect(workflow.stepFunctions.waitForCompletion(executionArn)).resolves.toMatchObject({
      status: 'SUCCEEDED',
    });

    expect(voted).toMatchObject({ decided: true, resumed: true });
    const stored = await store.get(requestId);
    expect(stored).toMatchObject({ status: 'APPROVED', decision: 'APPROVED', approvers: ['carol'] });
    expect(publishedDecisions()).toEqual([
      {
        requestId,
        decision: 'APPROVED',
        actionHash: stored?.actionHash,
        approvers: ['carol'],
        receipt: stored?.receipt,
      },
    ]);
  });

  it('ends DENIED when an eligible reviewer denies, with the reason published', async () => {
    const event = attachRolePolicyEvent();
    const requestId = publicIdOf(event);
    const executionArn = await start(event);
    await approvalRequest(requestId).promise;

    await vote(requestId, 'erin', { vote: 'deny', reason: 'the role is shared with payroll' });
    await workflow.stepFunctions.waitForCompletion(executionArn);

    await expect(store.get(requestId)).resolves.toMatchObject({ status: 'DENIED', decision: 'DENIED' });
    expect(enteredStates(executionArn)).toContain(WORKFLOW_STATES.denied);
    expect(publishedDecisions()).toEqual([
      expect.objectContaining({ requestId, decision: 'DENIED', reason: 'the role is shared with payroll' }),
    ]);
  });

  it('expires when nobody answers within the policy timeout, and a late vote cannot resume it', async () => {
    const event = agentRequestEvent({
      action: 's3:DeleteObject',
      parameters: { Bucket: 'invoices', Key: '2026/03.csv' },
    });
    const requestId = publicIdOf(event);

    await expect(run(event)).resolves.toMatchObject({ status: 'SUCCEEDED' });

    await expect(store.get(requestId)).resolves.toMatchObject({
      status: 'EXPIRED',
      decision: 'EXPIRED',
      policy: { decision: 'REQUIRE_APPROVAL', groups: ['security'], timeoutSeconds: DEFAULT_TIMEOUT_SECONDS },
    });
    expect(publishedDecisions()).toEqual([expect.objectContaining({ requestId, decision: 'EXPIRED' })]);
    await expect(
      sfnWorkflow().succeed(await taskTokenOf(requestId), { decision: 'APPROVED', approvers: ['alice'] }),
    ).rejects.toMatchObject({ name: WorkflowTokenError.name, code: 'TASK_TIMED_OUT' });
  });

  it('ends EXPIRED, not as a failed approval, when the wait is failed with Countersign.Expired', async () => {
    const event = attachRolePolicyEvent();
    const requestId = publicIdOf(event);
    const executionArn = await start(event);
    await approvalRequest(requestId).promise;

    await sfnWorkflow().fail(
      await taskTokenOf(requestId),
      WorkflowError.expired,
      JSON.stringify({ decision: 'EXPIRED', reason: null, voter: null }),
    );
    await workflow.stepFunctions.waitForCompletion(executionArn);

    expect(enteredStates(executionArn)).toContain(WORKFLOW_STATES.expired);
    expect(enteredStates(executionArn)).not.toContain(WORKFLOW_STATES.approvalFailed);
    await expect(store.get(requestId)).resolves.toMatchObject({ status: 'EXPIRED', decision: 'EXPIRED' });
    expect(publishedDecisions()).toEqual([expect.objectContaining({ requestId, decision: 'EXPIRED' })]);
  });

  it('denies by policy without asking anyone: kms:ScheduleKeyDeletion is forbidden for agents', async () => {
    const event = agentRequestEvent({
      action: 'kms:ScheduleKeyDeletion',
      resource: { arn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
      parameters: { PendingWindowInDays: 7 },
    });
    const requestId = publicIdOf(event);

    await run(event);

    const stored = await store.get(requestId);
    expect(stored).toMatchObject({ status: 'DENIED', decision: 'POLICY_DENIED' });
    await expect(store.getWaitState(requestId)).resolves.toMatchObject({ notified: false });
    expect(publishedDecisions()).toEqual([
      expect.objectContaining({ requestId, decision: 'POLICY_DENIED', reason: stored?.policy.reason }),
    ]);
  });

  it('records and publishes DENIED when the Evaluate function fails after storing the request', async () => {
    evaluateFailure = EvaluateFailure.afterStoring;
    const event = agentRequestEvent({ action: 's3:GetObject' });
    const requestId = publicIdOf(event);

    await expect(run(event)).resolves.toMatchObject({ status: 'SUCCEEDED' });

    await expect(store.get(requestId)).resolves.toMatchObject({
      status: 'DENIED',
      decision: 'DENIED',
      reason: 'evaluation failed: Sandbox.Timedout',
      // Stored by Evaluate before it failed: its policy answer, never acted on.
      policy: { decision: 'ALLOW' },
    });
    expect(publishedDecisions()).toEqual([
      expect.objectContaining({
        requestId,
        decision: 'DENIED',
        reason: 'evaluation failed: Sandbox.Timedout',
      }),
    ]);
  });

  it('stores the request already DENIED, and publishes it, when Evaluate fails before storing it', async () => {
    evaluateFailure = EvaluateFailure.beforeStoring;
    const event = attachRolePolicyEvent();
    const requestId = publicIdOf(event);

    const done = await run(event);

    expect(done).toMatchObject({ status: 'SUCCEEDED' });
    // Recorded (stored from the event) and published in one step.
    expect(enteredStates(done.executionArn)).toEqual([
      WORKFLOW_STATES.evaluate,
      WORKFLOW_STATES.evaluationFailed,
      WORKFLOW_STATES.finishEvaluationFailure,
    ]);
    const reason = 'evaluation failed: ServiceUnavailable';
    const stored = await store.get(requestId);
    expect(stored).toMatchObject({
      requestId,
      status: 'DENIED',
      decision: 'DENIED',
      reason,
      approvers: [],
      agent: event.detail.agent,
      action: 'iam:AttachRolePolicy',
      actionHash: actionHash(event.detail),
      policy: { decision: 'DENY', reason },
      sourceEventId: event.id,
      executionArn: done.executionArn,
    });
    expect(publishedDecisions()).toEqual([
      {
        requestId,
        decision: 'DENIED',
        actionHash: actionHash(event.detail),
        approvers: [],
        reason,
        receipt: (await store.get(requestId))?.receipt,
      },
    ]);
    const audit = await store.listAudit(requestId);
    // The receipt is audited as SIGNED (its hash and key, never the receipt).
    expect(audit.map((record) => record.kind).sort()).toEqual(
      ['DECIDED', 'EVALUATED', 'PUBLISHED', 'REQUESTED', 'SIGNED'].sort(),
    );
  });

  it('rejects a forged source without storing or publishing anything', async () => {
    const event = agentRequestEvent({ action: 's3:GetObject' });
    const forged = { ...event, source: 'countersign.agent.someone-else' };

    const done = await run(forged);

    expect(done).toMatchObject({ status: 'FAILED', error: WORKFLOW_ERRORS.invalidRequest });
    expect(done.cause).toContain('an agent can only ask for itself');
    await expect(store.get(event.detail.requestId)).resolves.toBeUndefined();
    expect(publishedDecisions()).toEqual([]);
  });

  it('fails an event whose agent id is not a string, naming nobody, without storing or publishing', async () => {
    const event = agentRequestEvent({ action: 's3:GetObject' });
    const nameless = { ...event, detail: { ...event.detail, agent: { id: 42 } } };

    const done = await run(nameless);

    expect(done).toMatchObject({
      status: 'FAILED',
      error: WORKFLOW_ERRORS.invalidRequest,
      cause: 'detail.agent.id must be a string',
    });
    expect(enteredStates(done.executionArn)).toEqual([
      WORKFLOW_STATES.evaluate,
      WORKFLOW_STATES.route,
      WORKFLOW_STATES.unidentified,
    ]);
    expect(publishedDecisions()).toEqual([]);
  });

  it('runs one workflow per requestId: a second execution for the same request stops as a duplicate', async () => {
    const event = agentRequestEvent({ action: 's3:GetObject' });
    await run(event);
    eventBridge.resetHistory();

    const second = await run({ ...event, id: 'redelivered-event-id' });

    expect(second).toMatchObject({ status: 'SUCCEEDED' });
    expect(enteredStates(second.executionArn)).toContain(WORKFLOW_STATES.duplicate);
    expect(publishedDecisions()).toEqual([]);
  });
});
