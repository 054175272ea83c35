/** `countersign list [--status PENDING]`: the twin's requests, newest first. */
import { type RequestRecord, RequestStatusValue } from '../../../lambdas/domain/schemas.ts';
import { readLocalConfig } from '../../product/config.ts';
import { ExitCode, parseCommandLine, printJson, renderTable, runCommand, UsageError } from '../output.ts';
import { readerIdentity, TwinClient, twinUrl } from '../twin-client.ts';

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

function listQuery(values: { status?: string; limit?: string; cursor?: string }): string {
  const query = new URLSearchParams();
  if (values.status !== undefined) {
    const status = RequestStatusValue.safeParse(values.status.toUpperCase());
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

export async function run(args: string[]): Promise<number> {
  return runCommand('list', USAGE, args, async () => {
    const { values } = parseCommandLine({
      args,
      options: {
        status: { type: 'string' },
        limit: { type: 'string' },
        cursor: { type: 'string' },
        as: { type: 'string' },
        json: { type: 'boolean', default: false },
        url: { type: 'string' },
        config: { type: 'string' },
      },
    });
    const query = listQuery(values);
    const config = await readLocalConfig(values.config);
    const client = new TwinClient(twinUrl(values.url));
    const page = (await client.api('GET', `/api/requests${query}`, readerIdentity(values.as, config))) as {
      items: RequestRecord[];
      cursor?: string;
    };
    if (values.json) {
      printJson(page);
    } else if (page.items.length === 0) {
      console.log('no requests');
    } else {
      console.log(renderTable(page.items, REQUEST_COLUMNS));
      if (page.cursor !== undefined) console.log(`\nmore: countersign list --cursor ${page.cursor}`);
    }
    return ExitCode.ok;
  });
}
