/**
 * What every review message says about a request, computed once so Slack, Teams and reminders
 * agree: who asks for whom, what on which resource, the key parameters, classification, policy,
 * quorum, progress and the outcome. Pure: channel formatting happens in the builders.
 */
import { tally } from '../approval.ts';
import { Decision, type RequestRecord, RequestStatus } from '../schemas.ts';
import { resourceNameOf } from '../step-up.ts';

/** How many parameters / classification entries a message shows before "and N more". */
export const MAX_LISTED_ENTRIES = 8;
const MAX_VALUE_LENGTH = 200;

export interface ListedEntries {
  readonly entries: ReadonlyArray<readonly [string, string]>;
  readonly omitted: number;
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
  readonly classification?: ListedEntries;
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
  readonly consoleLink: string;
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function renderValue(value: unknown): string {
  return shorten(typeof value === 'string' ? value : JSON.stringify(value), MAX_VALUE_LENGTH);
}

export function listEntries(object: Readonly<Record<string, unknown>>): ListedEntries {
  const all = Object.entries(object);
  return {
    entries: all.slice(0, MAX_LISTED_ENTRIES).map(([key, value]) => [key, renderValue(value)] as const),
    omitted: Math.max(0, all.length - MAX_LISTED_ENTRIES),
  };
}

const OUTCOME_VERB = {
  [Decision.approved]: 'Approved',
  [Decision.autoApproved]: 'Approved by policy',
  [Decision.denied]: 'Denied',
  [Decision.policyDenied]: 'Denied by policy',
  [Decision.expired]: 'Expired without a decision',
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

export function reviewFacts(record: RequestRecord, consoleUrl: string): ReviewFacts {
  const classification = record.classification;
  return {
    requestId: record.requestId,
    title: `${record.agent.id} asks to run ${record.action}`,
    agent: record.agent.id,
    onBehalfOf: record.agent.onBehalfOf,
    action: record.action,
    resourceArn: record.resource.arn,
    resourceName: resourceNameOf(record.resource.arn),
    justification: record.justification,
    parameters: listEntries(record.parameters),
    classification: classification === undefined ? undefined : listEntries(classification),
    policy: record.policy.policyIds.length > 0 ? record.policy.policyIds.join(', ') : record.policy.reason,
    quorum: `${Math.max(1, record.policy.quorum)} from ${record.policy.groups.join(' or ')}`,
    stepUp: record.policy.stepUp,
    expiresAt: record.expiresAt,
    progress: progressOf(record),
    votes: record.votes.map(({ voterId, vote, reason }) => ({ voterId, vote, reason })),
    outcome: outcomeOf(record),
    decided: record.status !== RequestStatus.pending,
    consoleLink: consoleLinkOf(consoleUrl, record.requestId),
  };
}
