/**
 * The archive as a table: the Glue database and table names, the columns and how each maps to a
 * field of an archive line (lambdas/domain/audit-archive.ts), the partition columns the archive's
 * keys carry (`audit/dt=YYYY-MM-DD/hour=HH/`), and the named queries. The same definitions build the
 * Glue table and the named queries in the template (lib/audit-queries.ts) and the twin's Athena on
 * DuckDB (local/aws/athena), so the same SQL runs in both.
 *
 * The SQL keeps to what Athena (Trino) and DuckDB share. Where a Trino function is missing from
 * DuckDB, the twin defines a DuckDB macro of the same name and meaning (local/aws/athena/trino-macros.ts):
 * `json_extract_scalar`, `json_format`, `from_iso8601_timestamp`, `approx_percentile`.
 *
 * `at` is a keyword in DuckDB: the queries always qualify it (`r.at`).
 *
 * `record_id` identifies a record (`<request_id>#<seq>`, the archive line's `recordId`, the same on
 * a retried write); `record_key` is its fact key within the request (`VOTED#alice`).
 */

export const AUDIT_DATABASE = 'countersign';
export const AUDIT_TABLE = 'audit_records';
/** How the named queries and the report name the table: qualified, so no default database is assumed. */
export const AUDIT_TABLE_REF = `${AUDIT_DATABASE}.${AUDIT_TABLE}`;

/** A column: its Hive type in Glue and the archive line's JSON field it reads. */
export interface AuditColumn {
  readonly name: string;
  readonly hiveType: 'int' | 'string';
  readonly jsonField: string;
  /** The field holds a JSON object, read as its JSON text. @default false */
  readonly jsonText?: boolean;
}

/**
 * The columns, in order. `data` is the record's payload (a JSON object in the archive line) as JSON
 * text: the OpenX JSON SerDe returns a nested object as its JSON text for a `string` column, and
 * the twin casts it the same way; read its fields with `json_extract_scalar(data, '$.field')`.
 */
export const AUDIT_COLUMNS = [
  { name: 'record_id', hiveType: 'string', jsonField: 'recordId' },
  { name: 'schema_version', hiveType: 'int', jsonField: 'schemaVersion' },
  { name: 'request_id', hiveType: 'string', jsonField: 'requestId' },
  { name: 'seq', hiveType: 'int', jsonField: 'seq' },
  { name: 'kind', hiveType: 'string', jsonField: 'kind' },
  { name: 'record_key', hiveType: 'string', jsonField: 'key' },
  { name: 'at', hiveType: 'string', jsonField: 'at' },
  { name: 'actor', hiveType: 'string', jsonField: 'actor' },
  { name: 'data', hiveType: 'string', jsonField: 'data', jsonText: true },
] as const satisfies readonly AuditColumn[];

/** The partitions, from the object keys: `dt` (UTC day, yyyy-MM-dd) and `hour` (0–23, two digits in the key). */
export const AUDIT_PARTITION_COLUMNS = [
  { name: 'dt', hiveType: 'string' },
  { name: 'hour', hiveType: 'int' },
] as const;

/**
 * Record kinds and values the queries read that the privileged-call reconciliation (issue 12,
 * branch `cloudtrail`) writes, spelled as it spells them (its `AuditKind.reconciled` / `reviewed`,
 * `CallStatus`, `ReviewStatus`, `Decision.breakGlass`):
 *
 * - `RECONCILED` (key `RECONCILED#<eventId>`): one CloudTrail call of an agent, under the request
 *   whose approval covers it (MATCHED, BREAK_GLASS) or, when none does (UNAPPROVED, FAILED_CALL),
 *   under the call's own id `<agentId>:call.<eventId>` (`callAuditRequestId`); `data`: `eventId`,
 *   `status`, `action`, `principalArn`, `resourceArn`, `eventTime`.
 * - `REVIEWED`: an after-the-fact review closed, under the same request id as its subject (the
 *   break-glass request, or the unapproved call's own id); `data.outcome` (ACKNOWLEDGED | ESCALATED,
 *   or WITHDRAWN when an approval recorded later covered the call), `data.reason`, `data.channel`.
 * - A break-glass use is a request DECIDED with `data.decision` BREAK_GLASS.
 */
export const RECONCILIATION_RECORDS = {
  reconciled: 'RECONCILED',
  reviewed: 'REVIEWED',
  unapproved: 'UNAPPROVED',
  breakGlass: 'BREAK_GLASS',
} as const;

/** The refusal code of a self-approval attempt (the requester, the agent or the human it acts for). */
export const SELF_APPROVAL_CODE = 'REQUESTER';

export interface NamedAuditQuery {
  /** The name in the template and the CLI (`countersign audit queries run <name>`). */
  readonly name: string;
  readonly description: string;
  readonly sql: string;
}

const T = AUDIT_TABLE_REF;

