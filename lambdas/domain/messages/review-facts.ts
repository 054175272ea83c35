/**
 * What every review message says about a request, computed once so Slack, Teams and reminders
 * agree: who asks for whom, what on which resource, the key parameters, classification, policy,
 * quorum, progress and the outcome. Pure: channel formatting happens in the builders.
 */
import { tally } from '../approval.ts';
import {
  type ClassificationLevel,
  classificationLevel,
  describeClassification,
  type RequestClassification,
} from '../classification.ts';
import { Decision, type RequestRecord, RequestStatus } from '../schemas.ts';
import { resourceNameOf } from '../step-up.ts';

/** How many parameters / classification entries a chat message shows. */
export const MAX_LISTED_ENTRIES = 8;
/** How long a rendered key or value may be in a chat message. */
export const MAX_VALUE_LENGTH = 200;
/** The justification and the resource ARN are cut beyond this in chat (Slack sections hold 3000). */
export const MAX_TEXT_LENGTH = 1500;

/** The code of a chat approval refused because the message could not show the request in full. */
export const REVIEW_IN_CONSOLE = 'REVIEW_IN_CONSOLE';

/** Said when a chat message cannot show everything the reviewer would approve. */
export const INCOMPLETE_REVIEW_NOTICE =
  'Not everything in this request is shown here (parameters left out or cut). Review it in full in the console before voting; it cannot be approved from chat.';

export interface ListedEntries {
  /** In canonical order (by key, as RFC 8785 orders them), whatever order the agent sent. */
  readonly entries: ReadonlyArray<readonly [string, string]>;
  readonly omitted: number;
  /** Something is not shown in full: an entry left out, or a key or value cut. */
  readonly truncated: boolean;
}

/** The data classification as every channel shows it, in words. */
export interface ClassificationFacts {
  readonly level: ClassificationLevel;
  /** One line: "High: financial information, personal information", "nothing sensitive found" … */
  readonly summary: string;
  /** The sensitive-data types Macie found, e.g. CREDIT_CARD_NUMBER. */
  readonly types: readonly string[];
  /** The object or bucket it is the classification of (for a copy, its source), as visible text. */
  readonly subject?: string;
}

export interface ReviewFacts {
  readonly requestId: string;
  readonly title: string;
  readonly agent: string;
  readonly onBehalfOf?: string;
  readonly action: string;
  readonly resourceArn: string;
  readonly resourceName: string;
  readonly justification: string;
  readonly parameters: ListedEntries;
  readonly classification?: ClassificationFacts;
  readonly policy: string;
  readonly quorum: string;
  readonly stepUp: boolean;
  readonly expiresAt?: string;
  readonly progress: string;
  readonly votes: ReadonlyArray<{
    readonly voterId: string;
    readonly vote: string;
    readonly reason?: string;
  }>;
  /** Present once decided: e.g. "Approved by alice, bob". */
  readonly outcome?: string;
  readonly decided: boolean;
  /**
   * Everything the reviewer approves is shown in full. When false, a chat message must say so and
   * offer only the console (which shows every parameter in full), never an Approve button.
   */
  readonly complete: boolean;
  readonly consoleLink: string;
}

function shorten(text: string, max: number): { text: string; cut: boolean } {
  return text.length <= max ? { text, cut: false } : { text: `${text.slice(0, max - 1)}…`, cut: true };
}

/**
 * Characters that do not show as themselves: controls, line and paragraph separators, format
 * characters (zero-width spaces and joiners, bidirectional overrides that reorder what is shown),
 * and every space but the plain one.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/gu;

/**
 * JSON text with every character that would not show as itself escaped (`\u202e`, `\u200b` …) and
 * backticks as `\u0060`, so padding, look-alike spacing and reordering tricks are visible and the
 * text cannot close a code span. Still exactly the JSON of the value.
 */
