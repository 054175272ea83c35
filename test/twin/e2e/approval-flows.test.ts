/**
 * The product end to end in the twin, driven only as its users drive it: the agent through
 * EventBridge PutEvents, reviewers through the REST API with dev-issuer tokens, the operator
 * through Step Functions.
 */
import { DescribeExecutionCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningTwin } from '../../../local/twin/index.ts';
import {
  agentRequest,
  demoAgent,
  E2eClient,
  EVENTUALLY,
  idOf,
  removeDir,
  startE2eTwin,
  tempDir,
} from './harness.ts';

const ADMIN = 'arn:aws:iam::aws:policy/AdministratorAccess';

let twin: RunningTwin;
let client: E2eClient;
const cleanup: string[] = [];

beforeAll(async () => {
  const dataDir = await tempDir('flows');
  cleanup.push(dataDir);
  twin = await startE2eTwin({ dataDir });
  client = new E2eClient(twin, await demoAgent());
});

/** Waits until reviewers have been asked, failing with the policy's reason if they never will be. */
async function pendingReview(requestId: string) {
  const record = await client.waitForPending(requestId);
  expect(record, record.policy.reason).toMatchObject({
    status: 'PENDING',
    policy: { decision: 'REQUIRE_APPROVAL' },
  });
  return record;
}

afterAll(async () => {
  client?.destroy();
  await twin?.stop();
  for (const dir of cleanup) await removeDir(dir);
});

async function executionStatus(executionArn: string): Promise<string | undefined> {
  return (await client.sfn.send(new DescribeExecutionCommand({ executionArn }))).status;
}

describe('decided by policy alone', () => {
  it('auto-allows a read-only action: approved with nobody asked', async () => {
    const request = agentRequest(client.agent, {
      action: 'iam:GetRole',
      parameters: { roleName: 'invoice-exporter' },
    });
    await client.send(request);
    const decided = await client.waitForDecision(idOf(request));
    expect(decided, decided.policy.reason).toMatchObject({
      status: 'APPROVED',
      decision: 'AUTO_APPROVED',
      votes: [],
    });
    await expect.poll(() => executionStatus(decided.executionArn), EVENTUALLY).toBe('SUCCEEDED');
  });

  it('denies kms:ScheduleKeyDeletion for an agent, whoever would approve', async () => {
    const request = agentRequest(client.agent, {
      action: 'kms:ScheduleKeyDeletion',
      resource: { arn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
      parameters: { keyId: '1234abcd-12ab-34cd-56ef-1234567890ab' },
    });
    await client.send(request);
    const decided = await client.waitForDecision(idOf(request));
    expect(decided).toMatchObject({ status: 'DENIED', decision: 'POLICY_DENIED' });
    expect(decided.policy.policyIds, decided.policy.reason).toContain(
      'kms-key-destruction-forbidden-for-agents',
    );
    // Nobody approves it: an auditor may read it but is in no approver group; carol may not even see it.
    expect((await client.vote(idOf(request), 'alice', 'approve')).status).toBe(403);
    expect((await client.vote(idOf(request), 'carol', 'approve')).status).toBe(404);
  });
});

describe('decided by people', () => {
  it('needs two platform approvers for AdministratorAccess: carol, then erin', async () => {
    const request = agentRequest(client.agent, {
      parameters: { roleName: 'invoice-exporter', policyArn: ADMIN },
    });
    await client.send(request);
    const pending = await pendingReview(idOf(request));
    expect(pending.policy).toMatchObject({
      decision: 'REQUIRE_APPROVAL',
      groups: ['platform'],
      quorum: 2,
      stepUp: true,
    });

    // Step-up is the server's check: an approval without the resource name, or with another, counts nothing.
    for (const typed of [undefined, 'invoice-importer']) {
      const unconfirmed = await client.vote(idOf(request), 'carol', 'approve', undefined, typed);
      expect(unconfirmed).toMatchObject({ status: 400, body: { error: { code: 'STEP_UP_REQUIRED' } } });
    }
    expect((await client.detail(idOf(request)))!.request.votes).toEqual([]);

    const first = await client.vote(
      idOf(request),
      'carol',
      'approve',
      'checked the role',
      'invoice-exporter',
    );
    expect(first).toMatchObject({ status: 201, body: { decided: false, request: { status: 'PENDING' } } });
    expect(
      (await client.vote(idOf(request), 'carol', 'approve', undefined, 'invoice-exporter')).body.error.code,
    ).toBe('ALREADY_VOTED');

    const second = await client.vote(idOf(request), 'erin', 'approve', undefined, 'invoice-exporter');
    expect(second).toMatchObject({ status: 201, body: { decided: true } });
    const decided = await client.waitForDecision(idOf(request));
    expect(decided).toMatchObject({ status: 'APPROVED', decision: 'APPROVED', approvers: ['carol', 'erin'] });
    await expect.poll(() => executionStatus(decided.executionArn), EVENTUALLY).toBe('SUCCEEDED');

    const late = await client.vote(idOf(request), 'erin', 'deny', 'too late');
    expect(late.status).toBe(409);
    const { timeline } = (await client.detail(idOf(request)))!;
    expect(timeline.map((record) => record.kind)).toEqual(
      expect.arrayContaining(['REQUESTED', 'VOTED', 'DECIDED']),
    );
  });

  it('ends at the first eligible deny, with its reason', async () => {
    const request = agentRequest(client.agent);
    await client.send(request);
    await pendingReview(idOf(request));
    const denied = await client.vote(idOf(request), 'carol', 'deny', 'read access is not needed for this');
    expect(denied).toMatchObject({ status: 201, body: { decided: true } });
    const decided = await client.waitForDecision(idOf(request));
    expect(decided).toMatchObject({
      status: 'DENIED',
      decision: 'DENIED',
      reason: 'read access is not needed for this',
    });
    await expect.poll(() => executionStatus(decided.executionArn), EVENTUALLY).toBe('SUCCEEDED');
  });

  it('refuses self-approval by the person the agent acts for, and outsiders, with the reason', async () => {
    const request = agentRequest(client.agent);
    await client.send(request);
    await pendingReview(idOf(request));

    const dave = await client.vote(idOf(request), 'dave', 'approve');
    expect(dave).toMatchObject({ status: 403, body: { error: { code: 'REQUESTER' } } });
    expect(dave.body.error.message).toMatch(/self-approval/);
    const alice = await client.vote(idOf(request), 'alice', 'approve');
    expect(alice).toMatchObject({ status: 403, body: { error: { code: 'NOT_IN_GROUP' } } });
    expect((await client.detail(idOf(request), 'dave'))!.canVote).toMatchObject({
      eligible: false,
      code: 'REQUESTER',
    });
    expect((await client.detail(idOf(request)))!.request.votes).toEqual([]);
  });

  it('refuses the agent itself: it cannot sign in to review', async () => {
    const response = await fetch(`${twin.url}/local/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: client.agent.id }),
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({
      error: { code: 'NOT_A_HUMAN', message: expect.stringMatching(/agent/) },
    });
  });

  it('answers 401 to a vote without a token and 400 to a deny without a reason', async () => {
    const request = agentRequest(client.agent);
    await client.send(request);
    await pendingReview(idOf(request));
    const anonymous = await fetch(`${twin.url}/api/requests/${idOf(request)}/votes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ vote: 'approve' }),
    });
    expect(anonymous.status).toBe(401);
    expect((await client.vote(idOf(request), 'carol', 'deny')).status).toBe(400);
    expect((await client.detail(idOf(request)))!.request.status).toBe('PENDING');
  });
});

