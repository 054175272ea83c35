/**
 * Policy suggestions from the audit archive: actions (same agent, operation and resource pattern)
 * that people approved at least N times in the window, unanimously, never denied, expired or run
 * under break-glass, with no unapproved privileged call by that agent or of that operation, become
 * a proposed Cedar `permit` with its evidence as comments and a case for the policy test runner.
 * Nothing is ever applied: the command writes them to a folder for review.
 *
 * Resources generalise carefully: the same ARN when every approval was for it; otherwise the
 * prefix up to the last path segment (`arn:aws:s3:::invoices/2025/*`), and only when that prefix
 * still names something narrower than a whole resource type (at least two path segments, or an S3
 * bucket); never `*`. An ARN a Cedar `like` pattern or a comment cannot carry literally is never
 * generalised or proposed.
 */
import { createHash } from 'node:crypto';
import type { QueryRun } from '../../../lambdas/adapters/athena/athena-query-runner.ts';
import { AUDIT_TABLE_REF } from '../../../lambdas/domain/audit-queries.ts';
import { distinctRows, type Row, stringArray } from '../archive-rows.ts';

export interface SuggestOptions {
  /** The window: decisions from `now - days` on. */
  readonly days: number;
  /** Approvals needed for a suggestion. */
  readonly minApprovals: number;
  readonly now: Date;
}

const T = AUDIT_TABLE_REF;
const DAY_MS = 86_400_000;

/** Every decided request of the window, with its deny votes, and every unapproved call in it. */
export function suggestionQueries(options: SuggestOptions) {
  const from = new Date(options.now.getTime() - options.days * DAY_MS);
  const window = (alias: string) => `${alias}.dt >= '${from.toISOString().slice(0, 10)}'
  AND from_iso8601_timestamp(${alias}.at) >= from_iso8601_timestamp('${from.toISOString()}')`;
  return {
    decisions: `SELECT d.request_id,
       q.actor AS agent,
       json_extract_scalar(q.data, '$.action') AS action,
       json_extract_scalar(q.data, '$.resource') AS resource,
       json_extract_scalar(d.data, '$.decision') AS decision,
       json_format(json_extract(d.data, '$.approvers')) AS approvers,
       d.at AS decided_at,
       json_format(json_extract(e.data, '$.policyIds')) AS policy_ids,
       (SELECT count(*) FROM ${T} v
         WHERE v.request_id = d.request_id AND v.kind = 'VOTED'
           AND json_extract_scalar(v.data, '$.vote') = 'deny') AS deny_votes
FROM ${T} d
JOIN ${T} q ON q.request_id = d.request_id AND q.kind = 'REQUESTED'
LEFT JOIN ${T} e ON e.request_id = d.request_id AND e.kind = 'EVALUATED'
WHERE d.kind = 'DECIDED'
  AND ${window('d')}
ORDER BY d.at, d.request_id`,
    unapprovedCalls: `SELECT c.request_id,
       json_extract_scalar(c.data, '$.action') AS action
FROM ${T} c
WHERE c.kind = 'RECONCILED'
  AND json_extract_scalar(c.data, '$.status') = 'UNAPPROVED'
  AND ${window('c')}`,
  } as const;
}

export interface Evidence {
  readonly requestId: string;
  readonly resource: string;
  readonly approvers: readonly string[];
  readonly decidedAt: string;
}

export interface Suggestion {
  readonly id: string;
  readonly agent: string;
  readonly action: string;
  /** The ARN (exact) or the `like` pattern ending in `/*`. */
  readonly resourcePattern: string;
  readonly exact: boolean;
  readonly evidence: readonly Evidence[];
  /** The policies that decided the evidence requests (they still apply: strictest wins). */
  readonly decidedBy: readonly string[];
}

