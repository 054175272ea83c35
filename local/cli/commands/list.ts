/** `countersign list [--status PENDING]`: the twin's requests, newest first. */
import * as z from 'zod';
import { type RequestRecord, RequestStatusValue } from '../../../lambdas/domain/schemas.ts';
import {
  type Column,
  ExitCode,
  parseCommandLine,
  printJson,
  renderTable,
  runCommand,
  UsageError,
} from '../output.ts';
import { READER_OPTIONS, readAs } from '../twin-client.ts';

const USAGE =
  'countersign list [--status PENDING|APPROVED|DENIED|EXPIRED] [--limit N] [--cursor C] [--as <user>] [--json] [--url <twin>]';

function approvalProgress(record: RequestRecord): string {
  if (record.policy.decision !== 'REQUIRE_APPROVAL') return '-';
  const approvers = new Set(
    record.votes.filter((vote) => vote.vote === 'approve').map((vote) => vote.voterId),
  );
  return `${approvers.size}/${record.policy.quorum}`;
}

export const REQUEST_COLUMNS = [
  { header: 'REQUEST', value: (record: RequestRecord) => record.requestId },
  { header: 'STATUS', value: (record: RequestRecord) => record.status },
  { header: 'DECISION', value: (record: RequestRecord) => record.decision ?? '-' },
  { header: 'APPROVALS', value: approvalProgress },
  { header: 'AGENT', value: (record: RequestRecord) => record.agent.id },
  { header: 'ACTION', value: (record: RequestRecord) => record.action },
  { header: 'RESOURCE', value: (record: RequestRecord) => record.resource.arn },
] as const;

/** The query of a paged listing (`--status`, `--limit`, `--cursor`), the status checked against `statuses`. */
function listQuery(
  values: { status?: string; limit?: string; cursor?: string },
  statuses: z.core.$ZodType<string>,
): string {
  const query = new URLSearchParams();
  if (values.status !== undefined) {
    const status = z.safeParse(statuses, values.status.toUpperCase());
    if (!status.success) throw new UsageError(`unknown status "${values.status}"`);
    query.set('status', status.data);
  }
  if (values.limit !== undefined) {
    if (!/^[1-9]\d*$/.test(values.limit)) throw new UsageError('--limit must be a positive whole number');
    query.set('limit', values.limit);
  }
  if (values.cursor !== undefined) query.set('cursor', values.cursor);
  return query.size > 0 ? `?${query}` : '';
}

/** A paged listing through the API: `--status` checked against `statuses`, a table or `--json`. */
export function runListing<Row>(
  args: string[],
  listing: {
    readonly name: string;
    readonly usage: string;
    readonly path: string;
    readonly statuses: z.core.$ZodType<string>;
    readonly columns: readonly Column<Row>[];
    /** What is printed when there is nothing to list. */
    readonly none: string;
  },
): Promise<number> {
  return runCommand(listing.name, listing.usage, args, async () => {
    const { values } = parseCommandLine({
      args,
      options: {
        status: { type: 'string' },
        limit: { type: 'string' },
        cursor: { type: 'string' },
        ...READER_OPTIONS,
      },
    });
    const query = listQuery(values, listing.statuses);
    const { body } = await readAs(values, `${listing.path}${query}`);
    const page = body as { items: Row[]; cursor?: string };
    if (values.json) {
      printJson(page);
    } else if (page.items.length === 0) {
      console.log(listing.none);
    } else {
      console.log(renderTable(page.items, listing.columns));
      if (page.cursor !== undefined)
        console.log(`\nmore: countersign ${listing.name} --cursor ${page.cursor}`);
    }
    return ExitCode.ok;
  });
}

export function run(args: string[]): Promise<number> {
  return runListing(args, {
    name: 'list',
    usage: USAGE,
    path: '/api/requests',
    statuses: RequestStatusValue,
    columns: REQUEST_COLUMNS,
    none: 'no requests',
  });
}
