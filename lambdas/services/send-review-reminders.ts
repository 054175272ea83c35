/**
 * Reminds reviewers of open after-the-fact reviews, then escalates them, until they are closed
 * (see dueReviewReminders). Run by the same scheduled function as the request reminders, with the
 * same window and the same claim-before-send marks, so each step is sent once.
 */
import { dueReviewReminders, type Review } from '../domain/after-the-fact-review.ts';
import type { ReminderWindow } from '../domain/messages/reminders.ts';
import type { Clock, ReviewAlerts, ReviewStore } from '../ports/index.ts';
import { countOutcomes, type SendRemindersResult, sendClaimed } from './send-reminders.ts';

export interface SendReviewRemindersDeps {
  readonly reviews: Pick<ReviewStore, 'listOpen' | 'claimReminder' | 'releaseReminder'>;
  readonly alerts: Pick<ReviewAlerts, 'remind'>;
  readonly clock: Clock;
}

const PAGE_SIZE = 100;

async function openReviews(reviews: SendReviewRemindersDeps['reviews']): Promise<Review[]> {
  const open: Review[] = [];
  let cursor: string | undefined;
  do {
    const page = await reviews.listOpen({ limit: PAGE_SIZE, cursor });
    open.push(...page.items);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return open;
}

/** Sends the review reminders and escalations due in the last `lookbackSeconds`, each once. */
export async function sendReviewReminders(
  deps: SendReviewRemindersDeps,
  lookbackSeconds: number,
): Promise<Omit<SendRemindersResult, 'pending' | 'settled'> & { readonly open: number }> {
  const upTo = deps.clock.now();
  const window: ReminderWindow = { after: new Date(upTo.getTime() - lookbackSeconds * 1000), upTo };
  const reviews = await openReviews(deps.reviews);
  const byId = new Map(reviews.map((review) => [review.reviewId, review]));
  const outcomes = await Promise.all(
    dueReviewReminders(reviews, window).map((reminder) =>
      sendClaimed({
        claim: () => deps.reviews.claimReminder(reminder.reviewId, reminder.step, deps.clock.now()),
        send: () => deps.alerts.remind(byId.get(reminder.reviewId)!, reminder),
        release: () => deps.reviews.releaseReminder(reminder.reviewId, reminder.step),
      }),
    ),
  );
  return { open: reviews.length, ...countOutcomes(outcomes) };
}
