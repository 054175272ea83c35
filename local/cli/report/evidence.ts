/**
 * The evidence report's content, gathered from the audit archive through the Athena query path
 * (the same SQL runs on Athena and on the twin's DuckDB): the decisions of the period with their
 * requester, approvers, policies, data classification and receipt (each receipt fetched and
 * verified against the receipt JWKS), refused votes, unapproved privileged calls and break-glass
 * uses with their reviews, the archive's verification, and every query it ran with its execution
 * id, so the report can be reproduced.
 *
 * Record data is untrusted: it is carried as text here and escaped by each renderer.
 */
import type { JSONWebKeySet } from 'jose';
import type { QueryRun } from '../../../lambdas/adapters/athena/athena-query-runner.ts';
import {
  AUDIT_TABLE_REF,
  NAMED_AUDIT_QUERIES,
  type NamedAuditQueryName,
  SELF_APPROVAL_CODE,
} from '../../../lambdas/domain/audit-queries.ts';
import { ReceiptError, receiptFingerprint, verifyReceipt } from '../../../lambdas/domain/receipt.ts';
import type { VerifyAuditArchiveReport } from '../../../lambdas/services/verify-audit-archive.ts';
import { cell, distinctRows, type Row, stringArray } from '../archive-rows.ts';

export interface ReportPeriod {
  /** Inclusive. */
  readonly from: Date;
  /** Exclusive. */
  readonly to: Date;
}

export interface EvidenceDeps {
  /** Runs one query through Athena (or the twin's). */
  readonly query: (sql: string) => Promise<QueryRun>;
  /** The compact JWS of a request's receipt, or undefined when it cannot be had (and why). */
  readonly receiptOf: (requestId: string) => Promise<ReceiptFetch>;
  /** The receipt keys; undefined when they could not be fetched (every receipt then fails). */
  readonly receiptKeys: JSONWebKeySet | undefined;
  /** Verifies the archive's digests and objects from the period's start on. */
  readonly verifyArchive: () => Promise<VerifyAuditArchiveReport>;
}

export type ReceiptFetch = { readonly jws: string } | { readonly unavailable: string };

export const ReceiptStatus = {
  verified: 'VERIFIED',
  failed: 'FAILED',
  unavailable: 'UNAVAILABLE',
  none: 'NONE',
} as const;
export type ReceiptStatus = (typeof ReceiptStatus)[keyof typeof ReceiptStatus];

export interface ReceiptCheck {
  readonly status: ReceiptStatus;
  readonly detail: string;
}

export interface DecisionEvidence {
  readonly requestId: string;
  readonly decidedAt: string;
  readonly decision: string;
  readonly requester: string | null;
  readonly requestedAt: string | null;
  readonly action: string | null;
  readonly resource: string | null;
  readonly approvers: readonly string[];
  readonly policyIds: readonly string[];
  readonly severity: string | null;
  readonly categories: readonly string[];
  readonly dataTypes: readonly string[];
  readonly receipt: ReceiptCheck;
  /** Seconds from request to decision, when both are known. */
  readonly secondsToDecision: number | null;
}

export interface ExecutedQuery {
  readonly purpose: string;
  readonly executionId: string;
  readonly sql: string;
  readonly rows: number;
  readonly bytesScanned: number;
}

export interface ArchiveVerification {
  readonly holds: boolean;
  readonly summary: string;
  readonly problems: readonly string[];
}

export interface EvidenceReport {
  readonly period: ReportPeriod;
  readonly generatedAt: Date;
  readonly decisions: readonly DecisionEvidence[];
  readonly refusals: readonly Row[];
  readonly unapprovedCalls: readonly Row[];
  readonly breakGlass: readonly Row[];
  readonly verification: ArchiveVerification;
  readonly queries: readonly ExecutedQuery[];
}

const T = AUDIT_TABLE_REF;

/** ISO instants only ever come from parsed dates, so they are safe inside a SQL literal. */
const instant = (date: Date) => `from_iso8601_timestamp('${date.toISOString()}')`;
const day = (date: Date) => date.toISOString().slice(0, 10);

