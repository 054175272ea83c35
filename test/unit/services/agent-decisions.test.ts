/**
 * The fast decision path's services on the real store (dynalite): what policy alone decides is
 * stored decided with its receipt and answered after that one write, its approval, trail and
 * announcement following from the table's stream (announceFastDecision, as the stream's follow-up
 * runs it); everything else starts the workflow; asking again answers from the store; a long poll
 * waits for the decision.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { actionHash } from '../../../lambdas/domain/action-hash.ts';
import type { AgentDecisionRequest } from '../../../lambdas/domain/agent-api.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../../../lambdas/domain/errors.ts';
import { verifyReceipt } from '../../../lambdas/domain/receipt.ts';
import { FAST_PATH_OWNER, type PolicyDecision } from '../../../lambdas/domain/schemas.ts';
import {
  type AgentDecisionDeps,
  awaitDecision,
  requestDecision,
} from '../../../lambdas/services/agent-decisions.ts';
import { announceFastDecision } from '../../../lambdas/services/announce-fast-decisions.ts';
import {
  reconcileDecision,
  reconcilePrivilegedCall,
} from '../../../lambdas/services/reconcile-privileged-call.ts';
import { recordDecision } from '../../../lambdas/services/record-decision.ts';
import { countingRequestStore } from '../../support/counting-store.ts';
import { cloudTrailEvent } from '../domain/cloudtrail-fixtures.ts';
import { NOW, requireApproval } from '../domain/fixtures.ts';
import { ALLOWED_READ, RecordingAlerts, RecordingWorkflows } from './fakes.ts';
import { AGENT_ARN, type Harness, nextEventId, reconcileDepsOf, startHarness } from './harness.ts';

const DENY: PolicyDecision = {
  ...ALLOWED_READ,
  decision: 'DENY',
  policyIds: ['no'],
  reason: 'Denied by policy "no".',
};

let harness: Harness;
let workflows: RecordingWorkflows;
let slept: number[];
/** Runs during a long poll's sleep, once: what happens while the agent waits. */
let duringSleep: (() => Promise<void>) | undefined;
let deps: AgentDecisionDeps;

beforeAll(async () => {
  harness = await startHarness();
});

afterAll(async () => {
  await harness.table.close();
});

beforeEach(() => {
  workflows = new RecordingWorkflows();
  slept = [];
  duringSleep = undefined;
  harness.clock.set(NOW);
  harness.publisher.published.length = 0;
  deps = {
    ...harness,
    classifyBeforeApproval: false,
    workflows,
    sleep: async (ms) => {
      slept.push(ms);
      harness.clock.set(new Date(harness.clock.now().getTime() + ms));
      const run = duringSleep;
      duringSleep = undefined;
      await run?.();
    },
    region: 'us-east-1',
    account: '123456789012',
  };
});

/** What the table stream's follow-up does with the request the fast path stored (announce-fast-decisions). */
async function followUp(requestId: string): Promise<void> {
  const stored = await harness.store.get(requestId);
  if (stored === undefined) throw new Error(`${requestId} is not stored`);
  await announceFastDecision(harness, stored);
}

const kindsOf = async (requestId: string) =>
  (await harness.store.listAudit(requestId)).map((fact) => [fact.kind, fact.seq]);

function ask(overrides: Partial<AgentDecisionRequest> = {}): AgentDecisionRequest {
  return {
    requestId: `fast-${nextEventId()}`,
    agent: { id: 'invoice-bot', onBehalfOf: 'dave' },
    action: 's3:GetObject',
    resource: { arn: 'arn:aws:s3:::finance-invoices/2026/11/INV-1.pdf' },
    parameters: { bucket: 'finance-invoices', key: '2026/11/INV-1.pdf' },
    justification: 'answering a customer',
    ...overrides,
  };
}

