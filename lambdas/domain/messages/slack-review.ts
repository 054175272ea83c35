/**
 * Block Kit for the Slack review: the message with Approve / Deny, the deny-reason and step-up
 * modals, the DM to the human behind the agent and the reminder. Everything the agent wrote is
 * escaped, so a justification cannot ping `<!channel>` or forge a link.
 */

import type { ClassificationLevel } from '../classification.ts';
import type { RequestRecord } from '../schemas.ts';
import type { DueReminder } from './reminders.ts';
import {
  type ClassificationFacts,
  INCOMPLETE_REVIEW_NOTICE,
  type ListedEntries,
  type ReviewFacts,
  reviewFacts,
} from './review-facts.ts';

/** Identifiers Slack echoes back in interaction payloads. */
export const SLACK_IDS = {
  approveAction: 'countersign_approve',
  denyAction: 'countersign_deny',
  consoleAction: 'countersign_console',
  actionsBlock: 'countersign_actions',
  denyModal: 'countersign_deny_reason',
  stepUpModal: 'countersign_step_up',
  reasonBlock: 'countersign_reason',
  reasonInput: 'reason',
  confirmBlock: 'countersign_confirm',
  confirmInput: 'resource_name',
} as const;

/** Section text is limited to 3000 characters by Slack. */
const MAX_SECTION_TEXT = 2900;

export type SlackBlock = Readonly<Record<string, unknown>>;
export interface SlackMessage {
  readonly text: string;
  readonly blocks: readonly SlackBlock[];
}
export interface SlackModal {
  readonly type: 'modal';
  readonly callback_id: string;
  readonly private_metadata: string;
  readonly title: SlackBlock;
  readonly submit: SlackBlock;
  readonly close: SlackBlock;
  readonly blocks: readonly SlackBlock[];
}

export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const plain = (text: string) => ({ type: 'plain_text', text, emoji: false });
const mrkdwn = (text: string) => ({ type: 'mrkdwn', text: text.slice(0, MAX_SECTION_TEXT) });
const section = (text: string): SlackBlock => ({ type: 'section', text: mrkdwn(text) });

function slackDate(iso: string): string {
  const epoch = Math.floor(Date.parse(iso) / 1000);
  return `<!date^${epoch}^{date_short_pretty} at {time}|${iso}>`;
}

/**
 * Keys and values as JSON inside code spans, where Slack applies no formatting (their backticks are
 * `\\u0060`, so nothing closes the span): an agent's text cannot fake emphasis, links or mentions.
 */
function listing(title: string, listed: ListedEntries): SlackBlock[] {
  // One section per entry: eight keys and values of 200 characters would not fit one section.
  const lines = listed.entries.map(([key, value]) =>
    section(`• \`${escapeMrkdwn(key)}\`: \`${escapeMrkdwn(value)}\``),
  );
  const more = listed.omitted > 0 ? [section(`…and ${listed.omitted} more (in the console)`)] : [];
  return [section(`*${title}*`), ...lines, ...more];
}

/** Slack sections have no colour of their own: a coloured mark stands for the severity. */
const LEVEL_MARK: Readonly<Record<ClassificationLevel, string>> = {
  high: '🔴',
  medium: '🟠',
  low: '🟡',
  none: '⚪',
};

function classificationBlocks(classification: ClassificationFacts): SlackBlock[] {
  const types = classification.types.length > 0 ? ` (${classification.types.join(', ')})` : '';
  const subject = classification.subject === undefined ? '' : `\nof ${classification.subject}`;
  return [
    section('*Data classification*'),
    // Plain text: the subject is the agent's (a copy's source) and must not format itself.
    {
      type: 'section',
      text: plain(`${LEVEL_MARK[classification.level]} ${classification.summary}${types}${subject}`),
    },
  ];
}

function who(facts: ReviewFacts): string {
  return facts.onBehalfOf === undefined ? facts.agent : `${facts.agent} on behalf of ${facts.onBehalfOf}`;
}

function voteLines(facts: ReviewFacts): string {
  return facts.votes
    .map(({ voterId, vote, reason }) => {
      const because = reason === undefined ? '' : ` — ${escapeMrkdwn(reason)}`;
      return `${vote === 'approve' ? '✅' : '⛔'} ${escapeMrkdwn(voterId)} ${vote === 'approve' ? 'approved' : 'denied'}${because}`;
    })
    .join('\n');
}

function contextBlocks(facts: ReviewFacts): SlackBlock[] {
  // What the agent wrote (whom it acts for, the resource) is plain text: shown as written, never formatted.
  const fields = [
    plain(`Agent\n${who(facts)}`),
    mrkdwn(`*Action*\n\`${escapeMrkdwn(facts.action)}\``),
    plain(`Resource\n${facts.resourceArn}`),
    mrkdwn(`*Policy*\n${escapeMrkdwn(facts.policy)}`),
    mrkdwn(`*Quorum*\n${escapeMrkdwn(facts.quorum)}${facts.stepUp ? ' (step-up confirmation)' : ''}`),
    ...(facts.expiresAt === undefined ? [] : [mrkdwn(`*Expires*\n${slackDate(facts.expiresAt)}`)]),
  ];
  return [
    { type: 'header', text: plain(facts.title.slice(0, 150)) },
    { type: 'section', fields },
    section('*Justification*'),
    // Plain text: Slack renders it as written, so the agent's words cannot format themselves.
    { type: 'section', text: plain(facts.justification) },
    ...(facts.parameters.entries.length > 0 ? listing('Parameters', facts.parameters) : []),
    ...(facts.classification === undefined ? [] : classificationBlocks(facts.classification)),
  ];
}

