/**
 * Which reminders are due. A scheduler calls this every few minutes with the window since its
 * previous run; a reminder is due when `expiresAt - lead` falls inside that window, so each
 * reminder is sent by exactly one run without keeping any state. Pure.
 */
import { PolicyOutcome, type RequestRecord, RequestStatus } from '../schemas.ts';

/** One hour and ten minutes before expiry. */
export const DEFAULT_REMINDER_LEADS_SECONDS = [3600, 600] as const;

export interface ReminderWindow {
  /** Exclusive: the end of the previous run's window. */
  readonly after: Date;
  /** Inclusive: now. */
  readonly upTo: Date;
}

export interface DueReminder {
  readonly requestId: string;
  readonly leadSeconds: number;
  readonly dueAt: string;
  readonly expiresAt: string;
}

function remindersFor(
  record: RequestRecord,
  window: ReminderWindow,
  leads: readonly number[],
): DueReminder[] {
  const { expiresAt } = record;
  if (record.status !== RequestStatus.pending || record.policy.decision !== PolicyOutcome.requireApproval)
    return [];
  if (expiresAt === undefined) return [];
  const expiry = Date.parse(expiresAt);
  const created = Date.parse(record.createdAt);
  return leads
    .map((leadSeconds) => ({ leadSeconds, due: expiry - leadSeconds * 1000 }))
    .filter(({ due }) => due > created && due > window.after.getTime() && due <= window.upTo.getTime())
    .map(({ leadSeconds, due }) => ({
      requestId: record.requestId,
      leadSeconds,
      dueAt: new Date(due).toISOString(),
      expiresAt,
    }));
}

/** At most one reminder per request per run: the most urgent one, when several fall in the window. */
export function dueReminders(
  records: readonly RequestRecord[],
  window: ReminderWindow,
  leads: readonly number[] = DEFAULT_REMINDER_LEADS_SECONDS,
): DueReminder[] {
  return records.flatMap((record) => {
    const due = remindersFor(record, window, leads).sort((a, b) => a.leadSeconds - b.leadSeconds);
    return due.slice(0, 1);
  });
}