/** The period on a record alias: partitions first (Athena reads only those days), then the instant. */
function inPeriod(alias: string, period: ReportPeriod): string {
  const lastDay = new Date(period.to.getTime() - 1);
  return `${alias}.dt BETWEEN '${day(period.from)}' AND '${day(lastDay)}'
  AND from_iso8601_timestamp(${alias}.at) >= ${instant(period.from)}
  AND from_iso8601_timestamp(${alias}.at) < ${instant(period.to)}`;
}

/** A named query (its text unchanged) limited to the rows whose `column` falls in the period. */
function namedInPeriod(name: NamedAuditQueryName, column: string, period: ReportPeriod): string {
  const named = NAMED_AUDIT_QUERIES.find((query) => query.name === name)!;
  return `SELECT * FROM (
${named.sql}
) q
WHERE from_iso8601_timestamp(q.${column}) >= ${instant(period.from)}
  AND from_iso8601_timestamp(q.${column}) < ${instant(period.to)}
ORDER BY q.${column}, q.request_id`;
}

export function reportQueries(period: ReportPeriod) {
  return {
    decisions: `SELECT d.request_id,
       d.at AS decided_at,
       json_extract_scalar(d.data, '$.decision') AS decision,
       json_format(json_extract(d.data, '$.approvers')) AS approvers,
       q.actor AS requester,
       q.at AS requested_at,
       json_extract_scalar(q.data, '$.action') AS action,
       json_extract_scalar(q.data, '$.resource') AS resource,
       json_format(json_extract(e.data, '$.policyIds')) AS policy_ids,
       json_extract_scalar(e.data, '$.classification.severity') AS severity,
       json_format(json_extract(e.data, '$.classification.categories')) AS categories,
       json_format(json_extract(e.data, '$.classification.types')) AS data_types,
       json_extract_scalar(s.data, '$.issuedAt') AS receipt_issued_at,
       json_extract_scalar(s.data, '$.receiptSha256') AS receipt_sha256
FROM ${T} d
LEFT JOIN ${T} q ON q.request_id = d.request_id AND q.kind = 'REQUESTED'
LEFT JOIN ${T} e ON e.request_id = d.request_id AND e.kind = 'EVALUATED'
LEFT JOIN ${T} s ON s.request_id = d.request_id AND s.kind = 'SIGNED'
WHERE d.kind = 'DECIDED'
  AND ${inPeriod('d', period)}
ORDER BY d.at, d.request_id`,
    refusals: `SELECT r.request_id,
       r.actor,
       r.at,
       json_extract_scalar(r.data, '$.code') AS code,
       json_extract_scalar(r.data, '$.channel') AS channel,
       json_extract_scalar(r.data, '$.vote') AS vote,
       json_extract_scalar(r.data, '$.reason') AS reason,
       q.actor AS requester
FROM ${T} r
LEFT JOIN ${T} q ON q.request_id = r.request_id AND q.kind = 'REQUESTED'
WHERE r.kind = 'REFUSED'
  AND ${inPeriod('r', period)}
ORDER BY CASE WHEN json_extract_scalar(r.data, '$.code') = '${SELF_APPROVAL_CODE}' THEN 0 ELSE 1 END, r.at, r.request_id`,
    unapprovedCalls: namedInPeriod('unapproved-privileged-calls', 'called_at', period),
    breakGlass: namedInPeriod('break-glass-reviews', 'decided_at', period),
  } as const;
}

const QUERY_PURPOSES = {
  decisions: 'Decisions of the period with request, policy, classification and receipt',
  refusals: 'Refused votes (self-approval and ineligible attempts)',
  unapprovedCalls: 'Unapproved privileged calls and their reviews',
  breakGlass: 'Break-glass uses and their reviews',
} as const satisfies Record<keyof ReturnType<typeof reportQueries>, string>;

function secondsBetween(from: string | null, to: string): number | null {
  if (from === null) return null;
  const seconds = (Date.parse(to) - Date.parse(from)) / 1000;
  return Number.isFinite(seconds) ? seconds : null;
}

/**
 * The receipt as archived (its SHA-256 in the SIGNED record) against the receipt itself: the same
 * bytes, signed under a published key, valid when it was issued, for this request and decision.
 * Anything that cannot be checked is not verified (fail closed).
 */
