/**
 * ReviewAlerts in Slack and Teams: the alert is posted once per channel (where it was posted is
 * kept beside the review, so a retried alert posts nothing twice) and updated in place when the
 * review closes. Reminders are threaded under the Slack alert; an escalation is posted anew to
 * the channel (Slack, with `@here`) and the conversation (Teams), for everyone to see.
 */
import type { DueReviewReminder, Review } from '../domain/after-the-fact-review.ts';
import {
  slackReviewAlert,
  slackReviewReminder,
  teamsReviewAlertActivity,
} from '../domain/messages/review-alert.ts';
import { settleAll } from '../domain/settle-all.ts';
import type { ChatMessageRefs, ReviewAlerts } from '../ports/index.ts';
import type { SlackTarget, TeamsTarget } from './chat-review-notifier.ts';

export interface ChatReviewAlertsOptions {
  /** Where each review's alert was posted (kept beside the review). */
  readonly refs: ChatMessageRefs;
  readonly consoleUrl: string;
  /** @default undefined: Slack not configured */
  readonly slack?: SlackTarget;
  /** @default undefined: Teams not configured */
  readonly teams?: TeamsTarget;
}

export class ChatReviewAlerts implements ReviewAlerts {
  readonly #options: ChatReviewAlertsOptions;

  constructor(options: ChatReviewAlertsOptions) {
    this.#options = options;
  }

  async alert(review: Review): Promise<void> {
    await settleAll([this.#postSlack(review), this.#postTeams(review)]);
  }

  async update(review: Review): Promise<void> {
    await settleAll([this.#updateSlack(review), this.#updateTeams(review)]);
  }

  async remind(review: Review, reminder: DueReviewReminder): Promise<void> {
    await settleAll([this.#remindSlack(review, reminder), this.#escalateTeams(review, reminder)]);
  }

  async #postSlack(review: Review): Promise<void> {
    const { slack, refs, consoleUrl } = this.#options;
    if (slack === undefined || (await refs.get(review.reviewId, 'slack')) !== undefined) return;
    const posted = await (await slack.api()).postMessage(slack.channel, slackReviewAlert(review, consoleUrl));
    await refs.save(review.reviewId, {
      channel: 'slack',
      conversationId: posted.channel,
      messageId: posted.ts,
    });
  }

  async #postTeams(review: Review): Promise<void> {
    const { teams, refs, consoleUrl } = this.#options;
    if (teams === undefined || (await refs.get(review.reviewId, 'teams')) !== undefined) return;
    const id = await teams.connector.sendToConversation(
      teams.serviceUrl,
      teams.conversationId,
      teamsReviewAlertActivity(review, consoleUrl),
    );
    await refs.save(review.reviewId, {
      channel: 'teams',
      conversationId: teams.conversationId,
      messageId: id,
      serviceUrl: teams.serviceUrl,
    });
  }

  async #updateSlack(review: Review): Promise<void> {
    const { slack, refs, consoleUrl } = this.#options;
    const ref = slack === undefined ? undefined : await refs.get(review.reviewId, 'slack');
    if (slack === undefined || ref === undefined) return;
    await (await slack.api()).updateMessage(
      ref.conversationId,
      ref.messageId,
      slackReviewAlert(review, consoleUrl),
    );
  }

  async #updateTeams(review: Review): Promise<void> {
    const { teams, refs, consoleUrl } = this.#options;
    const ref = teams === undefined ? undefined : await refs.get(review.reviewId, 'teams');
    if (teams === undefined || ref === undefined) return;
    await teams.connector.updateActivity(
      ref.serviceUrl ?? teams.serviceUrl,
      ref.conversationId,
      ref.messageId,
      teamsReviewAlertActivity(review, consoleUrl),
    );
  }

  async #remindSlack(review: Review, reminder: DueReviewReminder): Promise<void> {
    const { slack, refs, consoleUrl } = this.#options;
    if (slack === undefined) return;
    const ref = await refs.get(review.reviewId, 'slack');
    const message = slackReviewReminder(review, reminder, consoleUrl);
    const api = await slack.api();
    // An escalation goes to the channel itself; a reminder under the alert (or alone, if it was never posted).
    if (reminder.escalation || ref === undefined)
      await api.postMessage(ref?.conversationId ?? slack.channel, message);
    else await api.postMessage(ref.conversationId, message, ref.messageId);
  }

  async #escalateTeams(review: Review, reminder: DueReviewReminder): Promise<void> {
    const { teams, consoleUrl } = this.#options;
    if (teams === undefined || !reminder.escalation) return;
    await teams.connector.sendToConversation(
      teams.serviceUrl,
      teams.conversationId,
      teamsReviewAlertActivity(review, consoleUrl, `Escalation: not reviewed since ${review.openedAt}`),
    );
  }
}
