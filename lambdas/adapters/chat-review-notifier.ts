/**
 * A ReviewNotifier that posts the review to Slack and Teams and updates it in place. Where each
 * review was posted is kept in ChatMessageRefs, so a retried `requestReview` does not post twice and
 * every later vote edits the same message (the first ask of a request skips that lookup: there is
 * nothing to find). Once decided, the human the agent acts for gets a Slack
 * DM, sent at most once (the DM marker is claimed before sending).
 */
import type { DueReminder } from '../domain/messages/reminders.ts';
import { slackDecisionDm, slackReminder, slackReviewMessage } from '../domain/messages/slack-review.ts';
import { teamsReviewActivity } from '../domain/messages/teams-review.ts';
import { type RequestRecord, RequestStatus } from '../domain/schemas.ts';
import { settleAll } from '../domain/settle-all.ts';
import type { ChatMessageRefs, Directory, ReviewNotifier } from '../ports/index.ts';
import type { SlackApi } from './slack/slack-api.ts';
import type { BotConnectorClient } from './teams/bot-connector.ts';

export interface SlackTarget {
  /** The Slack API for the current bot token. */
  readonly api: () => Promise<SlackApi>;
  /** Channel id the reviews go to. */
  readonly channel: string;
}

export interface TeamsTarget {
  readonly connector: BotConnectorClient;
  readonly serviceUrl: string;
  readonly conversationId: string;
}

export interface ChatReviewNotifierOptions {
  readonly refs: ChatMessageRefs;
  readonly directory: Directory;
  readonly consoleUrl: string;
  /** @default undefined: Slack not configured */
  readonly slack?: SlackTarget;
  /** @default undefined: Teams not configured */
  readonly teams?: TeamsTarget;
}

export class ChatReviewNotifier implements ReviewNotifier {
  readonly #options: ChatReviewNotifierOptions;

  constructor(options: ChatReviewNotifierOptions) {
    this.#options = options;
  }

  async requestReview(record: RequestRecord, options: { readonly firstAsk?: boolean } = {}): Promise<void> {
    const firstAsk = options.firstAsk === true;
    await settleAll([this.#postSlack(record, firstAsk), this.#postTeams(record, firstAsk)]);
  }

  /** Whether the review was posted to `channel` before (by an earlier, failed or concurrent, call). */
  async #posted(record: RequestRecord, channel: 'slack' | 'teams', firstAsk: boolean): Promise<boolean> {
    return !firstAsk && (await this.#options.refs.get(record.requestId, channel)) !== undefined;
  }

  async updateReview(record: RequestRecord): Promise<void> {
    await settleAll([this.#updateSlack(record), this.#updateTeams(record), this.#notifyRequester(record)]);
  }

  /** A threaded reminder under the Slack review (Teams shows the card's expiry instead). */
  async remind(record: RequestRecord, reminder: DueReminder): Promise<void> {
    const { slack, refs, consoleUrl } = this.#options;
    if (slack === undefined) return;
    const ref = await refs.get(record.requestId, 'slack');
    if (ref === undefined) return;
    await (await slack.api()).postMessage(
      ref.conversationId,
      slackReminder(record, reminder, consoleUrl),
      ref.messageId,
    );
  }

  async #postSlack(record: RequestRecord, firstAsk: boolean): Promise<void> {
    const { slack, refs, consoleUrl } = this.#options;
    if (slack === undefined || (await this.#posted(record, 'slack', firstAsk))) return;
    const posted = await (await slack.api()).postMessage(
      slack.channel,
      slackReviewMessage(record, consoleUrl),
    );
    await refs.save(record.requestId, {
      channel: 'slack',
      conversationId: posted.channel,
      messageId: posted.ts,
    });
  }

  async #postTeams(record: RequestRecord, firstAsk: boolean): Promise<void> {
    const { teams, refs, consoleUrl } = this.#options;
    if (teams === undefined || (await this.#posted(record, 'teams', firstAsk))) return;
    const activity = teamsReviewActivity(record, consoleUrl);
    const id = await teams.connector.sendToConversation(teams.serviceUrl, teams.conversationId, activity);
    await refs.save(record.requestId, {
      channel: 'teams',
      conversationId: teams.conversationId,
      messageId: id,
      serviceUrl: teams.serviceUrl,
    });
  }

  async #updateSlack(record: RequestRecord): Promise<void> {
    const { slack, refs, consoleUrl } = this.#options;
    if (slack === undefined) return;
    const ref = await refs.get(record.requestId, 'slack');
    if (ref === undefined) return;
    await (await slack.api()).updateMessage(
      ref.conversationId,
      ref.messageId,
      slackReviewMessage(record, consoleUrl),
    );
  }

  async #updateTeams(record: RequestRecord): Promise<void> {
    const { teams, refs, consoleUrl } = this.#options;
    if (teams === undefined) return;
    const ref = await refs.get(record.requestId, 'teams');
    if (ref === undefined) return;
    await teams.connector.updateActivity(
      ref.serviceUrl ?? teams.serviceUrl,
      ref.conversationId,
      ref.messageId,
      teamsReviewActivity(record, consoleUrl),
    );
  }

  /** DMs the human behind the agent once the request is decided; found by directory email. */
  async #notifyRequester(record: RequestRecord): Promise<void> {
    const { slack, refs, directory, consoleUrl } = this.#options;
    const owner = record.agent.onBehalfOf;
    if (slack === undefined || owner === undefined || record.status === RequestStatus.pending) return;
    const person = await directory.resolve({ kind: 'id', value: owner });
    if (person?.email === undefined) return;
    const api = await slack.api();
    const userId = await api.userIdByEmail(person.email);
    if (userId === undefined) return;
    const dm = await api.openDirectMessage(userId);
    const claim = await refs.save(record.requestId, {
      channel: 'slack-dm',
      conversationId: dm,
      messageId: '',
    });
    if (!claim.created) return;
    await api.postMessage(dm, slackDecisionDm(record, consoleUrl));
  }
}
