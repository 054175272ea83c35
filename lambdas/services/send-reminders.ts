/**
 * Reminds reviewers of pending requests shortly before they expire. A scheduler runs this every
 * few minutes with a window reaching back over more than one run, so a missed or failed run is
 * made up by the next; each (request, lead) is claimed before it is sent, so overlapping windows
 * and retries send each reminder once. A reminder that fails is released for the next run.
 * The run is also the sweeper: every pending request is settled first, so one whose stored votes
 * already decide it (a crash between the vote and the decision write) is decided, not reminded.
 */
import { type DueReminder, dueReminders, type ReminderWindow } from '../domain/messages/reminders.ts';
import { type RequestRecord, RequestStatus } from '../domain/schemas.ts';
import type { Clock, ReminderMarks, RequestStore, ReviewReminders, Workflow } from '../ports/index.ts';
import { settleVotes } from './settle-votes.ts';

export interface SendRemindersDeps {
  readonly store: RequestStore;
  readonly workflow: Workflow;
  readonly marks: ReminderMarks;
  readonly notifier: ReviewReminders;
  readonly clock: Clock;
}

export interface SendRemindersResult {
  readonly pending: number;
  /** Pending requests this run decided by their stored votes. */
  readonly settled: number;
  readonly sent: number;
  /** Already sent by an earlier, overlapping run. */
  readonly alreadySent: number;
  /** Why each failed reminder failed (released for the next run). */
  readonly failures: readonly unknown[];
}

const PAGE_SIZE = 100;

async function pendingRequests(store: SendRemindersDeps['store']): Promise<RequestRecord[]> {
  const records: RequestRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list({ status: RequestStatus.pending, limit: PAGE_SIZE, cursor });
    records.push(...page.items);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return records;
}

type Outcome =
  | { readonly kind: 'sent' | 'alreadySent' }
  | { readonly kind: 'failed'; readonly error: unknown };

async function sendOnce(
  deps: SendRemindersDeps,
  record: RequestRecord,
  reminder: DueReminder,
): Promise<Outcome> {
  if (!(await deps.marks.claim(record.requestId, reminder.leadSeconds, deps.clock.now()))) {
    return { kind: 'alreadySent' };
  }
  try {
    await deps.notifier.remind(record, reminder);
    return { kind: 'sent' };
  } catch (error) {
    await deps.marks.release(record.requestId, reminder.leadSeconds);
    return { kind: 'failed', error };
  }
}

/**
 * Sends the reminders whose due time falls in the last `lookbackSeconds` (see dueReminders), at
 * most once each.
 */
export async function sendReminders(
  deps: SendRemindersDeps,
  lookbackSeconds: number,
  leads?: readonly number[],
): Promise<SendRemindersResult> {
  const upTo = deps.clock.now();
  const window: ReminderWindow = { after: new Date(upTo.getTime() - lookbackSeconds * 1000), upTo };
  const swept = await Promise.all(
    (await pendingRequests(deps.store)).map((record) => settleVotes(deps, record)),
  );
  const records = swept.filter((settled) => !settled.decided).map((settled) => settled.record);
  const byId = new Map(records.map((record) => [record.requestId, record]));
  const outcomes = await Promise.all(
    dueReminders(records, window, leads).map((reminder) =>
      sendOnce(deps, byId.get(reminder.requestId)!, reminder),
    ),
  );
  const count = (kind: Outcome['kind']) => outcomes.filter((outcome) => outcome.kind === kind).length;
  return {
    pending: records.length,
    settled: swept.length - records.length,
    sent: count('sent'),
    alreadySent: count('alreadySent'),
    failures: outcomes.flatMap((outcome) => (outcome.kind === 'failed' ? [outcome.error] : [])),
  };
}