export function visibleJson(value: unknown): string {
  return JSON.stringify(value).replace(INVISIBLE, escapeCodeUnits).replace(/`/g, '\\u0060');
}

/** Free text (a justification, an ARN) with the characters that would not show as themselves escaped. */
export function visibleText(text: string): string {
  return text.replace(/[\p{Cf}\p{Zl}\p{Zp}]/gu, escapeCodeUnits);
}

/** `\uXXXX` per UTF-16 code unit, as JSON spells a character outside the Basic Multilingual Plane. */
function escapeCodeUnits(character: string): string {
  return Array.from(
    { length: character.length },
    (_, index) => `\\u${character.charCodeAt(index).toString(16).padStart(4, '0')}`,
  ).join('');
}

/** Keys in code-unit order (RFC 8785's), each key and value as visible JSON, at most 8 of 200 characters. */
export function listEntries(object: Readonly<Record<string, unknown>>): ListedEntries {
  const all = Object.keys(object)
    .sort()
    .map(
      (key) =>
        [
          shorten(visibleJson(key), MAX_VALUE_LENGTH),
          shorten(visibleJson(object[key]), MAX_VALUE_LENGTH),
        ] as const,
    );
  const shown = all.slice(0, MAX_LISTED_ENTRIES);
  const omitted = all.length - shown.length;
  return {
    entries: shown.map(([key, value]) => [key.text, value.text] as const),
    omitted,
    truncated: omitted > 0 || shown.some(([key, value]) => key.cut || value.cut),
  };
}

const OUTCOME_VERB = {
  [Decision.approved]: 'Approved',
  [Decision.autoApproved]: 'Approved by policy',
  [Decision.denied]: 'Denied',
  [Decision.policyDenied]: 'Denied by policy',
  [Decision.expired]: 'Expired without a decision',
  [Decision.breakGlass]: 'Run at once under break-glass, to be reviewed',
} as const;

function outcomeOf(record: RequestRecord): string | undefined {
  if (record.status === RequestStatus.pending || record.decision === undefined) return undefined;
  const verb = OUTCOME_VERB[record.decision];
  const deciders =
    record.decision === Decision.denied
      ? record.votes.filter((vote) => vote.vote === 'deny').map((vote) => vote.voterId)
      : record.approvers;
  const by = deciders.length > 0 ? ` by ${deciders.join(', ')}` : '';
  const reason = record.reason === undefined ? '' : `: ${record.reason}`;
  return `${verb}${by}${reason}`;
}

function progressOf(record: RequestRecord): string {
  const counts = tally(record);
  const needed = Math.max(1, record.policy.quorum);
  const denials = counts.denials > 0 ? `, ${counts.denials} denied` : '';
  return `${counts.approvals} of ${needed} approvals${denials}`;
}

/** The console's deep link; `:` may stand unescaped in a query, so the agent part stays readable. */
function consoleLinkOf(consoleUrl: string, requestId: string): string {
  const query = encodeURIComponent(requestId).replace(/%3A/g, ':');
  return `${consoleUrl.replace(/\/+$/, '')}/?request=${query}`;
}

function classificationFacts(classification: RequestClassification): {
  facts: ClassificationFacts;
  cut: boolean;
} {
  const level = classificationLevel(classification);
  // The subject and a failure's reason may carry what the agent wrote (a CopySource): shown visibly.
  const summary = shorten(visibleText(describeClassification(classification)), MAX_TEXT_LENGTH);
  const subject =
    classification.subject === undefined
      ? undefined
      : shorten(visibleText(classification.subject), MAX_TEXT_LENGTH);
  return {
    facts: {
      level,
      summary: summary.text,
      types: classification.types,
      ...(subject === undefined ? {} : { subject: subject.text }),
    },
    cut: summary.cut || (subject?.cut ?? false),
  };
}

export function reviewFacts(record: RequestRecord, consoleUrl: string): ReviewFacts {
  const classification =
    record.classification === undefined ? undefined : classificationFacts(record.classification);
  const parameters = listEntries(record.parameters);
  const justification = shorten(visibleText(record.justification), MAX_TEXT_LENGTH);
  const resourceArn = shorten(visibleText(record.resource.arn), MAX_TEXT_LENGTH);
  const onBehalfOf = record.agent.onBehalfOf === undefined ? undefined : visibleText(record.agent.onBehalfOf);
  return {
    requestId: record.requestId,
    title: `${record.agent.id} asks to run ${record.action}`,
    agent: record.agent.id,
    onBehalfOf,
    action: record.action,
    resourceArn: resourceArn.text,
    resourceName: resourceNameOf(record.resource.arn),
    justification: justification.text,
    parameters,
    ...(classification === undefined ? {} : { classification: classification.facts }),
    policy: record.policy.policyIds.length > 0 ? record.policy.policyIds.join(', ') : record.policy.reason,
    quorum: `${Math.max(1, record.policy.quorum)} from ${record.policy.groups.join(' or ')}`,
    stepUp: record.policy.stepUp,
    expiresAt: record.expiresAt,
    progress: progressOf(record),
    votes: record.votes.map(({ voterId, vote, reason }) => ({ voterId, vote, reason })),
    outcome: outcomeOf(record),
    decided: record.status !== RequestStatus.pending,
    complete:
      !parameters.truncated && !(classification?.cut ?? false) && !justification.cut && !resourceArn.cut,
    consoleLink: consoleLinkOf(consoleUrl, record.requestId),
  };
}
