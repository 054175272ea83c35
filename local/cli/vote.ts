/**
 * `approve` and `deny`: one reviewer's vote through the REST API, with a token for that reviewer
 * from the twin's dev issuer. Refusals (self-approval, not in group, already voted …) come back
 * from the API with their reason and exit 1.
 */
import type { RequestRecord } from '../../lambdas/domain/schemas.ts';
import { ExitCode, parseCommandLine, printJson, runCommand, UsageError } from './output.ts';
import { TwinClient, twinUrl } from './twin-client.ts';

export type VoteKind = 'approve' | 'deny';

const USAGE: Record<VoteKind, string> = {
  approve:
    'countersign approve <requestId> --as <user> [--reason <text>] [--step-up <resource name>] [--json] [--url <twin>]',
  deny: 'countersign deny <requestId> --as <user> --reason <text> [--json] [--url <twin>]',
};

export function describeOutcome(
  kind: VoteKind,
  voter: string,
  record: RequestRecord,
  decided: boolean,
): string {
  const verb = kind === 'approve' ? 'approved' : 'denied';
  if (decided)
    return `${voter} ${verb} ${record.requestId}: the request is now ${record.status} (${record.decision})`;
  const approvals = new Set(
    record.votes.filter((vote) => vote.vote === 'approve').map((vote) => vote.voterId),
  ).size;
  return `${voter} ${verb} ${record.requestId}: ${approvals} of ${record.policy.quorum} approvals, still ${record.status}`;
}

export async function runVote(kind: VoteKind, args: string[]): Promise<number> {
  return runCommand(kind, USAGE[kind], args, async () => {
    const { values, positionals } = parseCommandLine({
      args,
      allowPositionals: true,
      options: {
        as: { type: 'string' },
        reason: { type: 'string' },
        ...(kind === 'approve' ? { 'step-up': { type: 'string' } as const } : {}),
        json: { type: 'boolean', default: false },
        url: { type: 'string' },
      },
    });
    const [requestId, ...extra] = positionals;
    if (requestId === undefined || extra.length > 0)
      throw new UsageError('exactly one <requestId> is required');
    if (values.as === undefined) throw new UsageError('--as <user> is required: who is voting?');
    if (kind === 'deny' && (values.reason ?? '').trim() === '') {
      throw new UsageError('--reason is required to deny');
    }
    const client = new TwinClient(twinUrl(values.url));
    // A step-up approval carries the resource name the reviewer confirms; the server checks it.
    const stepUp = (values as { 'step-up'?: string })['step-up'];
    const body = {
      vote: kind,
      ...(values.reason === undefined ? {} : { reason: values.reason }),
      ...(stepUp === undefined ? {} : { stepUpConfirmation: stepUp }),
    };
    const result = (await client.api(
      'POST',
      `/api/requests/${encodeURIComponent(requestId)}/votes`,
      values.as,
      body,
    )) as {
      request: RequestRecord;
      decided: boolean;
    };
    if (values.json) printJson(result);
    else console.log(describeOutcome(kind, values.as, result.request, result.decided));
    return ExitCode.ok;
  });
}
