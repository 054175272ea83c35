/** `countersign show <id>`: one request in full, with its votes, audit timeline and whether you may vote. */

import type { RequestDetailBody } from '../../../lambdas/http/bodies.ts';
import {
  ExitCode,
  parseCommandLine,
  printJson,
  renderFields,
  renderTable,
  runCommand,
  UsageError,
} from '../output.ts';
import { READER_OPTIONS, readAs } from '../twin-client.ts';

const USAGE = 'countersign show <requestId> [--as <user>] [--json] [--url <twin>]';

export function renderDetail(detail: RequestDetailBody, viewer: string): string {
  const { request, timeline, canVote } = detail;
  const policy = request.policy;
  const fields: [string, string][] = [
    ['Request', request.requestId],
    ['Status', request.decision === undefined ? request.status : `${request.status} (${request.decision})`],
    [
      'Agent',
      request.agent.onBehalfOf
        ? `${request.agent.id} on behalf of ${request.agent.onBehalfOf}`
        : request.agent.id,
    ],
    ['Action', request.action],
    [
      'Resource',
      request.resource.type ? `${request.resource.arn} (${request.resource.type})` : request.resource.arn,
    ],
    ['Parameters', JSON.stringify(request.parameters)],
    ['Justification', request.justification],
    [
      'Policy',
      `${policy.decision}${policy.groups.length > 0 ? ` by ${policy.groups.join(', ')}, quorum ${policy.quorum}` : ''}`,
    ],
    ['Policy reason', policy.reason],
    ['Action hash', request.actionHash],
    ['Created', request.createdAt],
  ];
  if (request.expiresAt !== undefined) fields.push(['Expires', request.expiresAt]);
  if (request.decidedAt !== undefined) fields.push(['Decided', request.decidedAt]);
  if (request.reason !== undefined) fields.push(['Reason', request.reason]);
  fields.push(['Execution', request.executionArn]);
  fields.push([`Can ${viewer} vote`, canVote.eligible ? 'yes' : `no: ${canVote.message} (${canVote.code})`]);

  const sections = [renderFields(fields)];
  if (request.votes.length > 0) {
    sections.push(
      `Votes\n${renderTable(request.votes, [
        { header: 'VOTER', value: (vote) => vote.voterId },
        { header: 'VOTE', value: (vote) => vote.vote },
        { header: 'CHANNEL', value: (vote) => vote.channel },
        { header: 'AT', value: (vote) => vote.at },
        { header: 'REASON', value: (vote) => vote.reason ?? '' },
      ])}`,
    );
  }
  if (timeline.length > 0) {
    sections.push(
      `Timeline\n${renderTable(timeline, [
        { header: 'AT', value: (record) => record.at },
        { header: 'WHAT', value: (record) => record.kind },
        { header: 'WHO', value: (record) => record.actor },
      ])}`,
    );
  }
  return sections.join('\n\n');
}

export async function run(args: string[]): Promise<number> {
  return runCommand('show', USAGE, args, async () => {
    const { values, positionals } = parseCommandLine({
      args,
      allowPositionals: true,
      options: READER_OPTIONS,
    });
    const [requestId, ...extra] = positionals;
    if (requestId === undefined || extra.length > 0)
      throw new UsageError('exactly one <requestId> is required');
    const { body, viewer } = await readAs(values, `/api/requests/${encodeURIComponent(requestId)}`);
    const detail = body as RequestDetailBody;
    if (values.json) printJson(detail);
    else console.log(renderDetail(detail, viewer));
    return ExitCode.ok;
  });
}
