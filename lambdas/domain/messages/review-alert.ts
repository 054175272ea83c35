/**
 * The alert of an after-the-fact review in Slack and Teams: who called what on which resource (or
 * which agent broke the glass, and why), what the policies say, who reviews it and how it ended,
 * with a link to the console, where reviewers close it (Acknowledge with a reason, or Escalate);
 * and its reminders and escalations. Everything that came from CloudTrail or an agent is escaped. Pure.
 */
import { type DueReviewReminder, type Review, ReviewKind, ReviewStatus } from '../after-the-fact-review.ts';
import { visibleText } from './review-facts.ts';
import { escapeMrkdwn, type SlackBlock, type SlackMessage } from './slack-review.ts';
import {
  ADAPTIVE_CARD_CONTENT_TYPE,
  type AdaptiveCard,
  type CardElement,
  escapeMarkdown,
} from './teams-review.ts';

/** The identifiers of a review alert's blocks and its console button. */
export const SLACK_REVIEW_IDS = {
  consoleAction: 'countersign_review_console',
  actionsBlock: 'countersign_review_actions',
} as const;

export interface ReviewAlertFacts {
  readonly reviewId: string;
  readonly title: string;
  /** Label and value, each value as received (escaped by the channel). */
  readonly fields: ReadonlyArray<readonly [string, string]>;
  /** The agent's own words (break-glass reason): shown as written, never formatted. */
  readonly agentText?: string;
  readonly status: string;
  readonly open: boolean;
  readonly consoleLink: string;
}

const CLOSED_VERB = {
  [ReviewStatus.acknowledged]: 'Acknowledged',
  [ReviewStatus.escalated]: 'Escalated',
  [ReviewStatus.withdrawn]: 'Withdrawn',
} as const;

function statusOf(review: Review): string {
  if (review.status === ReviewStatus.open) {
    return `After-the-fact review open: ${review.groups.join(' or ')} acknowledge it (with a reason) or escalate it in the console.`;
  }
  const by = review.closedBy === undefined ? '' : ` by ${review.closedBy}`;
  const reason = review.reason === undefined ? '' : `: ${review.reason}`;
  return `${CLOSED_VERB[review.status]}${by}${reason}`;
}

function consoleLinkOf(consoleUrl: string, review: Review): string {
  const base = consoleUrl.replace(/\/+$/, '');
  const { requestId, eventId } = review.subject;
  const query =
    review.kind === ReviewKind.breakGlass && requestId !== undefined
      ? `request=${encodeURIComponent(requestId).replace(/%3A/g, ':')}`
      : `call=${encodeURIComponent(eventId ?? '')}`;
  return `${base}/?${query}`;
}

export function reviewAlertFacts(review: Review, consoleUrl: string): ReviewAlertFacts {
  const { subject } = review;
  const resource = visibleText(subject.resourceArn ?? 'unknown (not in the call’s parameters)');
  const common = {
    reviewId: review.reviewId,
    status: statusOf(review),
    open: review.status === ReviewStatus.open,
    consoleLink: consoleLinkOf(consoleUrl, review),
  };
  if (review.kind === ReviewKind.breakGlass) {
    return {
      ...common,
      title: `Break-glass: ${subject.agentId} runs ${subject.action} without waiting for approval`,
      fields: [
        ['Agent', subject.agentId],
        ['Action', subject.action],
        ['Resource', resource],
        ['Incident', visibleText(subject.breakGlass?.incident ?? 'none given')],
        ['Request', subject.requestId ?? ''],
        ['Reviewers', review.groups.join(' or ')],
      ],
      agentText: visibleText(subject.breakGlass?.reason ?? ''),
    };
  }
  return {
    ...common,
    title: `Unapproved privileged call: ${subject.agentId} called ${subject.action}`,
    fields: [
      ['Agent', subject.agentId],
      ['Principal', visibleText(subject.principalArn ?? '')],
      ['Action', subject.action],
      ['Resource', resource],
      ['When', subject.eventTime ?? ''],
      ['From', visibleText(subject.sourceIPAddress ?? 'unknown')],
      ['CloudTrail event', subject.eventId ?? ''],
      ['Policies say', subject.policy],
      ['Reviewers', review.groups.join(' or ')],
    ],
  };
}

const plain = (text: string) => ({ type: 'plain_text', text, emoji: false });
const section = (text: string): SlackBlock => ({
  type: 'section',
  text: { type: 'mrkdwn', text: text.slice(0, 2900) },
});

