/**
 * `countersign calls [--status UNAPPROVED]`: privileged AWS calls (CloudTrail) as reconciled with
 * approvals, newest first, with their after-the-fact reviews. Exit codes: 0 listed, 1 the twin
 * answered an error, 2 bad usage.
 */
import { CallStatusValue, type PrivilegedCall } from '../../../lambdas/domain/privileged-calls.ts';
import { runListing } from './list.ts';

const USAGE =
  'countersign calls [--status MATCHED|UNAPPROVED|FAILED_CALL|NOT_AN_AGENT|BREAK_GLASS] [--limit N] [--cursor C] [--as <user>] [--json] [--url <twin>]';

export const CALL_COLUMNS = [
  { header: 'EVENT', value: (call: PrivilegedCall) => call.eventId },
  { header: 'TIME', value: (call: PrivilegedCall) => call.eventTime },
  { header: 'STATUS', value: (call: PrivilegedCall) => call.status },
  { header: 'ACTION', value: (call: PrivilegedCall) => call.action },
  { header: 'AGENT', value: (call: PrivilegedCall) => call.agentId ?? call.principalArn },
  { header: 'RESOURCE', value: (call: PrivilegedCall) => call.resourceArn ?? '-' },
  { header: 'REQUEST', value: (call: PrivilegedCall) => call.requestId ?? '-' },
  { header: 'REVIEW', value: (call: PrivilegedCall) => call.review?.status ?? '-' },
] as const;

export function run(args: string[]): Promise<number> {
  return runListing(args, {
    name: 'calls',
    usage: USAGE,
    path: '/api/privileged-calls',
    statuses: CallStatusValue,
    columns: CALL_COLUMNS,
    none: 'no privileged calls',
  });
}
