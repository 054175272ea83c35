/**
 * The Teams review as an Adaptive Card 1.5 with Universal Actions (`Action.Execute`, verbs
 * approve / deny, each with an `Action.Submit` fallback for clients without 1.4), and the
 * invoke-response bodies the bot answers `adaptiveCard/action` with. Agent-written text is
 * markdown-escaped so it cannot render links or formatting.
 */

import type { ClassificationLevel } from '../classification.ts';
import type { RequestRecord } from '../schemas.ts';
import {
  type ClassificationFacts,
  INCOMPLETE_REVIEW_NOTICE,
  type ListedEntries,
  type ReviewFacts,
  reviewFacts,
} from './review-facts.ts';

export const TEAMS_VERBS = { approve: 'approve', deny: 'deny' } as const;
export const TEAMS_INPUTS = { reason: 'reason', confirmResource: 'confirmResource' } as const;
export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';
const ERROR_CONTENT_TYPE = 'application/vnd.microsoft.error';
const MESSAGE_CONTENT_TYPE = 'application/vnd.microsoft.activity.message';

export type CardElement = Readonly<Record<string, unknown>>;
export interface AdaptiveCard {
  readonly type: 'AdaptiveCard';
  readonly $schema: string;
  readonly version: '1.5';
  readonly body: readonly CardElement[];
  readonly actions: readonly CardElement[];
}

export type InvokeResponse =
  | {
      readonly statusCode: 200;
      readonly type: typeof ADAPTIVE_CARD_CONTENT_TYPE;
      readonly value: AdaptiveCard;
    }
  | { readonly statusCode: 200; readonly type: typeof MESSAGE_CONTENT_TYPE; readonly value: string }
  | {
      readonly statusCode: number;
      readonly type: typeof ERROR_CONTENT_TYPE;
      readonly value: { readonly code: string; readonly message: string };
    };

/**
 * Escapes only what the Adaptive Card markdown subset acts on, so untrusted text shows as written:
 * emphasis (`*`, `_`), links (`[` `]`), mention and HTML-like tags (`<` `>`), the escape character
 * itself, and list markers at the start of a line (`- `, `+ `, `* `, `1. `). Nothing else: a hyphen
 * inside a word (`invoice-bot`) stays as it is, since several Teams clients show escapes literally.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\\*_[\]<>]/g, (character) => `\\${character}`)
    .replace(/^(\s*)([-+])(?=\s)/gm, '$1\\$2')
    .replace(/^(\s*\d+)([.)])(?=\s)/gm, '$1\\$2');
}

/** Adaptive Card date functions want RFC 3339 without fractional seconds. */
function cardDate(iso: string): string {
  const plain = iso.replace(/\.\d+Z$/, 'Z');
  return `{{DATE(${plain}, SHORT)}} {{TIME(${plain})}}`;
}

const text = (value: string, extra: CardElement = {}): CardElement => ({
  type: 'TextBlock',
  text: value,
  wrap: true,
  ...extra,
});
const factSet = (facts: ReadonlyArray<readonly [string, string]>): CardElement => ({
  type: 'FactSet',
  facts: facts.map(([title, value]) => ({ title, value })),
});

function listed(title: string, entries: ListedEntries): CardElement[] {
  const more: Array<readonly [string, string]> =
    entries.omitted > 0 ? [['…', `and ${entries.omitted} more (in the console)`]] : [];
  const facts = entries.entries.map(([key, value]) => [escapeMarkdown(key), escapeMarkdown(value)] as const);
  return [text(title, { weight: 'Bolder', spacing: 'Medium' }), factSet([...facts, ...more])];
}

/** Adaptive Card text colours by how alarming the data is. */
const LEVEL_COLOR: Readonly<Record<ClassificationLevel, string>> = {
  high: 'Attention',
  medium: 'Warning',
  low: 'Accent',
  none: 'Good',
};

function classificationElements(classification: ClassificationFacts): CardElement[] {
  return [
    text('Data classification', { weight: 'Bolder', spacing: 'Medium' }),
    text(escapeMarkdown(classification.summary), {
      weight: 'Bolder',
      color: LEVEL_COLOR[classification.level],
    }),
    factSet([
      ...(classification.types.length > 0
        ? [['Types', escapeMarkdown(classification.types.join(', '))] as const]
        : []),
      ...(classification.subject === undefined
        ? []
        : [['Of', escapeMarkdown(classification.subject)] as const]),
    ]),
  ];
}

