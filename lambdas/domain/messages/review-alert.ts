/**
 * The alert of an after-the-fact review in Slack and Teams: who called what on which resource (or
 * which agent broke the glass, and why), what the policies say, who reviews it and how it ended;
 * while it is open, the controls that close it right there (Acknowledge, which asks for a reason,
 * and Escalate) beside a link to the console; and its reminders and escalations. Everything that
 * came from CloudTrail, an agent or a reviewer is escaped. Pure.
 */
import { type DueReviewReminder, type Review, ReviewKind, ReviewStatus } from '../after-the-fact-review.ts';
import type { ChannelValue } from '../schemas.ts';
import { visibleText } from './review-facts.ts';
import {
  escapeMrkdwn,
  type SlackBlock,
  type SlackMessage,
  type SlackModal,
  slackModal,
} from './slack-review.ts';
import {
  ADAPTIVE_CARD_CONTENT_TYPE,
  type AdaptiveCard,
  type CardElement,
  escapeMarkdown,
  executeAction,
} from './teams-review.ts';

/** Identifiers Slack echoes back in a review alert's interaction payloads. */
export const SLACK_REVIEW_IDS = {
  acknowledgeAction: 'countersign_review_acknowledge',
  escalateAction: 'countersign_review_escalate',
  consoleAction: 'countersign_review_console',
  actionsBlock: 'countersign_review_actions',
  acknowledgeModal: 'countersign_review_acknowledge_reason',
  reasonBlock: 'countersign_review_reason',
  reasonInput: 'reason',
} as const;

/** The Teams `Action.Execute` verbs that close a review, and the id of its reason input. */
export const TEAMS_REVIEW_VERBS = { acknowledge: 'acknowledge', escalate: 'escalate' } as const;
export const TEAMS_REVIEW_INPUTS = { reason: 'reason' } as const;

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

const CHANNEL_NAME: Readonly<Record<ChannelValue, string>> = {
  api: 'the API',
  console: 'the console',
  slack: 'Slack',
  teams: 'Teams',
};

/** Open: who may close it. Closed: who closed it, how, where and why. */
function statusOf(review: Review): string {
  if (review.status === ReviewStatus.open) {
    return `After-the-fact review open: ${review.groups.join(' or ')} acknowledge it (with a reason) or escalate it, here or in the console.`;
  }
  const by = review.closedBy === undefined ? '' : ` by ${review.closedBy}`;
  const where = review.channel === undefined ? '' : ` in ${CHANNEL_NAME[review.channel]}`;
  const reason = review.reason === undefined ? '' : `: ${visibleText(review.reason)}`;
  return `${CLOSED_VERB[review.status]}${by}${where}${reason}`;
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

/** Open: Acknowledge, Escalate and the console. Closed: the console only, the controls are gone. */
function slackActions(facts: ReviewAlertFacts): SlackBlock {
  const console = {
    type: 'button',
    action_id: SLACK_REVIEW_IDS.consoleAction,
    text: plain(facts.open ? 'Review in console' : 'Open in console'),
    url: facts.consoleLink,
  };
  const controls = [
    {
      type: 'button',
      action_id: SLACK_REVIEW_IDS.acknowledgeAction,
      style: 'primary',
      text: plain('Acknowledge'),
      value: facts.reviewId,
    },
    {
      type: 'button',
      action_id: SLACK_REVIEW_IDS.escalateAction,
      style: 'danger',
      text: plain('Escalate'),
      value: facts.reviewId,
    },
  ];
  return {
    type: 'actions',
    block_id: SLACK_REVIEW_IDS.actionsBlock,
    elements: facts.open ? [...controls, console] : [console],
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

/** Acknowledging requires a reason: the input is not optional, so Slack will not submit it empty. */
export function slackAcknowledgeModal(
  review: Review,
  privateMetadata: string,
  consoleUrl: string,
): SlackModal {
  const facts = reviewAlertFacts(review, consoleUrl);
  return slackModal(SLACK_REVIEW_IDS.acknowledgeModal, 'Acknowledge review', 'Acknowledge', privateMetadata, [
    // The title names the agent and the action only: ids and action names Countersign checked.
    section(`Acknowledge *${escapeMrkdwn(facts.title)}*?`),
    {
      type: 'input',
      block_id: SLACK_REVIEW_IDS.reasonBlock,
      label: plain('Reason (recorded with the review)'),
      element: {
        type: 'plain_text_input',
        action_id: SLACK_REVIEW_IDS.reasonInput,
        multiline: true,
        min_length: 1,
        max_length: 2000,
      },
    },
  ]);
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

/**
 * The alert as a Teams Adaptive Card: while open, a reason input with Acknowledge and Escalate
 * (Universal Actions, answered with the refreshed card) beside the console; once closed, the outcome
 * and the console only.
 */
export function teamsReviewAlertCard(review: Review, consoleUrl: string, headline?: string): AdaptiveCard {
  const facts = reviewAlertFacts(review, consoleUrl);
  const openConsole = {
    type: 'Action.OpenUrl',
    title: facts.open ? 'Review in console' : 'Open in console',
    url: facts.consoleLink,
  };
  const reason = {
    type: 'Input.Text',
    id: TEAMS_REVIEW_INPUTS.reason,
    label: 'Reason (required to acknowledge)',
    isMultiline: true,
    maxLength: 2000,
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
      ...(facts.open ? [reason] : []),
    ],
    actions: facts.open
      ? [
          executeAction(TEAMS_REVIEW_VERBS.acknowledge, 'Acknowledge', 'positive', {
            reviewId: facts.reviewId,
          }),
          executeAction(TEAMS_REVIEW_VERBS.escalate, 'Escalate', 'destructive', { reviewId: facts.reviewId }),
          openConsole,
        ]
      : [openConsole],
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