export const NAMED_AUDIT_QUERIES = [
  {
    name: 'pending-requests-by-age',
    description: 'Requests asked for and not decided yet, oldest first, with their age in minutes.',
    sql: `SELECT r.request_id,
       json_extract_scalar(r.data, '$.action') AS action,
       json_extract_scalar(r.data, '$.resource') AS resource,
       r.actor AS requested_by,
       r.at AS requested_at,
       date_diff('minute', from_iso8601_timestamp(r.at), current_timestamp) AS age_minutes
FROM ${T} r
WHERE r.kind = 'REQUESTED'
  AND r.request_id NOT IN (SELECT d.request_id FROM ${T} d WHERE d.kind = 'DECIDED')
ORDER BY r.at, r.request_id`,
  },
  {
    name: 'decisions-per-policy',
    description: 'Decisions counted by the policies that determined them and the outcome.',
    sql: `SELECT json_format(json_extract(e.data, '$.policyIds')) AS policy_ids,
       json_extract_scalar(d.data, '$.decision') AS decision,
       count(*) AS decisions
FROM ${T} d
JOIN ${T} e ON e.request_id = d.request_id AND e.kind = 'EVALUATED'
WHERE d.kind = 'DECIDED'
GROUP BY 1, 2
ORDER BY decisions DESC, policy_ids, decision`,
  },
  {
    name: 'approvals-per-approver',
    description: 'Approving votes counted per approver, with the first and last.',
    sql: `SELECT v.actor AS approver,
       count(*) AS approvals,
       min(v.at) AS first_at,
       max(v.at) AS last_at
FROM ${T} v
WHERE v.kind = 'VOTED' AND json_extract_scalar(v.data, '$.vote') = 'approve'
GROUP BY v.actor
ORDER BY approvals DESC, approver`,
  },
  {
    name: 'refused-votes',
    description: 'Votes that did not count (self-approval attempts first), with who tried and why.',
    sql: `SELECT r.request_id,
       r.actor,
       r.at,
       json_extract_scalar(r.data, '$.code') AS code,
       json_extract_scalar(r.data, '$.channel') AS channel,
       json_extract_scalar(r.data, '$.vote') AS vote
FROM ${T} r
WHERE r.kind = 'REFUSED'
ORDER BY CASE WHEN json_extract_scalar(r.data, '$.code') = '${SELF_APPROVAL_CODE}' THEN 0 ELSE 1 END, r.at, r.request_id`,
  },
  {
    name: 'unapproved-privileged-calls',
    description: 'Privileged calls no approval covered, and how each after-the-fact review ended.',
    sql: `SELECT c.request_id,
       json_extract_scalar(c.data, '$.eventId') AS event_id,
       json_extract_scalar(c.data, '$.action') AS action,
       json_extract_scalar(c.data, '$.principalArn') AS principal_arn,
       json_extract_scalar(c.data, '$.resourceArn') AS resource_arn,
       c.at AS called_at,
       r.at AS reviewed_at,
       r.actor AS reviewer,
       COALESCE(json_extract_scalar(r.data, '$.outcome'), 'OPEN') AS review_outcome
FROM ${T} c
LEFT JOIN ${T} r ON r.request_id = c.request_id AND r.kind = '${RECONCILIATION_RECORDS.reviewed}'
WHERE c.kind = '${RECONCILIATION_RECORDS.reconciled}'
  AND json_extract_scalar(c.data, '$.status') = '${RECONCILIATION_RECORDS.unapproved}'
ORDER BY c.at, c.request_id`,
  },
  {
    name: 'break-glass-reviews',
    description: 'Break-glass uses (requests run at once), and how each mandatory review ended.',
    sql: `SELECT d.request_id,
       json_extract_scalar(q.data, '$.action') AS action,
       json_extract_scalar(q.data, '$.resource') AS resource,
       q.actor AS requested_by,
       d.at AS decided_at,
       r.at AS reviewed_at,
       r.actor AS reviewer,
       COALESCE(json_extract_scalar(r.data, '$.outcome'), 'OPEN') AS review_outcome
FROM ${T} d
JOIN ${T} q ON q.request_id = d.request_id AND q.kind = 'REQUESTED'
LEFT JOIN ${T} r ON r.request_id = d.request_id AND r.kind = '${RECONCILIATION_RECORDS.reviewed}'
WHERE d.kind = 'DECIDED'
  AND json_extract_scalar(d.data, '$.decision') = '${RECONCILIATION_RECORDS.breakGlass}'
ORDER BY d.at, d.request_id`,
  },
  {
    name: 'time-to-decision-per-day',
    description:
      'Per UTC day of the decision: decisions, and seconds from request to decision at p50 and p95.',
    sql: `SELECT substr(d.at, 1, 10) AS day,
       count(*) AS decisions,
       approx_percentile(date_diff('millisecond', from_iso8601_timestamp(r.at), from_iso8601_timestamp(d.at)) / 1000.0, 0.5) AS p50_seconds,
       approx_percentile(date_diff('millisecond', from_iso8601_timestamp(r.at), from_iso8601_timestamp(d.at)) / 1000.0, 0.95) AS p95_seconds
FROM ${T} d
JOIN ${T} r ON r.request_id = d.request_id AND r.kind = 'REQUESTED'
WHERE d.kind = 'DECIDED'
GROUP BY 1
ORDER BY 1`,
  },
] as const satisfies readonly NamedAuditQuery[];

export type NamedAuditQueryName = (typeof NAMED_AUDIT_QUERIES)[number]['name'];
