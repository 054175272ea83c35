import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toRequestItem } from '../../../../lambdas/adapters/dynamodb/request-item.ts';
import { DynamoDbRequestStore } from '../../../../lambdas/adapters/dynamodb/request-store.ts';
import { TableKey } from '../../../../lambdas/adapters/dynamodb/table-layout.ts';
import type { NewAuditRecord } from '../../../../lambdas/domain/audit-record.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../../../lambdas/domain/errors.ts';
import type { RequestRecord } from '../../../../lambdas/domain/schemas.ts';
import { countingRequestStore } from '../../../support/counting-store.ts';
import { type LocalTable, startDynalite } from '../../../support/dynalite.ts';
import { AUDIT_DATA, anAuditRecord, aRecord, aVote, NOW } from '../../domain/fixtures.ts';

let table: LocalTable;
let store: DynamoDbRequestStore;
let sequence = 0;

/** A fresh request id per test: the table is shared by the file, tests never see each other's items. */
function fresh(overrides: Partial<RequestRecord> = {}): RequestRecord {
  sequence += 1;
  return aRecord({
    requestId: `invoice-bot:req-${sequence}`,
    clientRequestId: `req-${sequence}`,
    ...overrides,
  });
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ConflictError);
  return (error as ConflictError).code;
}

beforeAll(async () => {
  table = await startDynalite();
  store = new DynamoDbRequestStore({ client: table.client, tableName: table.tableName });
});

afterAll(async () => {
  await table.close();
});

describe('claim and get', () => {
  it('stores a new request once; a second claim returns the stored one', async () => {
    const record = fresh({ agent: { id: 'invoice-bot' }, context: { ticket: 'T-1', nested: { n: 1.5 } } });
    expect(await store.claim(record)).toEqual({ created: true, record });
    const again = await store.claim({ ...record, executionArn: 'arn:other' });
    expect(again).toEqual({ created: false, record });
    expect(await store.get(record.requestId)).toEqual(record);
  });

  it('keeps votes a claimed record already carries, one per person', async () => {
    const record = fresh({ votes: [aVote('alice')] });
    await store.claim(record);
    expect(await codeOf(store.addVote(record.requestId, aVote('alice'), NOW))).toBe('ALREADY_VOTED');
  });

  it('returns undefined for an unknown request', async () => {
    expect(await store.get('nope')).toBeUndefined();
  });

  it('refuses an invalid record before writing anything', async () => {
    const record = fresh({ actionHash: 'not-a-hash' });
    await expect(store.claim(record)).rejects.toBeInstanceOf(ValidationError);
    expect(await store.get(record.requestId)).toBeUndefined();
  });

  it('validates what it reads back', async () => {
    const record = fresh();
    await table.client.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { ...toRequestItem(record), status: 'MAYBE', gsi1pk: 'STATUS#MAYBE' },
      }),
    );
    await expect(store.get(record.requestId)).rejects.toThrow(/invalid stored request: status/);
  });
});