export async function checkReceipt(
  deps: Pick<EvidenceDeps, 'receiptOf' | 'receiptKeys'>,
  row: Row,
): Promise<ReceiptCheck> {
  const requestId = cell(row, 'request_id')!;
  if (cell(row, 'receipt_sha256') === null)
    return { status: ReceiptStatus.none, detail: 'no receipt was signed' };
  const fetched: ReceiptFetch = await deps.receiptOf(requestId).catch((error: unknown) => ({
    unavailable: (error as Error).message,
  }));
  if ('unavailable' in fetched) return { status: ReceiptStatus.unavailable, detail: fetched.unavailable };
  if (deps.receiptKeys === undefined) {
    return { status: ReceiptStatus.failed, detail: 'the receipt keys (JWKS) could not be fetched' };
  }
  try {
    if (receiptFingerprint(fetched.jws).sha256 !== cell(row, 'receipt_sha256')) {
      return { status: ReceiptStatus.failed, detail: 'the receipt is not the one the archive recorded' };
    }
    const issuedAt = Date.parse(cell(row, 'receipt_issued_at') ?? '');
    const claims = await verifyReceipt(fetched.jws, {
      keys: deps.receiptKeys,
      ...(Number.isNaN(issuedAt) ? {} : { now: new Date(issuedAt) }),
    });
    if (claims.requestId !== requestId || claims.decision !== cell(row, 'decision')) {
      return { status: ReceiptStatus.failed, detail: 'the receipt is for another request or decision' };
    }
    return { status: ReceiptStatus.verified, detail: 'signature verifies against the receipt JWKS' };
  } catch (error) {
    if (!(error instanceof ReceiptError)) throw error;
    return { status: ReceiptStatus.failed, detail: error.message };
  }
}

function decisionOf(row: Row, receipt: ReceiptCheck): DecisionEvidence {
  return {
    requestId: cell(row, 'request_id')!,
    decidedAt: cell(row, 'decided_at')!,
    decision: cell(row, 'decision') ?? 'UNKNOWN',
    requester: cell(row, 'requester'),
    requestedAt: cell(row, 'requested_at'),
    action: cell(row, 'action'),
    resource: cell(row, 'resource'),
    approvers: stringArray(cell(row, 'approvers')),
    policyIds: stringArray(cell(row, 'policy_ids')),
    severity: cell(row, 'severity'),
    categories: stringArray(cell(row, 'categories')),
    dataTypes: stringArray(cell(row, 'data_types')),
    receipt,
    secondsToDecision: secondsBetween(cell(row, 'requested_at'), cell(row, 'decided_at')!),
  };
}

async function verification(deps: EvidenceDeps): Promise<ArchiveVerification> {
  try {
    const report = await deps.verifyArchive();
    const holds = report.problems.length === 0;
    return {
      holds,
      summary: `${report.digests} digest(s), ${report.objects} object(s), ${report.records} record(s) of ${report.requests} request(s) checked; ${report.pendingObjects} object(s) not digested yet; ${holds ? 'the archive holds' : `${report.problems.length} problem(s)`}`,
      problems: report.problems.map((problem) => `${problem.key}: ${problem.problem}`),
    };
  } catch (error) {
    return {
      holds: false,
      summary: `the archive could not be verified: ${(error as Error).message}`,
      problems: [],
    };
  }
}

export async function gatherEvidence(
  deps: EvidenceDeps,
  period: ReportPeriod,
  now = new Date(),
): Promise<EvidenceReport> {
  const sql = reportQueries(period);
  const queries: ExecutedQuery[] = [];
  const results = {} as Record<keyof typeof sql, Row[]>;
  for (const name of Object.keys(sql) as (keyof typeof sql)[]) {
    const run = await deps.query(sql[name]);
    results[name] = distinctRows(run);
    queries.push({
      purpose: QUERY_PURPOSES[name],
      executionId: run.executionId,
      sql: sql[name],
      rows: results[name].length,
      bytesScanned: run.bytesScanned,
    });
  }
  const decisions: DecisionEvidence[] = [];
  for (const row of results.decisions) decisions.push(decisionOf(row, await checkReceipt(deps, row)));
  return {
    period,
    generatedAt: now,
    decisions,
    refusals: results.refusals,
    unapprovedCalls: results.unapprovedCalls,
    breakGlass: results.breakGlass,
    verification: await verification(deps),
    queries,
  };
}