describe('delivery and tokens', () => {
  it('starts one review for a request delivered twice: the second execution ends as Duplicate', async () => {
    const request = agentRequest(client.agent);
    await client.send(request);
    await client.send(request);
    const pending = await pendingReview(idOf(request));
    await client.vote(idOf(request), 'carol', 'approve');
    await client.waitForDecision(idOf(request));

    // Executions are started with the event, which names the request by the agent's own id.
    const mine = await client.executionHistoriesOf(pending.executionArn, request.requestId);
    expect(mine).toHaveLength(2);
    const endedAsDuplicate = mine.filter((history) =>
      history.some((event) => event.stateEnteredEventDetails?.name === 'Duplicate'),
    );
    expect(endedAsDuplicate).toHaveLength(1);
    const { request: stored } = (await client.detail(idOf(request)))!;
    expect(stored.executionArn).toBe(pending.executionArn);
  });

  it('answers TaskTimedOut to a second SendTaskSuccess on a token already used', async () => {
    const request = agentRequest(client.agent);
    await client.send(request);
    const pending = await pendingReview(idOf(request));
    const taskToken = await client.waitForTaskToken(pending.executionArn);
    expect((await client.vote(idOf(request), 'carol', 'approve')).status).toBe(201);
    await expect.poll(() => executionStatus(pending.executionArn), EVENTUALLY).toBe('SUCCEEDED');
    const second = client.sfn.send(
      new SendTaskSuccessCommand({
        taskToken,
        output: JSON.stringify({ decision: 'APPROVED', approvers: ['carol'] }),
      }),
    );
    await expect(second).rejects.toMatchObject({ name: 'TaskTimedOut' });
    expect((await client.detail(idOf(request)))!.request).toMatchObject({
      status: 'APPROVED',
      approvers: ['carol'],
    });
  });
});