function statusBlocks(facts: ReviewFacts): SlackBlock[] {
  const votes = voteLines(facts);
  const status =
    facts.outcome === undefined ? `*Progress:* ${facts.progress}` : `*${escapeMrkdwn(facts.outcome)}*`;
  return [section(votes.length > 0 ? `${status}\n${votes}` : status)];
}

function actionBlock(facts: ReviewFacts): SlackBlock {
  const console = {
    type: 'button',
    action_id: SLACK_IDS.consoleAction,
    text: plain('Open in console'),
    url: facts.consoleLink,
  };
  // Decided, or too much to show: the console is the only way on (no vote from an incomplete view).
  if (facts.decided || !facts.complete) {
    return { type: 'actions', block_id: SLACK_IDS.actionsBlock, elements: [console] };
  }
  return {
    type: 'actions',
    block_id: SLACK_IDS.actionsBlock,
    elements: [
      {
        type: 'button',
        action_id: SLACK_IDS.approveAction,
        style: 'primary',
        text: plain('Approve'),
        value: facts.requestId,
      },
      {
        type: 'button',
        action_id: SLACK_IDS.denyAction,
        style: 'danger',
        text: plain('Deny'),
        value: facts.requestId,
      },
      console,
    ],
  };
}

/** The review as posted and as updated in place: once decided, the vote buttons are gone. */
export function slackReviewMessage(record: RequestRecord, consoleUrl: string): SlackMessage {
  const facts = reviewFacts(record, consoleUrl);
  const state = facts.outcome ?? `approval needed (${facts.progress})`;
  return {
    text: `${facts.title} on ${facts.resourceArn}: ${state}`,
    blocks: [
      ...contextBlocks(facts),
      ...(facts.complete ? [] : [section(`⚠️ *${INCOMPLETE_REVIEW_NOTICE}*`)]),
      { type: 'divider' },
      ...statusBlocks(facts),
      actionBlock(facts),
    ],
  };
}

/** A modal with one submit and a Cancel; Slack echoes `callbackId` and `privateMetadata` on submit. */
export function slackModal(
  callbackId: string,
  title: string,
  submit: string,
  privateMetadata: string,
  blocks: SlackBlock[],
) {
  return {
    type: 'modal',
    callback_id: callbackId,
    private_metadata: privateMetadata,
    title: plain(title),
    submit: plain(submit),
    close: plain('Cancel'),
    blocks,
  } as const satisfies SlackModal;
}

/** Deny requires a reason: the input is not optional, so Slack will not submit it empty. */
export function slackDenyModal(record: RequestRecord, privateMetadata: string): SlackModal {
  return slackModal(SLACK_IDS.denyModal, 'Deny request', 'Deny', privateMetadata, [
    section(`Deny *${escapeMrkdwn(record.action)}* on \`${escapeMrkdwn(record.resource.arn)}\`?`),
    {
      type: 'input',
      block_id: SLACK_IDS.reasonBlock,
      label: plain('Reason (shown to the requester)'),
      element: {
        type: 'plain_text_input',
        action_id: SLACK_IDS.reasonInput,
        multiline: true,
        min_length: 1,
        max_length: 2000,
      },
    },
  ]);
}

/** Step-up: the reviewer types the resource name, so an approval is a deliberate act. */
export function slackStepUpModal(
  record: RequestRecord,
  privateMetadata: string,
  consoleUrl: string,
): SlackModal {
  const facts = reviewFacts(record, consoleUrl);
  return slackModal(SLACK_IDS.stepUpModal, 'Confirm approval', 'Approve', privateMetadata, [
    section(
      `You are approving *${escapeMrkdwn(facts.action)}* on \`${escapeMrkdwn(facts.resourceArn)}\`.\nType *${escapeMrkdwn(facts.resourceName)}* to confirm.`,
    ),
    {
      type: 'input',
      block_id: SLACK_IDS.confirmBlock,
      label: plain('Resource name'),
      element: { type: 'plain_text_input', action_id: SLACK_IDS.confirmInput },
    },
  ]);
}

/** The direct message to the human the agent acts for, once the request is decided. */
export function slackDecisionDm(record: RequestRecord, consoleUrl: string): SlackMessage {
  const facts = reviewFacts(record, consoleUrl);
  const outcome = facts.outcome ?? facts.progress;
  const text = `Your agent ${facts.agent}'s request to run ${facts.action} on ${facts.resourceArn}: ${outcome}`;
  return {
    text,
    blocks: [
      section(
        `Your agent *${escapeMrkdwn(facts.agent)}* asked to run \`${escapeMrkdwn(facts.action)}\` on \`${escapeMrkdwn(facts.resourceArn)}\`.\n*${escapeMrkdwn(outcome)}*`,
      ),
      { type: 'context', elements: [mrkdwn(`<${facts.consoleLink}|Open in console>`)] },
    ],
  };
}

/** A threaded nudge under the review message before it expires. */
export function slackReminder(
  record: RequestRecord,
  reminder: DueReminder,
  consoleUrl: string,
): SlackMessage {
  const facts = reviewFacts(record, consoleUrl);
  return {
    text: `Reminder: ${facts.title} still needs approval (${facts.progress}); it expires ${reminder.expiresAt}.`,
    blocks: [
      section(
        `⏰ *Reminder:* ${escapeMrkdwn(facts.title)} still needs approval (${facts.progress}); it expires ${slackDate(reminder.expiresAt)}.`,
      ),
    ],
  };
}
