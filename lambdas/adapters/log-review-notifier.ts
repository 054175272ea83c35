/**
 * A ReviewNotifier that only writes a structured log line: what the deployed stack uses until a
 * chat channel is configured, so a pending review is visible in the logs and the console. The line
 * names the request, the action and who may review it; never the justification, the parameters or
 * people, which may carry personal data.
 */
import type { DueReviewReminder, Review } from '../domain/after-the-fact-review.ts';
import type { DueReminder } from '../domain/messages/reminders.ts';
import type { RequestRecord } from '../domain/schemas.ts';
import type { ReviewAlerts, ReviewNotifier, ReviewReminders } from '../ports/index.ts';

/** The subset of a structured logger this notifier needs (Powertools Logger satisfies it). */
export interface StructuredLog {
  info(message: string, attributes: Record<string, unknown>): void;
}

export class LogReviewNotifier implements ReviewNotifier, ReviewReminders {
  readonly #log: StructuredLog;

  constructor(log: StructuredLog) {
    this.#log = log;
  }

  async requestReview(record: RequestRecord): Promise<void> {
    this.#log.info('review requested', summarize(record));
  }

  async updateReview(record: RequestRecord): Promise<void> {
    this.#log.info('review updated', summarize(record));
  }

  async remind(record: RequestRecord, reminder: DueReminder): Promise<void> {
    this.#log.info('review reminder', { ...summarize(record), reminderLeadSeconds: reminder.leadSeconds });
  }
}

/**
 * ReviewAlerts as structured log lines, until a chat channel is configured: which review, of what
 * kind, in which state and for whom; never the agent's reason or the reviewer's.
 */
export class LogReviewAlerts implements ReviewAlerts {
  readonly #log: StructuredLog;

  constructor(log: StructuredLog) {
    this.#log = log;
  }

  async alert(review: Review): Promise<void> {
    this.#log.info('after-the-fact review opened', summarizeReview(review));
  }

  async update(review: Review): Promise<void> {
    this.#log.info('after-the-fact review updated', summarizeReview(review));
  }

  async remind(review: Review, reminder: DueReviewReminder): Promise<void> {
    this.#log.info(
      reminder.escalation ? 'after-the-fact review escalated' : 'after-the-fact review reminder',
      {
        ...summarizeReview(review),
        step: reminder.step,
      },
    );
  }
}

function summarizeReview(review: Review): Record<string, unknown> {
  return {
    reviewId: review.reviewId,
    kind: review.kind,
    status: review.status,
    agentId: review.subject.agentId,
    action: review.subject.action,
    reviewerGroups: review.groups,
  };
}

function summarize(record: RequestRecord): Record<string, unknown> {
  return {
    requestId: record.requestId,
    status: record.status,
    action: record.action,
    approverGroups: record.policy.groups,
    quorum: record.policy.quorum,
    votes: record.votes.length,
    expiresAt: record.expiresAt,
  };
}