/** What a Cedar string, a `like` pattern and a `//` comment carry literally: no quote, backslash, star, control. */
const PLAIN = /^[\x21-\x7e]+$/;
const literal = (text: string) => PLAIN.test(text) && !/["\\*]/.test(text);

/** The prefix up to the last path segment, when it is narrower than a resource type; else undefined. */
export function resourcePrefix(arn: string): string | undefined {
  const parts = arn.split(':');
  if (parts.length < 6) return undefined;
  const service = parts[2];
  const path = parts.slice(5).join(':');
  const cut = path.lastIndexOf('/');
  if (cut <= 0) return undefined;
  const parent = path.slice(0, cut + 1);
  const segments = parent.split('/').filter((segment) => segment !== '').length;
  if (segments < 2 && service !== 's3') return undefined;
  return `${parts.slice(0, 5).join(':')}:${parent}*`;
}

const OK_DECISIONS = new Set(['APPROVED', 'AUTO_APPROVED']);

/** An agent and an operation: `invoice-bot` `s3:GetObject`. */
const groupKey = (agent: string, action: string, pattern: string) =>
  `${agent}\u0000${action}\u0000${pattern}`;

export function suggest(
  decisions: QueryRun,
  unapprovedCalls: QueryRun,
  options: Pick<SuggestOptions, 'minApprovals'>,
): Suggestion[] {
  const rows = distinctRows(decisions).filter(
    (row) => row.agent !== null && row.action !== null && row.resource !== null && row.request_id !== null,
  );
  const unapproved = distinctRows(unapprovedCalls);
  const tainted = (agent: string, action: string) =>
    unapproved.some((call) => call.action === action || call.request_id?.startsWith(`${agent}:`) === true);

  // A pattern per resource: the prefix when requests of the same agent and action share it.
  const sharedPrefixes = new Map<string, Set<string>>();
  for (const row of rows) {
    const prefix = resourcePrefix(row.resource!);
    if (prefix === undefined) continue;
    const key = groupKey(row.agent!, row.action!, prefix);
    sharedPrefixes.set(key, (sharedPrefixes.get(key) ?? new Set()).add(row.resource!));
  }
  const patternOf = (row: Row) => {
    const prefix = resourcePrefix(row.resource!);
    const shared =
      prefix === undefined ? undefined : sharedPrefixes.get(groupKey(row.agent!, row.action!, prefix));
    return shared !== undefined && shared.size > 1 ? prefix! : row.resource!;
  };

  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const key = groupKey(row.agent!, row.action!, patternOf(row));
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }

  const suggestions: Suggestion[] = [];
  for (const [key, members] of groups) {
    const [agent, action, pattern] = key.split('\u0000') as [string, string, string];
    const exact = !pattern.endsWith('*');
    const spotless = members.every(
      (row) => OK_DECISIONS.has(row.decision ?? '') && Number(row.deny_votes ?? '0') === 0,
    );
    const approved = members.filter((row) => row.decision === 'APPROVED');
    const carried = [agent, action, ...members.map((row) => row.resource!)].every(literal);
    if (!spotless || approved.length < options.minApprovals || !carried || tainted(agent, action)) continue;
    const digest = createHash('sha256').update(key).digest('hex').slice(0, 8);
    suggestions.push({
      id: `suggested-${agent}-${action.replace(':', '-').toLowerCase()}-${digest}`,
      agent,
      action,
      resourcePattern: pattern,
      exact,
      evidence: approved.map((row) => ({
        requestId: row.request_id!,
        resource: row.resource!,
        approvers: stringArray(row.approvers ?? null),
        decidedAt: row.decided_at ?? '',
      })),
      decidedBy: [...new Set(members.flatMap((row) => stringArray(row.policy_ids ?? null)))],
    });
  }
  return suggestions.sort((a, b) => a.id.localeCompare(b.id));
}

/** A comment line: untrusted text, one line, printable ASCII only. */
const commentText = (text: string) => text.replace(/[^\x20-\x7e]/g, '?');

export function suggestionPolicy(
  suggestion: Suggestion,
  context: { readonly days: number; readonly generatedAt: Date },
): string {
  const [service, operation] = suggestion.action.split(':') as [string, string];
  const condition = suggestion.exact
    ? `resource.arn == "${suggestion.resourcePattern}"`
    : `resource.arn like "${suggestion.resourcePattern}"`;
  const evidence = suggestion.evidence.map(
    (item) =>
      `//   ${commentText(item.requestId)}  ${commentText(item.resource)}  approved by ${commentText(item.approvers.join(', ') || '-')}  ${commentText(item.decidedAt)}`,
  );
  return `// PROPOSED by \`countersign policy suggest\` on ${context.generatedAt.toISOString()}: NOT APPLIED.
// Review it; to adopt it, copy this file into policies/ and its case into test/policies/cases/.
//
// ${suggestion.agent} asked for ${suggestion.action} on ${suggestion.resourcePattern}; people approved it
// ${suggestion.evidence.length} times in the last ${context.days} days, unanimously, never denied, expired or
// run under break-glass, and no unapproved privileged call by ${suggestion.agent} or of ${suggestion.action} was seen.
//
// Strictest wins: the approval policies that decided these requests
// (${commentText(suggestion.decidedBy.join(', ') || 'the default approval')}) still apply to them, so this permit
// alone changes nothing. Narrow them with \`unless { <this policy's condition> }\` to let it allow.
//
// Evidence (request, resource, approvers, decided at):
${evidence.join('\n')}
@id("${suggestion.id}")
@reason("approved ${suggestion.evidence.length} times unanimously in ${context.days} days (suggested from the audit archive)")
permit (principal == Agent::"${suggestion.agent}", action, resource)
when {
  context.service == "${service}" &&
  context.operation == "${operation}" &&
  ${condition}
};
`;
}

/** The test case (test/policies/cases format): the latest evidence request, allowed by this policy. */
export function suggestionCase(suggestion: Suggestion) {
  const latest = suggestion.evidence.at(-1)!;
  return {
    description: `Suggested: ${suggestion.agent} may ${suggestion.action} on ${suggestion.resourcePattern} (as ${latest.requestId} was approved).`,
    request: {
      agent: { id: suggestion.agent },
      action: suggestion.action,
      resource: { arn: latest.resource },
      parameters: {},
      justification: `The same as ${latest.requestId}.`,
    },
    expect: { decision: 'ALLOW', policyIds: [suggestion.id] },
  };
}
