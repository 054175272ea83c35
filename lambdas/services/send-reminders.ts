/**
 * Reminds reviewers of pending requests shortly before they expire. A scheduler runs this every
 * few minutes with a window reaching back over more than one run, so a missed or failed run is
 * made up by the next; each (request, lead) is claimed before it is sent, so overlapping windows
 * and retries send each reminder once. A reminder that fails is released for the next run.
 * The run is also the sweeper: every pending request is settled first, so one whose stored votes
 * already decide it (a crash between the vote and the decision write) is decided, not reminded.
 */
import { dueReminders, type ReminderWindow } from '../domain/messages/reminders.ts';
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

export type ReminderOutcome =
  | { readonly kind: 'sent' | 'alreadySent' }
  | { readonly kind: 'failed'; readonly error: unknown };

/** Claims a reminder, sends it, and releases the claim when sending fails (a later run retries it). */
export async function sendClaimed(steps: {
  readonly claim: () => Promise<boolean>;
  readonly send: () => Promise<void>;
  readonly release: () => Promise<void>;
}): Promise<ReminderOutcome> {
  if (!(await steps.claim())) return { kind: 'alreadySent' };
  try {
    await steps.send();
    return { kind: 'sent' };
  } catch (error) {
    await steps.release();
    return { kind: 'failed', error };
  }
}

/** The counts of a run's outcomes, and why the failed ones failed. */
export function countOutcomes(outcomes: readonly ReminderOutcome[]) {
  const count = (kind: ReminderOutcome['kind']) => outcomes.filter((outcome) => outcome.kind === kind).length;
  return {
    sent: count('sent'),
    alreadySent: count('alreadySent'),
    failures: outcomes.flatMap((outcome) => (outcome.kind === 'failed' ? [outcome.error] : [])),
  };
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
    dueReminders(records, window, leads).map((reminder) => {
      const record = byId.get(reminder.requestId)!;
      return sendClaimed({
        claim: () => deps.marks.claim(record.requestId, reminder.leadSeconds, deps.clock.now()),
        send: () => deps.notifier.remind(record, reminder),
        release: () => deps.marks.release(record.requestId, reminder.leadSeconds),
      });
    }),
  );
  return { pending: records.length, settled: swept.length - records.length, ...countOutcomes(outcomes) };
}