function slackActions(facts: ReviewAlertFacts): SlackBlock {
  return {
    type: 'actions',
    block_id: SLACK_REVIEW_IDS.actionsBlock,
    elements: [
      {
        type: 'button',
        action_id: SLACK_REVIEW_IDS.consoleAction,
        ...(facts.open ? { style: 'primary' } : {}),
        text: plain(facts.open ? 'Review in console' : 'Open in console'),
        url: facts.consoleLink,
      },
    ],
  };
}

/** The alert as posted and as updated in place when the review closes. */
export function slackReviewAlert(review: Review, consoleUrl: string): SlackMessage {
  const facts = reviewAlertFacts(review, consoleUrl);
  // Whatever came from CloudTrail or the agent is plain text: shown as written, never formatted.
  const fields = facts.fields.map(([label, value]) => plain(`${label}\n${value}`.slice(0, 2000)));
  return {
    text: `${facts.title}: ${facts.status}`,
    blocks: [
      {
        type: 'header',
        text: plain(`${review.kind === ReviewKind.breakGlass ? '⚠️' : '🚨'} ${facts.title}`.slice(0, 150)),
      },
      // Slack shows at most ten fields in a section.
      { type: 'section', fields: fields.slice(0, 10) },
      ...(facts.agentText === undefined
        ? []
        : [section('*Reason given by the agent*'), { type: 'section', text: plain(facts.agentText) }]),
      { type: 'divider' },
      section(`*${escapeMrkdwn(facts.status)}*`),
      slackActions(facts),
    ],
  };
}

/**
 * A reminder, threaded under the alert; an escalation, posted to the channel for everyone (`@here`),
 * since the people the alert asked have let it lie for a day.
 */
export function slackReviewReminder(
  review: Review,
  reminder: DueReviewReminder,
  consoleUrl: string,
): SlackMessage {
  const facts = reviewAlertFacts(review, consoleUrl);
  const since = `open since ${review.openedAt}`;
  if (!reminder.escalation) {
    return {
      text: `Reminder: ${facts.title} is still waiting for its review (${since}).`,
      blocks: [
        section(`⏰ *Reminder:* ${escapeMrkdwn(facts.title)} is still waiting for its review (${since}).`),
      ],
    };
  }
  return {
    text: `Escalation: ${facts.title} has not been reviewed (${since}).`,
    blocks: [
      section(
        `<!here> 🔺 *Escalation:* ${escapeMrkdwn(facts.title)} has not been reviewed (${since}); ${escapeMrkdwn(review.groups.join(' or '))}, please acknowledge or escalate it.`,
      ),
      slackActions(facts),
    ],
  };
}

const textBlock = (value: string, extra: CardElement = {}): CardElement => ({
  type: 'TextBlock',
  text: value,
  wrap: true,
  ...extra,
});

/** The alert as a Teams Adaptive Card, linking to the console where the review is closed. */
export function teamsReviewAlertCard(review: Review, consoleUrl: string, headline?: string): AdaptiveCard {
  const facts = reviewAlertFacts(review, consoleUrl);
  const openConsole = {
    type: 'Action.OpenUrl',
    title: facts.open ? 'Review in console' : 'Open in console',
    url: facts.consoleLink,
  };
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    body: [
      ...(headline === undefined
        ? []
        : [textBlock(escapeMarkdown(headline), { weight: 'Bolder', color: 'Attention' })]),
      textBlock(escapeMarkdown(facts.title), { size: 'Medium', weight: 'Bolder', color: 'Attention' }),
      {
        type: 'FactSet',
        facts: facts.fields.map(([title, value]) => ({ title, value: escapeMarkdown(value) })),
      },
      ...(facts.agentText === undefined
        ? []
        : [
            textBlock('Reason given by the agent', { weight: 'Bolder' }),
            textBlock(escapeMarkdown(facts.agentText)),
          ]),
      textBlock(escapeMarkdown(facts.status), { weight: 'Bolder', spacing: 'Medium' }),
    ],
    actions: [openConsole],
  };
}

/** The message activity that carries the alert card (the post, its updates, an escalation). */
export function teamsReviewAlertActivity(review: Review, consoleUrl: string, headline?: string) {
  const facts = reviewAlertFacts(review, consoleUrl);
  return {
    type: 'message',
    summary: facts.title,
    attachments: [
      {
        contentType: ADAPTIVE_CARD_CONTENT_TYPE,
        content: teamsReviewAlertCard(review, consoleUrl, headline),
      },
    ],
  } as const;
}
