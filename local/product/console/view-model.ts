/**
 * The console's view logic: pure functions from API data to what the page shows. The DOM code in
 * app.ts only renders what these return, so everything a reviewer reads is unit-tested here.
 */

import type { Eligibility } from '../../../lambdas/domain/approval.ts';
import type { AuditRecord } from '../../../lambdas/domain/audit-record.ts';
import {
  type ClassificationLevel,
  classificationLevel,
  describeClassification,
  type RequestClassification,
} from '../../../lambdas/domain/classification.ts';
import type { PrivilegedCall } from '../../../lambdas/domain/privileged-calls.ts';
import type { DecisionValue, RequestRecord, RequestStatusValue } from '../../../lambdas/domain/schemas.ts';
import type { OutboxEntry } from '../chat/outbox.ts';

export type { RequestDetailBody as RequestDetail } from '../../../lambdas/http/bodies.ts';
export type { OutboxEntry };

/** "2h 5m", "4m 10s", "12s"; negative durations read as "0s". */
export function formatDuration(milliseconds: number): string {
  const totalSeconds = Math.max(0, Math.floor(milliseconds / 1000));
  const days = Math.floor(totalSeconds / 86_400);
  const hours = Math.floor((totalSeconds % 86_400) / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${minutes}m`;
  if (minutes > 0) return `${minutes}m ${seconds}s`;
  return `${seconds}s`;
}

/** What the pending card says about the deadline. */
export function timeLeft(request: Pick<RequestRecord, 'expiresAt'>, now: Date): string {
  if (request.expiresAt === undefined) return 'no deadline';
  const remaining = Date.parse(request.expiresAt) - now.getTime();
  return remaining <= 0 ? 'expired' : `${formatDuration(remaining)} left`;
}

export interface QuorumProgress {
  readonly approvals: number;
  readonly quorum: number;
  readonly label: string;
  readonly voters: readonly {
    readonly id: string;
    readonly vote: 'approve' | 'deny';
    readonly reason?: string;
  }[];
}

export function quorumProgress(request: Pick<RequestRecord, 'votes' | 'policy'>): QuorumProgress {
  const approvals = new Set(
    request.votes.filter((vote) => vote.vote === 'approve').map((vote) => vote.voterId),
  ).size;
  const quorum = request.policy.quorum;
  const voters = request.votes.map((vote) => ({
    id: vote.voterId,
    vote: vote.vote,
    ...(vote.reason ? { reason: vote.reason } : {}),
  }));
  const groups = request.policy.groups.join(' or ');
  return { approvals, quorum, voters, label: `${approvals} of ${quorum} approvals from ${groups}` };
}

/** Why the signed-in reviewer cannot vote, in words; undefined when they can. */
export function eligibilityNotice(eligibility: Eligibility | undefined): string | undefined {
  if (eligibility === undefined) return 'Sign in to vote.';
  return eligibility.eligible ? undefined : eligibility.message;
}

export interface HistoryFilter {
  readonly status?: RequestStatusValue | '';
  readonly action?: string;
  readonly agent?: string;
  readonly approver?: string;
  /** Inclusive, `YYYY-MM-DD` (UTC). */
  readonly from?: string;
  readonly to?: string;
}

const day = (iso: string): string => iso.slice(0, 10);

export function filterRequests(requests: readonly RequestRecord[], filter: HistoryFilter): RequestRecord[] {
  const contains = (value: string, needle: string | undefined) =>
    needle === undefined || needle === '' || value.toLowerCase().includes(needle.toLowerCase());
  return requests.filter(
    (request) =>
      (filter.status === undefined || filter.status === '' || request.status === filter.status) &&
      contains(request.action, filter.action) &&
      contains(request.agent.id, filter.agent) &&
      (filter.approver === undefined ||
        filter.approver === '' ||
        request.votes.some((vote) => contains(vote.voterId, filter.approver))) &&
      (filter.from === undefined || filter.from === '' || day(request.createdAt) >= filter.from) &&
      (filter.to === undefined || filter.to === '' || day(request.createdAt) <= filter.to),
  );
}

export interface DayStats {
  readonly day: string;
  readonly total: number;
  readonly byDecision: Readonly<Partial<Record<DecisionValue, number>>>;
  readonly medianSecondsToDecision?: number;
  readonly p95SecondsToDecision?: number;
}

export interface Stats {
  readonly total: number;
  readonly pending: number;
  readonly byDecision: Readonly<Partial<Record<DecisionValue, number>>>;
  readonly medianSecondsToDecision?: number;
  readonly p95SecondsToDecision?: number;
  readonly days: readonly DayStats[];
}

/** Nearest-rank percentile of an ascending list; undefined for an empty list. */
export function percentile(sortedAscending: readonly number[], fraction: number): number | undefined {
  if (sortedAscending.length === 0) return undefined;
  const rank = Math.ceil(fraction * sortedAscending.length);
  return sortedAscending[Math.min(sortedAscending.length, Math.max(1, rank)) - 1];
}

function summarize(requests: readonly RequestRecord[]) {
  const byDecision: Partial<Record<DecisionValue, number>> = {};
  const durations: number[] = [];
  for (const request of requests) {
    if (request.decision === undefined) continue;
    byDecision[request.decision] = (byDecision[request.decision] ?? 0) + 1;
    if (request.decidedAt !== undefined) {
      durations.push((Date.parse(request.decidedAt) - Date.parse(request.createdAt)) / 1000);
    }
  }
  durations.sort((a, b) => a - b);
  const median = percentile(durations, 0.5);
  const p95 = percentile(durations, 0.95);
  return {
    byDecision,
    ...(median === undefined ? {} : { medianSecondsToDecision: median }),
    ...(p95 === undefined ? {} : { p95SecondsToDecision: p95 }),
  };
}

/** Counts by outcome, time to decision (median, p95) overall and per day, oldest day first. */
export function computeStats(requests: readonly RequestRecord[]): Stats {
  const perDay = new Map<string, RequestRecord[]>();
  for (const request of requests) {
    const key = day(request.createdAt);
    perDay.set(key, [...(perDay.get(key) ?? []), request]);
  }
  const days = [...perDay.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, items]) => ({ day: key, total: items.length, ...summarize(items) }));
  return {
    total: requests.length,
    pending: requests.filter((request) => request.status === 'PENDING').length,
    ...summarize(requests),
    days,
  };
}

export interface Bar {
  readonly label: string;
  readonly value: number;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** Lays out a bar chart in a `width` × `height` box (bars grow up from the bottom). */
export function barChart(
  points: readonly { label: string; value: number }[],
  width: number,
  height: number,
): Bar[] {
  if (points.length === 0) return [];
  const max = Math.max(1, ...points.map((point) => point.value));
  const slot = width / points.length;
  const barWidth = Math.max(1, slot * 0.7);
  return points.map((point, index) => {
    const barHeight = (point.value / max) * height;
    return {
      label: point.label,
      value: point.value,
      x: index * slot + (slot - barWidth) / 2,
      y: height - barHeight,
      width: barWidth,
      height: barHeight,
    };
  });
}

export interface OutboxView {
  readonly channel: 'slack' | 'teams';
  readonly title: string;
  readonly at: string;
  readonly lines: readonly string[];
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null;
const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const text = (value: unknown): string | undefined => {
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value.text === 'string') return value.text;
  return undefined;
};

/** Readable lines from Slack Block Kit blocks (sections, fields, context, buttons). */
export function slackBlocksToLines(blocks: unknown): string[] {
  const lines: string[] = [];
  for (const block of asArray(blocks)) {
    if (!isObject(block)) continue;
    const main = text(block.text);
    if (main !== undefined) lines.push(main);
    for (const field of asArray(block.fields)) {
      const value = text(field);
      if (value !== undefined) lines.push(value);
    }
    for (const element of asArray(block.elements)) {
      const value = text(isObject(element) && element.type === 'button' ? element.text : element);
      if (value !== undefined)
        lines.push(isObject(element) && element.type === 'button' ? `[${value}]` : value);
    }
  }
  return lines;
}

/** Readable lines from an Adaptive Card (TextBlocks, FactSets, inputs, actions), depth-first. */
export function adaptiveCardToLines(card: unknown): string[] {
  const lines: string[] = [];
  const visit = (element: unknown): void => {
    if (!isObject(element)) return;
    if (element.type === 'TextBlock' && typeof element.text === 'string') lines.push(element.text);
    if (element.type === 'FactSet') {
      for (const fact of asArray(element.facts)) {
        if (isObject(fact)) lines.push(`${String(fact.title)}: ${String(fact.value)}`);
      }
    }
    if (
      typeof element.type === 'string' &&
      element.type.startsWith('Action.') &&
      typeof element.title === 'string'
    ) {
      lines.push(`[${element.title}]`);
    }
    for (const key of ['body', 'items', 'columns', 'actions']) asArray(element[key]).forEach(visit);
  };
  visit(card);
  return lines;
}

function teamsCard(body: unknown): unknown {
  if (!isObject(body)) return undefined;
  const attachment = asArray(body.attachments).find(isObject);
  return attachment?.content ?? (body.type === 'AdaptiveCard' ? body : undefined);
}

export function outboxView(entry: OutboxEntry): OutboxView {
  const body = isObject(entry.body) ? entry.body : {};
  if (entry.channel === 'slack') {
    const blockLines = slackBlocksToLines(body.blocks);
    const fallback = text(body.text);
    const where = typeof body.channel === 'string' ? ` → ${body.channel}` : '';
    return {
      channel: 'slack',
      at: entry.at,
      title: `Slack ${entry.method}${where}`,
      lines: blockLines.length > 0 ? blockLines : fallback === undefined ? [] : [fallback],
    };
  }
  const cardLines = adaptiveCardToLines(teamsCard(entry.body));
  const fallback = text(body);
  return {
    channel: 'teams',
    at: entry.at,
    title: `Teams ${entry.method}`,
    lines: cardLines.length > 0 ? cardLines : fallback === undefined ? [] : [fallback],
  };
}

const timelineLabels: Readonly<Record<AuditRecord['kind'], string>> = {
  REQUESTED: 'Requested',
  EVALUATED: 'Evaluated',
  NOTIFIED: 'Reviewers notified',
  VOTED: 'Vote',
  DECIDED: 'Decided',
  REFUSED: 'Vote refused',
  SIGNED: 'Receipt signed',
  PUBLISHED: 'Decision published',
  EXECUTED: 'Executed by Countersign',
  RECONCILED: 'Privileged call',
  REVIEWED: 'Review closed',
};

export interface TimelineEntry {
  readonly at: string;
  readonly label: string;
  readonly detail: string;
}

/** The request's story in order: requested, evaluated, notified, each vote, decided, published. */
export function timelineView(timeline: readonly AuditRecord[]): TimelineEntry[] {
  const describe = (record: AuditRecord): string => {
    const data: Readonly<Record<string, unknown>> = record.data;
    const pieces = [record.actor];
    for (const key of [
      'decision',
      'vote',
      'code',
      'reason',
      'policyIds',
      'status',
      'awsRequestId',
      'error',
    ]) {
      const value = data[key];
      if (value !== undefined && value !== null)
        pieces.push(`${key}: ${Array.isArray(value) ? value.join(', ') : String(value)}`);
    }
    return pieces.join(' · ');
  };
  return [...timeline]
    .sort((a, b) => a.at.localeCompare(b.at))
    .map((record) => ({ at: record.at, label: timelineLabels[record.kind], detail: describe(record) }));
}

/** Pretty JSON for parameters: stable key order so what reviewers read matches what is hashed. */
export function prettyParameters(parameters: Readonly<Record<string, unknown>>): string {
  const sortKeys = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sortKeys);
    if (isObject(value)) {
      return Object.fromEntries(
        Object.keys(value)
          .sort()
          .map((key) => [key, sortKeys(value[key])]),
      );
    }
    return value;
  };
  return JSON.stringify(sortKeys(parameters), null, 2);
}

const decisionTone: Readonly<Record<DecisionValue, 'good' | 'bad' | 'neutral'>> = {
  APPROVED: 'good',
  AUTO_APPROVED: 'good',
  DENIED: 'bad',
  POLICY_DENIED: 'bad',
  EXPIRED: 'neutral',
  // Went ahead without anyone's approval: not bad, but never quietly good either.
  BREAK_GLASS: 'neutral',
};

/** The data classification as the console shows it: in words, with its severity colour. */
export function classificationView(classification: RequestClassification | undefined): {
  text: string;
  level: ClassificationLevel | 'unknown';
  types: string;
  subject?: string;
} {
  if (classification === undefined) return { text: 'not an S3 resource', level: 'unknown', types: '' };
  return {
    text: describeClassification(classification),
    level: classificationLevel(classification),
    types: classification.types.join(', '),
    ...(classification.subject === undefined ? {} : { subject: classification.subject }),
  };
}

/** Badge text and tone for a request's state. */
export function statusBadge(request: Pick<RequestRecord, 'status' | 'decision'>): {
  text: string;
  tone: 'good' | 'bad' | 'neutral' | 'pending';
} {
  if (request.decision === undefined) return { text: request.status, tone: 'pending' };
  return { text: request.decision.replace('_', ' '), tone: decisionTone[request.decision] };
}

/**
 * The request a page was opened for: chat review messages link to `/?request=<id>`, which opens
 * that request's detail in the History tab. Undefined without (or with an empty) `request`.
 */
export function deepLinkedRequest(search: string): string | undefined {
  const requestId = new URLSearchParams(search).get('request')?.trim();
  return requestId === undefined || requestId === '' ? undefined : requestId;
}

/** A review link of an unapproved call (`?call=<eventId>`) opens the Privileged calls tab on it. */
export function deepLinkedCall(search: string): string | undefined {
  const eventId = new URLSearchParams(search).get('call')?.trim();
  return eventId === undefined || eventId === '' ? undefined : eventId;
}

/** What a row of the Privileged calls tab says: who called what on which resource, and what became of it. */
export function callView(call: PrivilegedCall): {
  readonly who: string;
  readonly what: string;
  readonly resource: string;
  readonly outcome: string;
  readonly reviewOpen: boolean;
} {
  const review = call.review;
  const linked = call.requestId === undefined ? '' : ` by ${call.requestId}`;
  const outcome =
    review === undefined
      ? `${call.status}${linked}`
      : `${call.status}${linked}; review ${review.status}${review.closedBy === undefined ? '' : ` by ${review.closedBy}`}${review.reason === undefined ? '' : `: ${review.reason}`}`;
  return {
    who: call.agentId === undefined ? call.principalArn : `${call.agentId} (${call.principalArn})`,
    what: call.action,
    resource: call.resourceArn ?? 'unknown',
    outcome,
    reviewOpen: review?.status === 'OPEN',
  };
}