describe('requestDecision', () => {
  it('answers an ALLOW at once, stored decided with its receipt; its follow-up records the workflow’s trail and tells it once', async () => {
    harness.policy.answer = ALLOWED_READ;
    const request = ask();
    const answer = await requestDecision(deps, { agentId: 'invoice-bot', request });
    const requestId = `invoice-bot:${request.requestId}`;
    expect(answer).toEqual({
      status: 'DECIDED',
      requestId,
      decision: 'AUTO_APPROVED',
      actionHash: actionHash(request),
      approvers: [],
      reason: ALLOWED_READ.reason,
      receipt: expect.any(String),
    });
    if (answer.status !== 'DECIDED') throw new Error('not decided');
    await expect(
      verifyReceipt(answer.receipt, {
        keys: harness.signer.jwks,
        actionHash: actionHash(request),
        agentId: 'invoice-bot',
        now: NOW,
      }),
    ).resolves.toMatchObject({ decision: 'AUTO_APPROVED', requestId });
    expect(await harness.store.get(requestId)).toMatchObject({
      status: 'APPROVED',
      decision: 'AUTO_APPROVED',
      receipt: answer.receipt,
      executionArn: FAST_PATH_OWNER,
      decidedAt: NOW.toISOString(),
      requesters: ['invoice-bot', 'olga', 'dave'],
    });
    // Answered before anything else: the stream's follow-up does the rest.
    expect(await harness.store.listAudit(requestId)).toEqual([]);
    expect(harness.publisher.published).toEqual([]);
    await followUp(requestId);
    expect(await kindsOf(requestId)).toEqual([
      ['REQUESTED', 1],
      ['EVALUATED', 2],
      ['DECIDED', 3],
      ['SIGNED', 4],
      ['PUBLISHED', 5],
    ]);
    expect(harness.publisher.published).toEqual([
      {
        requestId,
        decision: 'AUTO_APPROVED',
        actionHash: actionHash(request),
        approvers: [],
        reason: ALLOWED_READ.reason,
        receipt: answer.receipt,
      },
    ]);
    expect(workflows.starts).toEqual([]);
  });

  it('answers a DENY at once, POLICY_DENIED with its receipt', async () => {
    harness.policy.answer = DENY;
    const answer = await requestDecision(deps, { agentId: 'invoice-bot', request: ask() });
    expect(answer).toMatchObject({ status: 'DECIDED', decision: 'POLICY_DENIED', reason: DENY.reason });
    await followUp(answer.requestId);
    expect(harness.publisher.published).toMatchObject([{ decision: 'POLICY_DENIED' }]);
  });

  it('denies at once, and records, a request from an agent the directory does not register', async () => {
    harness.policy.answer = ALLOWED_READ;
    const request = ask({ agent: { id: 'rogue-bot' } });
    const answer = await requestDecision(deps, { agentId: 'rogue-bot', request });
    expect(answer).toMatchObject({
      status: 'DECIDED',
      decision: 'POLICY_DENIED',
      reason: 'the agent "rogue-bot" is not registered in the directory',
    });
  });

  it('denies at once an execute request no policy permits', async () => {
    harness.policy.answer = ALLOWED_READ;
    const answer = await requestDecision(deps, { agentId: 'invoice-bot', request: ask({ execute: true }) });
    expect(answer).toMatchObject({
      status: 'DECIDED',
      decision: 'POLICY_DENIED',
      reason: expect.stringMatching(/no policy permits execution/),
    });
    expect(harness.policy.requests.at(-1)).toMatchObject({ execute: true });
  });

  it('starts the workflow for what people decide, with the event the rule would deliver, and stores nothing', async () => {
    harness.policy.answer = requireApproval();
    const request = ask({ action: 's3:CopyObject' });
    const requestId = `invoice-bot:${request.requestId}`;
    expect(await requestDecision(deps, { agentId: 'invoice-bot', request })).toEqual({
      status: 'PENDING',
      requestId,
    });
    expect(workflows.started.get(requestId)).toMatchObject({
      version: '0',
      'detail-type': 'Action Requested',
      source: 'countersign.agent.invoice-bot',
      account: '123456789012',
      region: 'us-east-1',
      time: '2025-06-01T12:00:00Z',
      detail: { ...request, parameters: request.parameters },
    });
    expect(await harness.store.get(requestId)).toBeUndefined();
    expect(harness.publisher.published).toEqual([]);
  });

  it('starts the workflow for an ALLOW Countersign executes: the workflow runs the executor', async () => {
    harness.policy.answer = { ...ALLOWED_READ, executor: 'countersign' };
    const request = ask({
      action: 's3:CopyObject',
      parameters: {
        sourceBucket: 'finance-invoices',
        sourceKey: '2026/11/INV-1.pdf',
        destinationBucket: 'partner-exchange-eu',
        destinationKey: 'inv-1.pdf',
      },
      execute: true,
    });
    const answer = await requestDecision(deps, { agentId: 'invoice-bot', request });
    expect(answer.status).toBe('PENDING');
    expect(workflows.starts).toEqual([answer.requestId]);
  });

  /** CloudTrail's record of the agent's PutBucketPolicy on `bucket`, `afterMs` after the decision. */
  function agentPutBucketPolicy(bucket: string, afterMs: number) {
    const event = cloudTrailEvent('s3-PutBucketPolicy');
    event.detail.userIdentity = {
      type: 'IAMUser',
      principalId: 'AIDAEXAMPLEINVOICEBOT',
      arn: AGENT_ARN,
      accountId: '111122223333',
      accessKeyId: 'AKIAEXAMPLEINVOICE01',
      userName: 'invoice-bot',
    };
    event.detail.eventID = randomUUID();
    event.detail.eventTime = new Date(NOW.getTime() + afterMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
    event.detail.requestParameters.bucketName = bucket;
    return event;
  }

  const reconcileDeps = (alerts: RecordingAlerts) => reconcileDepsOf(harness, alerts);

  const putBucketPolicy = (bucket: string) =>
    ask({
      action: 's3:PutBucketPolicy',
      resource: { arn: `arn:aws:s3:::${bucket}` },
      parameters: { bucket },
    });

  it('stores an ALLOW as the approval a privileged call is matched against: the call after the follow-up is MATCHED, not alerted', async () => {
    harness.policy.answer = ALLOWED_READ;
    const bucket = `exports-${nextEventId()}`;
    const answer = await requestDecision(deps, { agentId: 'invoice-bot', request: putBucketPolicy(bucket) });
    expect(answer).toMatchObject({ status: 'DECIDED', decision: 'AUTO_APPROVED' });
    await followUp(answer.requestId);
    const alerts = new RecordingAlerts();
    const { call } = await reconcilePrivilegedCall(reconcileDeps(alerts), agentPutBucketPolicy(bucket, 5000));
    expect(call).toMatchObject({ status: 'MATCHED', requestId: answer.requestId });
    expect(alerts.alerted).toEqual([]);
  });

  it('covers a call the agent makes between the answer and the follow-up once Action Decided reaches the reconciler', async () => {
    harness.policy.answer = ALLOWED_READ;
    const bucket = `exports-${nextEventId()}`;
    const answer = await requestDecision(deps, { agentId: 'invoice-bot', request: putBucketPolicy(bucket) });
    const alerts = new RecordingAlerts();
    const reconcile = reconcileDeps(alerts);
    // The agent acts on its receipt at once; CloudTrail's record arrives before the approval is stored.
    const { call } = await reconcilePrivilegedCall(reconcile, agentPutBucketPolicy(bucket, 1000));
    expect(call.status).toBe('UNAPPROVED');
    expect(alerts.alerted).toHaveLength(1);
    // The follow-up stores the approval, then publishes Action Decided, on which the reconciler runs.
    await followUp(answer.requestId);
    expect(harness.publisher.published.map((detail) => detail.requestId)).toEqual([answer.requestId]);
    const covered = await reconcileDecision(reconcile, answer.requestId);
    expect(covered).toMatchObject({ eventId: call.eventId, status: 'MATCHED', requestId: answer.requestId });
    await expect(harness.reviews.get(`call:${call.eventId}`)).resolves.toMatchObject({ status: 'WITHDRAWN' });
    expect(alerts.updated).toHaveLength(1);
  });

  it('leaves a break-glass request to the workflow, which records it and opens its review', async () => {
    harness.policy.answer = requireApproval({ breakGlassAllowed: true });
    const request = ask({
      action: 's3:CopyObject',
      breakGlass: { reason: 'production is down', incident: 'INC-42' },
    });
    const answer = await requestDecision(deps, { agentId: 'invoice-bot', request });
    expect(answer).toEqual({ status: 'PENDING', requestId: `invoice-bot:${request.requestId}` });
    expect(workflows.starts).toEqual([answer.requestId]);
    expect(await harness.store.get(answer.requestId)).toBeUndefined();
    expect(harness.publisher.published).toEqual([]);
  });

  it('leaves unclassified data to the workflow when it classifies before approval, and decides classified data at once', async () => {
    harness.policy.answer = ALLOWED_READ;
    const classifying = { ...deps, classifyBeforeApproval: true };
    const bucket = `bucket-${nextEventId()}`;
    const read = ask({
      resource: { arn: `arn:aws:s3:::${bucket}/ledger.csv` },
      parameters: { bucket, key: 'ledger.csv' },
    });
    const pending = await requestDecision(classifying, { agentId: 'invoice-bot', request: read });
    expect(pending).toEqual({ status: 'PENDING', requestId: `invoice-bot:${read.requestId}` });
    expect(workflows.starts).toEqual([pending.requestId]);
    expect(await harness.store.get(pending.requestId)).toBeUndefined();

    await harness.classifications.putObjectVerdict({
      bucket,
      key: 'ledger.csv',
      severity: null,
      categories: [],
      types: [],
      typeCounts: {},
      findingIds: [],
      updatedAt: NOW.toISOString(),
    });
    const again = { ...read, requestId: `fast-${nextEventId()}` };
    const decided = await requestDecision(classifying, { agentId: 'invoice-bot', request: again });
    expect(decided).toMatchObject({ status: 'DECIDED', decision: 'AUTO_APPROVED' });
    // The classification it was decided with is on the record, as Evaluate stores it.
    expect((await harness.store.get(decided.requestId))?.classification).toMatchObject({
      status: 'CLASSIFIED',
    });
  });

  it('answers a new ALLOW after a KMS Sign and one write: the decided request’s conditional put, not read first', async () => {
    harness.policy.answer = ALLOWED_READ;
    const { store, sent } = countingRequestStore(harness.table);
    const request = ask();
    const signedBefore = harness.signer.signed.length;
    const answer = await requestDecision({ ...deps, store }, { agentId: 'invoice-bot', request });
    expect(answer.status).toBe('DECIDED');
    expect(sent.map((command) => command.constructor.name)).toEqual(['PutCommand']);
    expect(harness.signer.signed.length - signedBefore).toBe(1);
    expect(harness.publisher.published).toEqual([]);
  });

  it('follows up in six AWS calls: the whole trail numbered in one write; the approval beside it when its action is watched', async () => {
    harness.policy.answer = ALLOWED_READ;
    const answer = await requestDecision(deps, { agentId: 'invoice-bot', request: ask() });
    const { store, sent } = countingRequestStore(harness.table);
    const putGrant = vi.spyOn(harness.calls, 'putGrant');
    try {
      const record = (await harness.store.get(answer.requestId))!;
      // A read is no privileged action: no call of it is ever reconciled, so no approval is kept.
      await announceFastDecision({ ...harness, store }, record);
      expect(putGrant).not.toHaveBeenCalled();
      // Watched, its approval is kept, beside the trail (a seventh call, not one more step).
      await announceFastDecision({ ...harness, watchedActions: new Set(['s3:GetObject']) }, record);
      expect(putGrant).toHaveBeenCalledTimes(1);
    } finally {
      putGrant.mockRestore();
    }
    // The numbering (REQUESTED, EVALUATED, DECIDED, SIGNED and the PUBLISHED to come), the four
    // facts, then PutEvents and the PUBLISHED fact.
    expect(sent.map((command) => command.constructor.name)).toEqual([
      'UpdateCommand',
      'PutCommand',
      'PutCommand',
      'PutCommand',
      'PutCommand',
      'PutCommand',
    ]);
    expect(harness.publisher.published).toHaveLength(2);
  });

  it('refuses a request in another agent’s name', async () => {
    const error = await requestDecision(deps, { agentId: 'report-bot', request: ask() }).catch((e) => e);
    expect(error).toBeInstanceOf(ForbiddenError);
    expect(error.code).toBe('NOT_THIS_AGENT');
  });

  it('answers the same request asked again from the store: same receipt, told once', async () => {
    harness.policy.answer = ALLOWED_READ;
    const request = ask();
    const first = await requestDecision(deps, { agentId: 'invoice-bot', request });
    harness.policy.answer = DENY;
    const again = await requestDecision(deps, { agentId: 'invoice-bot', request });
    expect(again).toEqual(first);
    // Asking again does no follow-up of its own: the stream's delivers it.
    expect(harness.publisher.published).toEqual([]);
    expect(await harness.store.listAudit(first.requestId)).toEqual([]);
  });

  it('answers a request asked again from the store while KMS fails, and fails a new one closed', async () => {
    harness.policy.answer = ALLOWED_READ;
    const request = ask();
    const first = await requestDecision(deps, { agentId: 'invoice-bot', request });
    harness.signer.failure = new Error('KMS unavailable');
    try {
      await expect(requestDecision(deps, { agentId: 'invoice-bot', request })).resolves.toEqual(first);
      const fresh = ask();
      await expect(requestDecision(deps, { agentId: 'invoice-bot', request: fresh })).rejects.toThrow(
        'KMS unavailable',
      );
      expect(await harness.store.get(`invoice-bot:${fresh.requestId}`)).toBeUndefined();
    } finally {
      harness.signer.failure = undefined;
    }
  });

  it('refuses a request id reused for another action', async () => {
    harness.policy.answer = ALLOWED_READ;
    const request = ask();
    await requestDecision(deps, { agentId: 'invoice-bot', request });
    const error = await requestDecision(deps, {
      agentId: 'invoice-bot',
      request: { ...request, parameters: { bucket: 'finance-invoices', key: 'other.pdf' } },
    }).catch((e) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect(error.code).toBe('REQUEST_ID_REUSED');
  });

  it('decides once under concurrent asks: one record, one receipt', async () => {
    harness.policy.answer = ALLOWED_READ;
    const request = ask();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => requestDecision(deps, { agentId: 'invoice-bot', request })),
    );
    const receipts = new Set(answers.map((answer) => (answer.status === 'DECIDED' ? answer.receipt : '')));
    expect(receipts.size).toBe(1);
    expect((await harness.store.get(answers[0]!.requestId))?.receipt).toBe([...receipts][0]);
  });

  it('follows up the same decision twice (a redelivered stream record): the same trail, one PUBLISHED', async () => {
    harness.policy.answer = ALLOWED_READ;
    const answer = await requestDecision(deps, { agentId: 'invoice-bot', request: ask() });
    await followUp(answer.requestId);
    const first = await harness.store.listAudit(answer.requestId);
    harness.clock.set(new Date(NOW.getTime() + 60_000));
    await followUp(answer.requestId);
    expect(await harness.store.listAudit(answer.requestId)).toEqual(first);
    expect(first.map((fact) => fact.kind)).toEqual([
      'REQUESTED',
      'EVALUATED',
      'DECIDED',
      'SIGNED',
      'PUBLISHED',
    ]);
    // Published again, as at least once allows (agents deduplicate by requestId): the same detail.
    expect(harness.publisher.published).toHaveLength(2);
    expect(harness.publisher.published[1]).toEqual(harness.publisher.published[0]);
  });

  it('finishes, on the retry, a follow-up the bus failed: PUBLISHED under the number reserved for it', async () => {
    harness.policy.answer = ALLOWED_READ;
    const answer = await requestDecision(deps, { agentId: 'invoice-bot', request: ask() });
    harness.publisher.failure = new Error('bus unavailable');
    try {
      await expect(followUp(answer.requestId)).rejects.toThrow('bus unavailable');
    } finally {
      harness.publisher.failure = undefined;
    }
    expect((await kindsOf(answer.requestId)).map(([kind]) => kind)).not.toContain('PUBLISHED');
    await followUp(answer.requestId);
    expect(harness.publisher.published).toHaveLength(1);
    // No gap, no number given twice.
    expect(await kindsOf(answer.requestId)).toEqual([
      ['REQUESTED', 1],
      ['EVALUATED', 2],
      ['DECIDED', 3],
      ['SIGNED', 4],
      ['PUBLISHED', 5],
    ]);
  });
});

