import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbReminderMarks } from '../../../lambdas/adapters/dynamodb/reminder-marks.ts';
import { DynamoDbRequestStore } from '../../../lambdas/adapters/dynamodb/request-store.ts';
import type { DueReminder } from '../../../lambdas/domain/messages/reminders.ts';
import type { RequestRecord } from '../../../lambdas/domain/schemas.ts';
import type { ReviewReminders } from '../../../lambdas/ports/index.ts';
import { sendReminders } from '../../../lambdas/services/send-reminders.ts';
import { type LocalTable, startDynalite } from '../../support/dynalite.ts';
import { pendingRecord } from '../chat/review-record.ts';
import { ManualClock, RecordingWorkflow } from './fakes.ts';

/** Fifteen minutes: three runs of a five-minute schedule. */
const LOOKBACK = 900;

class RecordingReminders implements ReviewReminders {
  readonly sent: Array<{ requestId: string; leadSeconds: number }> = [];
  failuresLeft = 0;
  async remind(record: RequestRecord, reminder: DueReminder): Promise<void> {
    if (this.failuresLeft > 0) {
      this.failuresLeft -= 1;
      throw new Error('Slack is unavailable');
    }
    this.sent.push({ requestId: record.requestId, leadSeconds: reminder.leadSeconds });
  }
}

let table: LocalTable;
let sequence = 0;

beforeAll(async () => {
  table = await startDynalite('reminders-test');
});
afterAll(async () => {
  await table.close();
});

function setup() {
  const store = new DynamoDbRequestStore({ client: table.client, tableName: table.tableName });
  const marks = new DynamoDbReminderMarks({ client: table.client, tableName: table.tableName });
  const notifier = new RecordingReminders();
  const clock = new ManualClock(new Date('2024-05-14T14:52:00.000Z'));
  return {
    deps: { store, workflow: new RecordingWorkflow(), marks, notifier, clock },
    store,
    notifier,
    clock,
  };
}

/** A pending request created at 13:00 that expires at 15:00: reminders due at 14:00 and 14:50. */
async function pending(store: DynamoDbRequestStore, overrides: Partial<RequestRecord> = {}) {
  sequence += 1;
  const record = pendingRecord({
    requestId: `invoice-bot:reminded-${sequence}`,
    clientRequestId: `reminded-${sequence}`,
    createdAt: '2024-05-14T13:00:00.000Z',
    expiresAt: '2024-05-14T15:00:00.000Z',
    ...overrides,
  });
  await store.claim(record);
  return record;
}

let context: ReturnType<typeof setup>;
beforeEach(() => {
  context = setup();
});

describe('sendReminders', () => {
  it('sends a due reminder once, although the next run looks at the same due time again', async () => {
    const record = await pending(context.store);
    const first = await sendReminders(context.deps, LOOKBACK);
    expect(context.notifier.sent).toContainEqual({ requestId: record.requestId, leadSeconds: 600 });
    expect(first.sent).toBeGreaterThanOrEqual(1);

    context.clock.set(new Date('2024-05-14T14:57:00.000Z'));
    const second = await sendReminders(context.deps, LOOKBACK);
    expect(context.notifier.sent.filter((sent) => sent.requestId === record.requestId)).toHaveLength(1);
    expect(second.alreadySent).toBeGreaterThanOrEqual(1);
  });

  it('sends nothing for a request whose reminders fall outside the window or that is decided', async () => {
    const later = await pending(context.store, { expiresAt: '2024-05-14T18:00:00.000Z' });
    const decided = await pending(context.store, { status: 'APPROVED', decision: 'APPROVED' });
    await sendReminders(context.deps, LOOKBACK);
    const reminded = context.notifier.sent.map((sent) => sent.requestId);
    expect(reminded).not.toContain(later.requestId);
    expect(reminded).not.toContain(decided.requestId);
  });

  it('releases a reminder that failed, so the next run sends it', async () => {
    const record = await pending(context.store, { expiresAt: '2024-05-14T15:01:00.000Z' });
    context.notifier.failuresLeft = 100;
    const failed = await sendReminders(context.deps, LOOKBACK);
    expect(failed.failures.length).toBeGreaterThanOrEqual(1);
    expect(context.notifier.sent.map((sent) => sent.requestId)).not.toContain(record.requestId);

    context.notifier.failuresLeft = 0;
    context.clock.set(new Date('2024-05-14T14:56:00.000Z'));
    await sendReminders(context.deps, LOOKBACK);
    expect(context.notifier.sent).toContainEqual({ requestId: record.requestId, leadSeconds: 600 });
  });

  it('reads every page of pending requests', async () => {
    const many = [];
    for (let index = 0; index < 120; index += 1) {
      many.push(await pending(context.store, { expiresAt: '2024-05-14T15:02:00.000Z' }));
    }
    await sendReminders(context.deps, LOOKBACK);
    const reminded = new Set(context.notifier.sent.map((sent) => sent.requestId));
    expect(many.filter((record) => !reminded.has(record.requestId))).toEqual([]);
  });
});