function summary(facts: ReviewFacts): CardElement[] {
  const agent =
    facts.onBehalfOf === undefined
      ? escapeMarkdown(facts.agent)
      : `${escapeMarkdown(facts.agent)} on behalf of ${escapeMarkdown(facts.onBehalfOf)}`;
  return [
    text(escapeMarkdown(facts.title), { size: 'Medium', weight: 'Bolder' }),
    factSet([
      ['Agent', agent],
      ['Action', escapeMarkdown(facts.action)],
      ['Resource', escapeMarkdown(facts.resourceArn)],
      ['Policy', escapeMarkdown(facts.policy)],
      ['Quorum', `${escapeMarkdown(facts.quorum)}${facts.stepUp ? ' (step-up confirmation)' : ''}`],
      ...(facts.expiresAt === undefined ? [] : [['Expires', cardDate(facts.expiresAt)] as const]),
    ]),
    text('Justification', { weight: 'Bolder', spacing: 'Medium' }),
    text(escapeMarkdown(facts.justification)),
    ...(facts.parameters.entries.length > 0 ? listed('Parameters', facts.parameters) : []),
    ...(facts.classification === undefined ? [] : classificationElements(facts.classification)),
    ...(facts.complete ? [] : [text(INCOMPLETE_REVIEW_NOTICE, { weight: 'Bolder', color: 'Attention' })]),
  ];
}

function status(facts: ReviewFacts): CardElement[] {
  const votes = facts.votes.map(({ voterId, vote, reason }) =>
    text(
      `${vote === 'approve' ? '✅' : '⛔'} ${escapeMarkdown(voterId)} ${vote === 'approve' ? 'approved' : 'denied'}${reason === undefined ? '' : `: ${escapeMarkdown(reason)}`}`,
      { spacing: 'None' },
    ),
  );
  const headline =
    facts.outcome === undefined
      ? text(`Progress: ${facts.progress}`, { weight: 'Bolder', spacing: 'Medium' })
      : text(escapeMarkdown(facts.outcome), {
          weight: 'Bolder',
          spacing: 'Medium',
          color: facts.outcome.startsWith('Approved') ? 'Good' : 'Attention',
        });
  return [headline, ...votes];
}

/**
 * A Universal Action (`Action.Execute`, answered by the bot with a refreshed card) carrying the card's
 * inputs and `data`, with an `Action.Submit` fallback for clients without Adaptive Cards 1.4.
 */
export function executeAction(
  verb: string,
  title: string,
  style: string,
  data: Readonly<Record<string, string>>,
): CardElement {
  const withVerb = { ...data, verb };
  return {
    type: 'Action.Execute',
    verb,
    title,
    style,
    data: withVerb,
    associatedInputs: 'auto',
    fallback: { type: 'Action.Submit', title, data: withVerb },
  };
}

function voteAction(facts: ReviewFacts, verb: string, title: string, style: string): CardElement {
  return executeAction(verb, title, style, { requestId: facts.requestId });
}

function inputs(facts: ReviewFacts): CardElement[] {
  const reason = {
    type: 'Input.Text',
    id: TEAMS_INPUTS.reason,
    label: 'Reason (required to deny)',
    isMultiline: true,
    maxLength: 2000,
  };
  const confirm = {
    type: 'Input.Text',
    id: TEAMS_INPUTS.confirmResource,
    label: `To approve, type the resource name: ${escapeMarkdown(facts.resourceName)}`,
  };
  return facts.stepUp ? [reason, confirm] : [reason];
}

/** The card as posted and as updated: once decided, the inputs and vote actions are gone. */
export function teamsReviewCard(record: RequestRecord, consoleUrl: string): AdaptiveCard {
  const facts = reviewFacts(record, consoleUrl);
  const openConsole = { type: 'Action.OpenUrl', title: 'Open in console', url: facts.consoleLink };
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    // Decided, or too much to show: no inputs, and the console is the only way on.
    body: [...summary(facts), ...status(facts), ...(facts.decided || !facts.complete ? [] : inputs(facts))],
    actions:
      facts.decided || !facts.complete
        ? [openConsole]
        : [
            voteAction(facts, TEAMS_VERBS.approve, 'Approve', 'positive'),
            voteAction(facts, TEAMS_VERBS.deny, 'Deny', 'destructive'),
            openConsole,
          ],
  };
}

/** The message activity that carries the card to the conversation (proactive post or update). */
export function teamsReviewActivity(record: RequestRecord, consoleUrl: string) {
  const card = teamsReviewCard(record, consoleUrl);
  return {
    type: 'message',
    summary: `${record.agent.id} asks to run ${record.action}`,
    attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, content: card }],
  } as const;
}

export function teamsCardResponse(card: AdaptiveCard): InvokeResponse {
  return { statusCode: 200, type: ADAPTIVE_CARD_CONTENT_TYPE, value: card };
}

export function teamsMessageResponse(message: string): InvokeResponse {
  return { statusCode: 200, type: MESSAGE_CONTENT_TYPE, value: message };
}

export function teamsErrorResponse(statusCode: number, code: string, message: string): InvokeResponse {
  return { statusCode, type: ERROR_CONTENT_TYPE, value: { code, message } };
}