describe('awaitDecision', () => {
  it('answers a decided request at once', async () => {
    harness.policy.answer = ALLOWED_READ;
    const decided = await requestDecision(deps, { agentId: 'invoice-bot', request: ask() });
    expect(
      await awaitDecision(deps, { agentId: 'invoice-bot', requestId: decided.requestId, waitSeconds: 20 }),
    ).toEqual(decided);
    expect(slept).toEqual([]);
  });

  it('waits for the decision of a request the workflow stores meanwhile', async () => {
    harness.policy.answer = requireApproval();
    const request = ask();
    const pending = await requestDecision(deps, { agentId: 'invoice-bot', request });
    const executionArn = 'arn:aws:states:us-east-1:123456789012:execution:approval:fast';
    duringSleep = async () => {
      // The workflow stores, decides and publishes while the agent waits.
      harness.policy.answer = ALLOWED_READ;
      const event = workflows.started.get(pending.requestId)!;
      const { evaluateRequest } = await import('../../../lambdas/services/evaluate-request.ts');
      const { publishDecision } = await import('../../../lambdas/services/publish-decision.ts');
      await evaluateRequest(harness, { requestId: pending.requestId, event, executionArn });
      await recordDecision(harness, {
        requestId: pending.requestId,
        outcome: { decision: 'AUTO_APPROVED' },
        executionArn,
      });
      await publishDecision(harness, { requestId: pending.requestId, executionArn });
    };
    const answer = await awaitDecision(deps, {
      agentId: 'invoice-bot',
      requestId: pending.requestId,
      waitSeconds: 20,
    });
    expect(answer).toMatchObject({
      status: 'DECIDED',
      decision: 'AUTO_APPROVED',
      requestId: pending.requestId,
    });
    expect(slept).toEqual([50]);
  });

  it('answers PENDING when the wait ends first, reading less and less often', async () => {
    harness.policy.answer = requireApproval();
    const pending = await requestDecision(deps, { agentId: 'invoice-bot', request: ask() });
    expect(
      await awaitDecision(deps, { agentId: 'invoice-bot', requestId: pending.requestId, waitSeconds: 2 }),
    ).toEqual({ status: 'PENDING', requestId: pending.requestId });
    expect(slept).toEqual([50, 100, 200, 400, 500, 500, 250]);
    slept.length = 0;
    expect(
      await awaitDecision(deps, { agentId: 'invoice-bot', requestId: pending.requestId, waitSeconds: 0 }),
    ).toEqual({ status: 'PENDING', requestId: pending.requestId });
    expect(slept).toEqual([]);
  });

  it('answers unknown requests 404 and another agent’s 403, without reading them', async () => {
    await expect(
      awaitDecision(deps, { agentId: 'invoice-bot', requestId: 'invoice-bot:nothing-here', waitSeconds: 5 }),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect(slept).toEqual([]);
    const error = await awaitDecision(deps, {
      agentId: 'report-bot',
      requestId: 'invoice-bot:req-1',
      waitSeconds: 0,
    }).catch((e) => e);
    expect(error).toBeInstanceOf(ForbiddenError);
  });
});
