import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { actionHash } from '../../../lambdas/domain/action-hash.ts';
import { unclassified } from '../../../lambdas/domain/classification.ts';
import { publicRequestId } from '../../../lambdas/domain/schemas.ts';
import { evaluateRequest } from '../../../lambdas/services/index.ts';
import { countingRequestStore } from '../../support/counting-store.ts';
import { NOW, requireApproval } from '../domain/fixtures.ts';
import { anAgentEvent, executionArnFor, type Harness, nextEventId, startHarness } from './harness.ts';

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness();
});

afterAll(async () => {
  await harness.table.close();
});

async function evaluate(detail: Record<string, unknown> = {}, executionArn?: string) {
  const eventId = nextEventId();
  const event = anAgentEvent(eventId, detail);
  const id = publicRequestId(event.detail.agent.id, (detail.requestId as string | undefined) ?? eventId);
  const result = await evaluateRequest(harness, {
    requestId: id,
    event,
    executionArn: executionArn ?? executionArnFor(id),
  });
  return { id, eventId, event, result };
}

describe('evaluateRequest', () => {
  it('records a request awaiting approval with its hash, requesters, expiry and audit trail', async () => {
    harness.policy.answer = requireApproval({ timeoutSeconds: 600 });
    const { id, eventId, event, result } = await evaluate();
    expect(id).toBe(`invoice-bot:${eventId}`);
    expect(result).toEqual({
      requestId: id,
      duplicate: false,
      invalid: false,
      policy: requireApproval({ timeoutSeconds: 600 }),
      classification: { status: 'UNCLASSIFIED', severity: null },
    });
    const stored = await harness.store.get(id);
    expect(stored).toMatchObject({
      requestId: id,
      clientRequestId: eventId,
      status: 'PENDING',
      requesters: ['invoice-bot', 'olga', 'dave'],
      actionHash: actionHash(event.detail),
      votes: [],
      approvers: [],
      sourceEventId: eventId,
      executionArn: executionArnFor(id),
      createdAt: NOW.toISOString(),
      expiresAt: '2025-06-01T12:10:00.000Z',
    });
    const audit = await harness.store.listAudit(id);
    // One instant (a fixed clock): listed in the order written.
    expect(audit.map((record) => [record.kind, record.key, record.actor])).toEqual([
      ['REQUESTED', 'REQUESTED', 'invoice-bot'],
      ['EVALUATED', 'EVALUATED', 'countersign'],
    ]);
    expect(audit[1]?.data).toMatchObject({
      decision: 'REQUIRE_APPROVAL',
      expiresAt: '2025-06-01T12:10:00.000Z',
    });
    // The copy's source (here its resource, no CopySource given) is looked up: nobody classified it.
    expect(harness.policy.requests.at(-1)).toEqual({
      agent: event.detail.agent,
      action: 's3:CopyObject',
      resource: event.detail.resource,
      parameters: event.detail.parameters,
      classification: unclassified('s3://invoices/2025/06.csv'),
    });
    expect(stored?.classification).toEqual(unclassified('s3://invoices/2025/06.csv'));
  });

  it('numbers the REQUESTED and EVALUATED facts in one write', async () => {
    harness.policy.answer = requireApproval();
    const { store, sent } = countingRequestStore(harness.table);
    const eventId = nextEventId();
    const event = anAgentEvent(eventId);
    const id = publicRequestId(event.detail.agent.id, eventId);
    await evaluateRequest({ ...harness, store }, { requestId: id, event, executionArn: executionArnFor(id) });
    expect(sent.filter((command) => command instanceof UpdateCommand)).toHaveLength(1);
    expect((await harness.store.listAudit(id)).map((record) => [record.kind, record.seq])).toEqual([
      ['REQUESTED', 1],
      ['EVALUATED', 2],
    ]);
  });

  it('numbers the intake facts while the request is claimed, not after the claim', async () => {
    harness.policy.answer = requireApproval();
    const reserve = vi.spyOn(harness.store, 'reserveAudit');
    const claim = harness.store.claim.bind(harness.store);
    let numberedDuringClaim = false;
    vi.spyOn(harness.store, 'claim').mockImplementation(async (record) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      numberedDuringClaim = reserve.mock.calls.length > 0;
      return claim(record);
    });
    try {
      const eventId = nextEventId();
      const event = anAgentEvent(eventId);
      const id = publicRequestId(event.detail.agent.id, eventId);
      await evaluateRequest(harness, { requestId: id, event, executionArn: executionArnFor(id) });
      expect(numberedDuringClaim).toBe(true);
      expect((await harness.store.listAudit(id)).map((record) => [record.kind, record.seq])).toEqual([
        ['REQUESTED', 1],
        ['EVALUATED', 2],
      ]);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('uses the agent’s requestId over the event id, and passes context to the policy', async () => {
    const clientRequestId = `agent-chosen-${nextEventId()}`;
    const { result } = await evaluate({ requestId: clientRequestId, context: { ticket: 'FIN-7' } });
    expect(result.requestId).toBe(`invoice-bot:${clientRequestId}`);
    expect(await harness.store.get(result.requestId)).toMatchObject({
      clientRequestId,
      context: { ticket: 'FIN-7' },
    });
    expect(harness.policy.requests.at(-1)?.context).toEqual({ ticket: 'FIN-7' });
  });

  it('stores no expiry for requests decided by policy alone', async () => {
    harness.policy.answer = requireApproval({ decision: 'ALLOW', groups: [], quorum: 0 });
    const { id, result } = await evaluate({ agent: { id: 'invoice-bot' } });
    expect(result.policy.decision).toBe('ALLOW');
    const stored = await harness.store.get(id);
    expect(stored?.expiresAt).toBeUndefined();
    expect(stored?.requesters).toEqual(['invoice-bot', 'olga']);
  });

  it('rejects invalid input with the reasons and stores nothing', async () => {
    const id = publicRequestId('invoice-bot', nextEventId());
    const event = anAgentEvent(id.split(':')[1]!, { action: 'copy everything' });
    const result = await evaluateRequest(harness, {
      requestId: id,
      event,
      executionArn: executionArnFor(id),
    });
    expect(result).toMatchObject({
      requestId: id,
      invalid: true,
      duplicate: false,
      policy: { decision: 'DENY' },
    });
    expect(result.policy.reason).toBe(
      'invalid request: detail.action: expected "<service>:<Operation>", e.g. "s3:CopyObject"',
    );
    expect(await harness.store.get(id)).toBeUndefined();
    expect(await harness.store.listAudit(id)).toEqual([]);
  });

  it.each([
    ['a JSON array holding the request string', (detail: unknown) => [JSON.stringify(detail)]],
    ['a string holding the request', (detail: unknown) => JSON.stringify(detail)],
    ['an array holding the request', (detail: unknown) => [detail]],
    ['a number', () => 42],
    ['null', () => null],
    // Fuzz counterexample: z.json() dropped the key, and the rest passed the strict schema.
    [
      'carrying an extra "__proto__" key',
      (detail: unknown) => JSON.parse(JSON.stringify(detail).replace(/}$/, ',"__proto__":{"x":1}}')),
    ],
  ])('never accepts a detail that is %s: denied as invalid, nothing stored', async (_name, shape) => {
    const eventId = nextEventId();
    const id = publicRequestId('invoice-bot', eventId);
    const valid = anAgentEvent(eventId);
    harness.policy.answer = { ...requireApproval(), decision: 'ALLOW', groups: [], quorum: 0 };
    const result = await evaluateRequest(harness, {
      requestId: id,
      event: { ...valid, detail: shape(valid.detail) },
      executionArn: executionArnFor(id),
    });
    harness.policy.answer = requireApproval();
    expect(result).toMatchObject({ invalid: true, policy: { decision: 'DENY' } });
    expect(await harness.store.get(id)).toBeUndefined();
  });

  it('denies, but records, a request on behalf of someone unknown (fail closed)', async () => {
    const { id, result } = await evaluate({
      agent: { id: 'invoice-bot', onBehalfOf: 'mallory@example.com' },
    });
    expect(result.policy).toMatchObject({
      decision: 'DENY',
      reason: 'the person the agent acts for ("mallory@example.com") is not in the directory',
    });
    expect(await harness.store.get(id)).toMatchObject({
      status: 'PENDING',
      requesters: ['invoice-bot', 'olga', 'mallory@example.com'],
    });
  });

  it('resolves onBehalfOf by directory id too', async () => {
    const { id } = await evaluate({ agent: { id: 'invoice-bot', onBehalfOf: 'carol' } });
    expect((await harness.store.get(id))?.requesters).toEqual(['invoice-bot', 'olga', 'carol']);
  });

  it('names every requester by its canonical directory id, however the owner and onBehalfOf are written', async () => {
    harness.directory.agents['mail-bot'] = { id: 'mail-bot', owner: 'OLGA@Example.COM' };
    const { id } = await evaluate({ agent: { id: 'mail-bot', onBehalfOf: 'Carol@EXAMPLE.com' } });
    expect((await harness.store.get(id))?.requesters).toEqual(['mail-bot', 'olga', 'carol']);
  });

  it('denies, but records, a request from an agent the directory does not register', async () => {
    const { id, result } = await evaluate({ agent: { id: 'rogue-bot' } });
    expect(result.policy).toMatchObject({
      decision: 'DENY',
      reason: 'the agent "rogue-bot" is not registered in the directory',
    });
    expect(await harness.store.get(id)).toMatchObject({
      agent: { id: 'rogue-bot' },
      requesters: ['rogue-bot'],
    });
  });

  it('denies a request whose agent’s owner is not a person in the directory', async () => {
    harness.directory.agents['orphan-bot'] = { id: 'orphan-bot', owner: 'nobody@example.com' };
    harness.directory.agents['owned-by-bot'] = { id: 'owned-by-bot', owner: 'invoice-bot' };
    for (const agentId of ['orphan-bot', 'owned-by-bot']) {
      const owner = harness.directory.agents[agentId]!.owner;
      const { result } = await evaluate({ agent: { id: agentId } });
      expect(result.policy).toMatchObject({
        decision: 'DENY',
        reason: `the owner of agent "${agentId}" ("${owner}") is not a person in the directory`,
      });
    }
  });

  it('denies a request on behalf of an agent: only a person can be whom an agent acts for', async () => {
    const { result } = await evaluate({ agent: { id: 'invoice-bot', onBehalfOf: 'invoice-bot' } });
    expect(result.policy).toMatchObject({
      decision: 'DENY',
      reason: 'the person the agent acts for ("invoice-bot") is not in the directory',
    });
  });

  it('denies when the directory fails', async () => {
    harness.directory.failure = new Error('directory offline');
    try {
      const { result } = await evaluate();
      expect(result.policy).toMatchObject({
        decision: 'DENY',
        reason: 'the requesters could not be resolved: directory offline',
      });
    } finally {
      harness.directory.failure = undefined;
    }
  });

  it('denies when the policy engine throws or answers nonsense', async () => {
    harness.policy.answer = () => {
      throw new Error('wasm trap');
    };
    expect((await evaluate()).result.policy).toMatchObject({
      decision: 'DENY',
      reason: 'policy evaluation failed: wasm trap',
    });
    harness.policy.answer = () => {
      throw 'bare string';
    };
    expect((await evaluate()).result.policy.reason).toBe('policy evaluation failed: bare string');
    harness.policy.answer = { ...requireApproval(), decision: 'MAYBE' as 'ALLOW' };
    expect((await evaluate()).result.policy.reason).toMatch(
      /^policy evaluation returned an invalid decision: decision: /,
    );
  });

  it('starts one workflow for a request delivered twice', async () => {
    harness.policy.answer = requireApproval();
    const clientRequestId = `dup-${nextEventId()}`;
    const requestId = `invoice-bot:${clientRequestId}`;
    const first = await evaluate({ requestId: clientRequestId }, executionArnFor(requestId, 'run-1'));
    harness.policy.answer = requireApproval({ decision: 'ALLOW' });
    const second = await evaluate({ requestId: clientRequestId }, executionArnFor(requestId, 'run-2'));
    expect(first.result.duplicate).toBe(false);
    expect(second.result).toEqual({ requestId, duplicate: true, invalid: false, policy: requireApproval() });
    expect((await harness.store.get(requestId))?.executionArn).toBe(executionArnFor(requestId, 'run-1'));
  });

  it('keeps two agents’ requests with the same requestId apart: neither claims nor blocks the other', async () => {
    harness.policy.answer = requireApproval();
    harness.directory.agents['report-bot'] = { id: 'report-bot', owner: 'carol' };
    const clientRequestId = `shared-${nextEventId()}`;
    const mine = await evaluate({ requestId: clientRequestId });
    const eventId = nextEventId();
    const theirs = {
      ...anAgentEvent(eventId, { requestId: clientRequestId, agent: { id: 'report-bot' } }),
      source: 'countersign.agent.report-bot',
    };
    const result = await evaluateRequest(harness, {
      requestId: `report-bot:${clientRequestId}`,
      event: theirs,
      executionArn: executionArnFor(`report-bot:${clientRequestId}`),
    });
    expect(result).toMatchObject({
      requestId: `report-bot:${clientRequestId}`,
      duplicate: false,
      invalid: false,
    });
    expect(await harness.store.get(mine.id)).toMatchObject({ agent: { id: 'invoice-bot' }, clientRequestId });
    expect(await harness.store.get(result.requestId)).toMatchObject({
      agent: { id: 'report-bot' },
      clientRequestId,
    });
  });

  it('refuses a workflow requestId that does not name the event’s request, storing nothing', async () => {
    const eventId = nextEventId();
    const event = anAgentEvent(eventId, { requestId: 'victim-1' });
    // A caller other than the state machine, trying to file the request under another agent's id.
    const result = await evaluateRequest(harness, {
      requestId: 'report-bot:victim-1',
      event,
      executionArn: executionArnFor('report-bot:victim-1'),
    });
    expect(result).toMatchObject({ invalid: true, policy: { decision: 'DENY' } });
    expect(result.policy.reason).toBe(
      "invalid request: the workflow's requestId does not name this event's request (invoice-bot:victim-1)",
    );
    expect(await harness.store.get('report-bot:victim-1')).toBeUndefined();
    expect(await harness.store.get('invoice-bot:victim-1')).toBeUndefined();
  });

  it('answers a redelivery to the same workflow with the stored policy, writing the trail once', async () => {
    harness.policy.answer = requireApproval();
    const clientRequestId = `redo-${nextEventId()}`;
    const requestId = `invoice-bot:${clientRequestId}`;
    await evaluate({ requestId: clientRequestId }, executionArnFor(requestId));
    harness.clock.set(new Date(NOW.getTime() + 5000));
    harness.policy.answer = requireApproval({ decision: 'DENY' });
    try {
      const again = await evaluate({ requestId: clientRequestId }, executionArnFor(requestId));
      expect(again.result).toEqual({
        requestId,
        duplicate: false,
        invalid: false,
        policy: requireApproval(),
        classification: { status: 'UNCLASSIFIED', severity: null },
      });
    } finally {
      harness.clock.set(NOW);
    }
    const audit = await harness.store.listAudit(requestId);
    expect(audit).toHaveLength(2);
    expect(audit.every((record) => record.at === NOW.toISOString())).toBe(true);
  });
});