describe('addVote', () => {
  it('appends votes in order and keeps the store-only attributes out of the record', async () => {
    const record = fresh();
    await store.claim(record);
    await store.addVote(record.requestId, aVote('alice'), NOW);
    const updated = await store.addVote(record.requestId, aVote('bob', 'deny', 'wrong bucket'), NOW);
    expect(updated.votes).toEqual([aVote('alice'), aVote('bob', 'deny', 'wrong bucket')]);
    expect(Object.keys(updated)).not.toContain('voters');
    expect(updated).toEqual({ ...record, votes: updated.votes });
  });

  it('accepts voter ids with characters that are special in expressions', async () => {
    const record = fresh();
    await store.claim(record);
    const updated = await store.addVote(record.requestId, aVote('a.b:c@d+e-f'), NOW);
    expect(updated.votes.map((vote) => vote.voterId)).toEqual(['a.b:c@d+e-f']);
    expect(await codeOf(store.addVote(record.requestId, aVote('a.b:c@d+e-f'), NOW))).toBe('ALREADY_VOTED');
  });

  it('tells ALREADY_VOTED, EXPIRED and NOT_PENDING apart', async () => {
    const record = fresh();
    await store.claim(record);
    await store.addVote(record.requestId, aVote('alice'), NOW);
    expect(
      await codeOf(store.addVote(record.requestId, aVote('alice', 'deny', 'changed my mind'), NOW)),
    ).toBe('ALREADY_VOTED');
    expect(await codeOf(store.addVote(record.requestId, aVote('bob'), new Date(record.expiresAt!)))).toBe(
      'EXPIRED',
    );
    await store.decide(record.requestId, { decision: 'APPROVED', approvers: ['alice'], at: NOW });
    expect(await codeOf(store.addVote(record.requestId, aVote('bob'), NOW))).toBe('NOT_PENDING');
    expect((await store.get(record.requestId))?.votes).toEqual([aVote('alice')]);
  });

  it('treats a request without an expiry as closed to votes', async () => {
    const { expiresAt: _none, ...record } = fresh({ policy: { ...aRecord().policy, decision: 'ALLOW' } });
    await store.claim(record);
    expect(await codeOf(store.addVote(record.requestId, aVote('alice'), NOW))).toBe('EXPIRED');
  });

  it('throws NotFoundError for an unknown request and ValidationError for a bad vote', async () => {
    await expect(store.addVote('nope', aVote('alice'), NOW)).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      store.addVote('nope', { ...aVote('alice'), channel: 'fax' as 'api' }, NOW),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  it('records exactly one vote per person under concurrency', async () => {
    const record = fresh();
    await store.claim(record);
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => store.addVote(record.requestId, aVote('alice'), NOW)),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    expect((await store.get(record.requestId))?.votes).toHaveLength(1);
  });
});

describe('decide', () => {
  it('applies once; later calls get the stored, earlier decision', async () => {
    const record = fresh();
    await store.claim(record);
    const first = await store.decide(record.requestId, {
      decision: 'DENIED',
      approvers: [],
      reason: 'wrong bucket',
      at: NOW,
    });
    expect(first.applied).toBe(true);
    expect(first.record).toMatchObject({
      status: 'DENIED',
      decision: 'DENIED',
      reason: 'wrong bucket',
      decidedAt: NOW.toISOString(),
    });
    const second = await store.decide(record.requestId, {
      decision: 'APPROVED',
      approvers: ['alice'],
      at: NOW,
    });
    expect(second).toEqual({ applied: false, record: first.record, waitState: first.waitState });
  });

  it("answers where the workflow stood in the decision's own write, applied or not", async () => {
    const record = fresh();
    await store.claim(record);
    await store.saveTaskToken(record.requestId, 'token-1', record.executionArn);
    await store.markNotified(record.requestId, NOW);
    const decided = await store.decide(record.requestId, {
      decision: 'APPROVED',
      approvers: ['alice'],
      at: NOW,
    });
    expect(decided.waitState).toEqual({ taskToken: 'token-1', notified: true, resumed: false });
    expect(decided.waitState).toEqual(await store.getWaitState(record.requestId));
    expect(await store.getWithWaitState(record.requestId)).toEqual({
      record: decided.record,
      waitState: decided.waitState,
    });
    expect(await store.getWithWaitState('invoice-bot:nothing')).toBeUndefined();
    await store.markResumed(record.requestId, 'token-1', NOW);
    const again = await store.decide(record.requestId, { decision: 'DENIED', approvers: [], at: NOW });
    expect(again).toMatchObject({ applied: false, waitState: { taskToken: 'token-1', resumed: true } });
  });

  it('stores no reason when none is given, and moves the request between status listings', async () => {
    const record = fresh({ createdAt: '2031-01-01T00:00:00.000Z' });
    await store.claim(record);
    const { record: decided } = await store.decide(record.requestId, {
      decision: 'AUTO_APPROVED',
      approvers: [],
      at: NOW,
    });
    expect(decided.status).toBe('APPROVED');
    expect(Object.keys(decided)).not.toContain('reason');
    expect((await store.list({ status: 'PENDING', limit: 100 })).items.map((r) => r.requestId)).not.toContain(
      record.requestId,
    );
    expect((await store.list({ status: 'APPROVED', limit: 1 })).items[0]?.requestId).toBe(record.requestId);
  });

  it('stores a receipt given with the decision in the same write; a decision that did not stand leaves it unwritten', async () => {
    const record = fresh();
    await store.claim(record);
    const first = await store.decide(record.requestId, {
      decision: 'AUTO_APPROVED',
      approvers: [],
      at: NOW,
      receipt: 'header.claims.first',
    });
    expect(first).toMatchObject({
      applied: true,
      record: { status: 'APPROVED', receipt: 'header.claims.first' },
    });
    const again = await store.decide(record.requestId, {
      decision: 'POLICY_DENIED',
      approvers: [],
      at: NOW,
      receipt: 'header.claims.second',
    });
    expect(again).toMatchObject({
      applied: false,
      record: { decision: 'AUTO_APPROVED', receipt: 'header.claims.first' },
    });
    await expect(store.get(record.requestId)).resolves.toMatchObject({ receipt: 'header.claims.first' });
    const unsigned = fresh();
    await store.claim(unsigned);
    const { record: decided } = await store.decide(unsigned.requestId, {
      decision: 'EXPIRED',
      approvers: [],
      at: NOW,
    });
    expect(decided.receipt).toBeUndefined();
  });

  it('throws NotFoundError for an unknown request', async () => {
    await expect(
      store.decide('nope', { decision: 'EXPIRED', approvers: [], at: NOW }),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  it('applies exactly one of many concurrent decisions', async () => {
    const record = fresh();
    await store.claim(record);
    const decisions = ['APPROVED', 'DENIED', 'EXPIRED', 'APPROVED', 'DENIED'] as const;
    const results = await Promise.all(
      decisions.map((decision) => store.decide(record.requestId, { decision, approvers: [], at: NOW })),
    );
    const applied = results.filter((result) => result.applied);
    expect(applied).toHaveLength(1);
    for (const result of results) expect(result.record.decision).toBe(applied[0]?.record.decision);
  });
});

describe('workflow state', () => {
  it('saves the task token and marks notified and resumed once', async () => {
    const record = fresh();
    await store.claim(record);
    expect(await store.getWaitState(record.requestId)).toEqual({ notified: false, resumed: false });
    expect(await store.getTaskToken(record.requestId)).toBeUndefined();
    // The request comes back as the save left it, read in the same write.
    expect(await store.saveTaskToken(record.requestId, 'token-1', record.executionArn)).toEqual({
      record,
      waitState: { taskToken: 'token-1', notified: false, resumed: false },
      firstWait: true,
    });
    expect(await store.markNotified(record.requestId, NOW)).toBe(true);
    expect(await store.markNotified(record.requestId, NOW)).toBe(false);
    expect(await store.saveTaskToken(record.requestId, 'token-2', record.executionArn)).toEqual({
      record,
      waitState: { taskToken: 'token-2', notified: true, resumed: false },
      // A later wait (a retry, a re-drive) cannot know whether reviewers were asked before.
      firstWait: false,
    });
    expect(await store.getTaskToken(record.requestId)).toBe('token-2');
    expect(await store.markResumed(record.requestId, 'token-2', NOW)).toBe(true);
    expect(await store.markResumed(record.requestId, 'token-2', NOW)).toBe(false);
    expect(await store.getWaitState(record.requestId)).toEqual({
      taskToken: 'token-2',
      notified: true,
      resumed: true,
    });
    expect(await store.get(record.requestId)).toEqual(record);
  });

  it('never calls the first save of a request stored before saves were counted a first wait', async () => {
    const record = fresh();
    await store.claim(record);
    // As an item claimed by the version before the count: no waitSaves attribute.
    await table.client.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: TableKey.request(record.requestId),
        UpdateExpression: 'REMOVE waitSaves',
      }),
    );
    expect((await store.saveTaskToken(record.requestId, 'token-1', record.executionArn)).firstWait).toBe(
      false,
    );
  });

  it("hands back the request as the token's save left it: decided before the wait, it is seen decided", async () => {
    const record = fresh();
    await store.claim(record);
    const { record: decided } = await store.decide(record.requestId, {
      decision: 'APPROVED',
      approvers: ['alice'],
      at: NOW,
    });
    const saved = await store.saveTaskToken(record.requestId, 'token-late', record.executionArn);
    expect(saved).toEqual({
      record: decided,
      waitState: { taskToken: 'token-late', notified: false, resumed: false },
      firstWait: true,
    });
    expect(saved.record.status).toBe('APPROVED');
  });

  it('binds the resumed mark to its task token: a fresh token is not resumed by the old send', async () => {
    const record = fresh();
    await store.claim(record);
    await store.saveTaskToken(record.requestId, 'token-old', record.executionArn);
    expect(await store.markResumed(record.requestId, 'token-old', NOW)).toBe(true);
    await store.saveTaskToken(record.requestId, 'token-new', record.executionArn);
    expect(await store.getWaitState(record.requestId)).toMatchObject({ resumed: false });
    expect(await store.markResumed(record.requestId, 'token-new', NOW)).toBe(true);
    // A late caller marking the old token (its send refused) does not displace the current mark.
    expect(await store.markResumed(record.requestId, 'token-old', NOW)).toBe(false);
    expect(await store.getWaitState(record.requestId)).toMatchObject({
      taskToken: 'token-new',
      resumed: true,
    });
    expect(await store.markResumed(record.requestId, 'token-new', NOW)).toBe(false);
  });

  it('answers a string that cannot be a request id as no request, without asking DynamoDB', async () => {
    const tooLong = `invoice-bot:${'x'.repeat(3000)}`;
    expect(await store.get(tooLong)).toBeUndefined();
    await expect(store.getWaitState(tooLong)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('stores a task token only for the execution that owns the request', async () => {
    const record = fresh();
    await store.claim(record);
    await store.saveTaskToken(record.requestId, 'token-owner', record.executionArn);
    expect(
      await codeOf(store.saveTaskToken(record.requestId, 'token-forged', `${record.executionArn}-other`)),
    ).toBe('FOREIGN_EXECUTION');
    expect(await store.getTaskToken(record.requestId)).toBe('token-owner');
  });

  it('throws NotFoundError for unknown requests', async () => {
    await expect(store.saveTaskToken('nope', 't', aRecord().executionArn)).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(store.getWaitState('nope')).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.markNotified('nope', NOW)).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.markResumed('nope', 't', NOW)).rejects.toBeInstanceOf(NotFoundError);
    expect(await store.getTaskToken('nope')).toBeUndefined();
  });
});

describe('audit', () => {
  function anAudit(
    requestId: string,
    key: string,
    at: string,
    data: Partial<typeof AUDIT_DATA.VOTED> = {},
  ): NewAuditRecord {
    return anAuditRecord('VOTED', {
      requestId,
      key,
      at,
      actor: 'alice',
      data: { ...AUDIT_DATA.VOTED, ...data },
    });
  }

  it("tells whether a request's trail has the record of a key", async () => {
    const { requestId } = fresh();
    await expect(store.hasAudit(requestId, 'VOTED#alice')).resolves.toBe(false);
    await store.appendAudit(anAudit(requestId, 'VOTED#alice', '2025-06-01T12:00:01.000Z'));
    await expect(store.hasAudit(requestId, 'VOTED#alice')).resolves.toBe(true);
    await expect(store.hasAudit(requestId, 'VOTED#bob')).resolves.toBe(false);
  });

  it('keeps the first record per key and lists them by time', async () => {
    const { requestId } = fresh();
    await store.appendAudit(anAudit(requestId, 'VOTED#bob', '2025-06-01T12:00:02.000Z'));
    await store.appendAudit(
      anAudit(requestId, 'VOTED#alice', '2025-06-01T12:00:01.000Z', { vote: 'approve' }),
    );
    await store.appendAudit(anAudit(requestId, 'VOTED#alice', '2025-06-01T12:00:09.000Z', { vote: 'deny' }));
    await store.appendAudit(anAudit(requestId, 'VOTED#carol', '2025-06-01T12:00:02.000Z'));
    const audit = await store.listAudit(requestId);
    expect(audit.map((record) => record.key)).toEqual(['VOTED#alice', 'VOTED#bob', 'VOTED#carol']);
    expect(audit[0]).toEqual({
      schemaVersion: 1,
      seq: 2,
      ...anAudit(requestId, 'VOTED#alice', '2025-06-01T12:00:01.000Z', { vote: 'approve' }),
    });
  });

  it("numbers a request's records 1, 2, 3 … once per key, whoever writes them and how often", async () => {
    const { requestId } = fresh();
    const other = fresh().requestId;
    const keys = ['REQ', 'EVAL', 'VOTED#alice', 'VOTED#bob', 'VOTED#carol', 'VOTED#dave'];
    // Every fact written three times at once, as redeliveries and retries would.
    await Promise.all(
      keys.flatMap((key) =>
        [1, 2, 3].map(() => store.appendAudit(anAudit(requestId, key, '2025-06-01T12:00:01.000Z'))),
      ),
    );
    await store.appendAudit(anAudit(other, 'REQ', '2025-06-01T12:00:01.000Z'));
    const numbers = (await store.listAudit(requestId)).map((record) => record.seq).sort((a, b) => a - b);
    expect(numbers).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await store.listAudit(other)).map((record) => record.seq)).toEqual([1]);
  });

  it('gives a fact whose write failed after numbering its own number on the retry', async () => {
    const { requestId } = fresh();
    // The first put of the fact times out after the number was given (as a Lambda timeout would).
    let failPut = true;
    const flakyClient = {
      send: (command: unknown) => {
        if (command instanceof PutCommand && failPut) {
          failPut = false;
          return Promise.reject(Object.assign(new Error('timeout'), { name: 'TimeoutError' }));
        }
        return table.client.send(command as PutCommand);
      },
    };
    const flaky = new DynamoDbRequestStore({
      client: flakyClient as unknown as DynamoDBDocumentClient,
      tableName: table.tableName,
    });
    await store.appendAudit(anAudit(requestId, 'FIRST', '2025-06-01T12:00:01.000Z'));
    await expect(flaky.appendAudit(anAudit(requestId, 'SECOND', '2025-06-01T12:00:02.000Z'))).rejects.toThrow(
      'timeout',
    );
    await flaky.appendAudit(anAudit(requestId, 'SECOND', '2025-06-01T12:00:03.000Z'));
    await store.appendAudit(anAudit(requestId, 'THIRD', '2025-06-01T12:00:04.000Z'));
    expect((await store.listAudit(requestId)).map((record) => [record.key, record.seq])).toEqual([
      ['FIRST', 1],
      ['SECOND', 2],
      ['THIRD', 3],
    ]);
  });

  it('numbers records appended together in the order given, after those before, in one numbering write', async () => {
    const { requestId } = fresh();
    const { store: counting, sent } = countingRequestStore(table);
    await store.appendAudit(anAudit(requestId, 'FIRST', '2025-06-01T12:00:01.000Z'));
    const at = '2025-06-01T12:00:02.000Z';
    await counting.appendAudits(['C', 'A', 'B'].map((key) => anAudit(requestId, key, at)));
    await store.appendAudit(anAudit(requestId, 'LAST', '2025-06-01T12:00:02.000Z'));
    // Same time: listed in the order they were numbered, not by key.
    expect((await store.listAudit(requestId)).map((record) => [record.key, record.seq])).toEqual([
      ['FIRST', 1],
      ['C', 2],
      ['A', 3],
      ['B', 4],
      ['LAST', 5],
    ]);
    expect(sent.filter((command) => command instanceof UpdateCommand)).toHaveLength(1);
  });

  it('appends together as one at a time when some record has its number (a retry): each kept as first written', async () => {
    const { requestId } = fresh();
    await store.appendAudit(anAudit(requestId, 'A', '2025-06-01T12:00:01.000Z', { vote: 'approve' }));
    const retried = ['A', 'B'].map((key) =>
      anAudit(requestId, key, '2025-06-01T12:00:05.000Z', { vote: 'deny' }),
    );
    await Promise.all([store.appendAudits(retried), store.appendAudits(retried)]);
    const audit = await store.listAudit(requestId);
    expect(audit.map((record) => [record.key, record.seq, (record.data as { vote?: string }).vote])).toEqual([
      ['A', 1, 'approve'],
      ['B', 2, 'deny'],
    ]);
  });

  it('numbers concurrent batches and single appends without a gap or a number given twice', async () => {
    const { requestId } = fresh();
    const at = '2025-06-01T12:00:01.000Z';
    await Promise.all([
      store.appendAudits(['A', 'B', 'C'].map((key) => anAudit(requestId, key, at))),
      store.appendAudits(['B', 'C', 'D'].map((key) => anAudit(requestId, key, at))),
      store.appendAudit(anAudit(requestId, 'E', at)),
      store.appendAudits(['E', 'F'].map((key) => anAudit(requestId, key, at))),
    ]);
    const numbers = (await store.listAudit(requestId)).map((record) => record.seq).sort((a, b) => a - b);
    expect(numbers).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('numbers reserved keys after the records, in the same write; a reserved record is then written without numbering', async () => {
    const { requestId } = fresh();
    const { store: counting, sent } = countingRequestStore(table);
    const at = '2025-06-01T12:00:01.000Z';
    const reserved = await counting.appendAudits(
      ['A', 'B'].map((key) => anAudit(requestId, key, at)),
      ['LATER'],
    );
    expect(reserved).toEqual([{ requestId, key: 'LATER', seq: 3 }]);
    await store.appendAudit(anAudit(requestId, 'AFTER', at));
    await counting.appendAudit(anAudit(requestId, 'LATER', '2025-06-01T12:00:02.000Z'), reserved[0]);
    expect((await store.listAudit(requestId)).map((record) => [record.key, record.seq])).toEqual([
      ['A', 1],
      ['B', 2],
      ['AFTER', 4],
      ['LATER', 3],
    ]);
    expect(sent.filter((command) => command instanceof UpdateCommand)).toHaveLength(1);
  });

  it('reserves again, after a crash, the numbers the keys got; a reservation of another key is not used', async () => {
    const { requestId } = fresh();
    const at = '2025-06-01T12:00:01.000Z';
    const first = await store.appendAudits([anAudit(requestId, 'A', at)], ['LATER']);
    const retried = await store.appendAudits([anAudit(requestId, 'A', at)], ['LATER']);
    expect(retried).toEqual(first);
    await store.appendAudit(anAudit(requestId, 'OTHER', at), first[0]);
    await store.appendAudit(anAudit(requestId, 'LATER', at), {
      ...first[0]!,
      requestId: 'invoice-bot:other',
    });
    expect((await store.listAudit(requestId)).map((record) => [record.key, record.seq])).toEqual([
      ['A', 1],
      ['LATER', 2],
      ['OTHER', 3],
    ]);
  });

  it('numbers keys ahead of their records in one write, and gives a key that has its number the same one', async () => {
    const { requestId } = fresh();
    const { store: counting, sent } = countingRequestStore(table);
    const at = '2025-06-01T12:00:01.000Z';
    const reserved = await counting.reserveAudit(requestId, ['A', 'B']);
    expect(reserved).toEqual([
      { requestId, key: 'A', seq: 1 },
      { requestId, key: 'B', seq: 2 },
    ]);
    expect(sent.filter((command) => command instanceof UpdateCommand)).toHaveLength(1);
    // A retry (or a second execution) numbering the same keys, and a single key, get what they got.
    expect(await store.reserveAudit(requestId, ['A', 'B'])).toEqual(reserved);
    expect(await store.reserveAudit(requestId, ['B'])).toEqual([reserved[1]]);
    await store.appendAudit(anAudit(requestId, 'C', at));
    await Promise.all(
      reserved.map((reservation) => store.appendAudit(anAudit(requestId, reservation.key, at), reservation)),
    );
    expect((await store.listAudit(requestId)).map((record) => [record.key, record.seq])).toEqual([
      ['A', 1],
      ['B', 2],
      ['C', 3],
    ]);
  });

  it('reserves keys only beside records of one request', async () => {
    const at = '2025-06-01T12:00:01.000Z';
    const [one, two] = [fresh().requestId, fresh().requestId];
    for (const records of [[], [anAudit(one, 'A', at), anAudit(two, 'A', at)]]) {
      await expect(store.appendAudits(records, ['LATER'])).rejects.toBeInstanceOf(ValidationError);
    }
    expect(await store.listAudit(one)).toEqual([]);
  });

  it('pages through long trails', async () => {
    const { requestId } = fresh();
    const reason = 'x'.repeat(2000);
    for (const n of [1, 2, 3, 4]) {
      await store.appendAudit(anAudit(requestId, `K${n}`, `2025-06-01T12:00:0${n}.000Z`, { reason }));
    }
    expect((await store.listAudit(requestId)).map((record) => record.key)).toEqual(['K1', 'K2', 'K3', 'K4']);
  });

  it('refuses an invalid audit record, and data a kind does not allow', async () => {
    await expect(store.appendAudit(anAudit('r', '', 'now'))).rejects.toBeInstanceOf(ValidationError);
    const smuggled = {
      ...anAuditRecord('NOTIFIED'),
      data: { ...AUDIT_DATA.NOTIFIED, taskToken: 'AQCEAAAAKgAAAAMAAAAA' },
    } as unknown as NewAuditRecord;
    await expect(store.appendAudit(smuggled)).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('list', () => {
  let listing: LocalTable;
  let listStore: DynamoDbRequestStore;

  beforeEach(async () => {
    listing = await startDynalite();
    listStore = new DynamoDbRequestStore({ client: listing.client, tableName: listing.tableName });
    return () => listing.close();
  });

  async function seed(count: number, status: RequestRecord['status'], minuteOffset: number): Promise<void> {
    for (let n = 0; n < count; n += 1) {
      const createdAt = new Date(NOW.getTime() + (minuteOffset + n) * 60_000).toISOString();
      const clientRequestId = `${status.toLowerCase()}-${n}`;
      const requestId = `invoice-bot:${clientRequestId}`;
      await listStore.claim(aRecord({ requestId, clientRequestId, createdAt }));
      if (status !== 'PENDING') {
        const decision = status === 'APPROVED' ? 'APPROVED' : status === 'DENIED' ? 'DENIED' : 'EXPIRED';
        await listStore.decide(requestId, { decision, approvers: [], at: NOW });
      }
    }
  }

  async function collect(query: { status?: RequestRecord['status']; limit: number }): Promise<string[][]> {
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await listStore.list({ ...query, ...(cursor ? { cursor } : {}) });
      pages.push(page.items.map((record) => record.clientRequestId));
      cursor = page.cursor;
    } while (cursor !== undefined);
    return pages;
  }

  it('lists one status newest first, in pages', async () => {
    await seed(5, 'PENDING', 0);
    await seed(2, 'DENIED', 10);
    const pages = await collect({ status: 'PENDING', limit: 2 });
    expect(pages.flat()).toEqual(['pending-4', 'pending-3', 'pending-2', 'pending-1', 'pending-0']);
    expect(pages[0]).toHaveLength(2);
  });

  it('merges every status by creation time when no status is given', async () => {
    await seed(2, 'PENDING', 0);
    await seed(2, 'APPROVED', 2);
    await seed(1, 'EXPIRED', 5);
    const pages = await collect({ limit: 2 });
    expect(pages.flat()).toEqual(['expired-0', 'approved-1', 'approved-0', 'pending-1', 'pending-0']);
    expect(pages.slice(0, 2).every((page) => page.length === 2)).toBe(true);
  });

  it('defaults and clamps the page size and returns no cursor on the last page', async () => {
    await seed(3, 'PENDING', 0);
    expect(await listStore.list({})).toMatchObject({ items: { length: 3 } });
    expect((await listStore.list({})).cursor).toBeUndefined();
    expect((await listStore.list({ limit: 0 })).items).toHaveLength(1);
    expect((await listStore.list({ limit: 10_000 })).items).toHaveLength(3);
  });

  it('rejects a cursor it did not issue', async () => {
    await expect(listStore.list({ cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(ValidationError);
    const forged = Buffer.from(JSON.stringify({ after: 'x' })).toString('base64url');
    await expect(listStore.list({ cursor: forged })).rejects.toThrow('invalid cursor');
  });
});

describe('on DynamoDB, which returns the old item with the failure (ALL_OLD)', () => {
  const record = aRecord();
  const failure = (item?: RequestRecord) =>
    new ConditionalCheckFailedException({
      message: 'The conditional request failed',
      $metadata: {},
      ...(item ? { Item: marshall(toRequestItem(item), { removeUndefinedValues: true }) } : {}),
    });

  it('uses the returned item instead of reading again', async () => {
    const client = mockClient(DynamoDBDocumentClient);
    client.on(UpdateCommand).rejects(failure({ ...record, status: 'DENIED', decision: 'DENIED' }));
    const mocked = new DynamoDbRequestStore({
      client: client as unknown as DynamoDBDocumentClient,
      tableName: 't',
    });
    expect(await codeOf(mocked.addVote(record.requestId, aVote('alice'), NOW))).toBe('NOT_PENDING');
    expect(
      await mocked.decide(record.requestId, { decision: 'APPROVED', approvers: [], at: NOW }),
    ).toMatchObject({
      applied: false,
      record: { status: 'DENIED' },
    });
    expect(client.commandCalls(GetCommand)).toHaveLength(0);
    expect(client.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      Key: TableKey.request(record.requestId),
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  });

  it('rethrows errors that are not condition failures', async () => {
    const client = mockClient(DynamoDBDocumentClient);
    const outage = Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
    client.onAnyCommand().rejects(outage);
    const mocked = new DynamoDbRequestStore({
      client: client as unknown as DynamoDBDocumentClient,
      tableName: 't',
    });
    const calls = [
      mocked.claim(record),
      mocked.addVote(record.requestId, aVote('alice'), NOW),
      mocked.decide(record.requestId, { decision: 'EXPIRED', approvers: [], at: NOW }),
      mocked.saveTaskToken(record.requestId, 't', record.executionArn),
      mocked.markNotified(record.requestId, NOW),
      mocked.appendAudit(anAuditRecord('NOTIFIED')),
    ];
    for (const call of calls) await expect(call).rejects.toBe(outage);
  });
});
