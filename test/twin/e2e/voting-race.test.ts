/**
 * 50 reviewers vote on one request at the same moment, across the REST API, Slack and Teams:
 * exactly one decision, every accepted vote stored (and no other), every loser told why.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startLocalTwin } from '../../../local/product/local-twin.ts';
import type { RunningTwin } from '../../../local/twin/index.ts';
import { postSlack, postTeams, slackForm, teamsServiceUrl, twinBotIssuer } from '../../support/doors.ts';
import { directoryWithReviewers, type Reviewer } from '../../support/reviewers.ts';
import { agentRequest, demoAgent, E2eClient, idOf, removeDir, tempDir } from './harness.ts';

const REVIEWERS = 50;

let twin: RunningTwin;
let client: E2eClient;
let dataDir: string;
let reviewers: Reviewer[];
let slack: { signingSecret: string; channel: string };
let teamsAppId: string;
let conversationId: string;

beforeAll(async () => {
  dataDir = await tempDir('race');
  const made = await directoryWithReviewers(dataDir, REVIEWERS);
  reviewers = made.reviewers;
  slack = made.directory.slack;
  teamsAppId = made.directory.teams.appId;
  conversationId = made.directory.teams.conversationId;
  twin = await startLocalTwin({
    port: 0,
    host: '127.0.0.1',
    dataDir: `${dataDir}/twin`,
    log: () => undefined,
    directoryPath: made.path,
  });
  client = new E2eClient(twin, await demoAgent());
});

afterAll(async () => {
  client?.destroy();
  await twin?.stop();
  if (dataDir !== undefined) await removeDir(dataDir);
});

async function outbox(): Promise<{ method: string; body: Record<string, unknown> }[]> {
  const response = await fetch(`${twin.url}/local/outbox`);
  return ((await response.json()) as { items: { method: string; body: Record<string, unknown> }[] }).items;
}

describe('50 reviewers at once', () => {
  it('decide exactly once; every accepted vote is stored; every loser is told why', {
    timeout: 120_000,
  }, async () => {
    const request = agentRequest(client.agent);
    await client.send(request);
    const requestId = idOf(request);
    await client.waitForPending(requestId);
    const issuer = await twinBotIssuer(twin);
    // Every token first, so the votes themselves start together.
    await Promise.all(reviewers.map((reviewer) => client.token(reviewer.id)));

    const channelOf = (index: number) => (['api', 'slack', 'teams'] as const)[index % 3]!;
    const answers = await Promise.all(
      reviewers.map(async (reviewer, index) => {
        const channel = channelOf(index);
        if (channel === 'api') {
          const answer = await client.vote(requestId, reviewer.id, 'approve');
          return { reviewer, channel, status: answer.status, text: JSON.stringify(answer.body) };
        }
        if (channel === 'slack') {
          const answer = await postSlack(
            twin,
            slack.signingSecret,
            slackForm({
              type: 'block_actions',
              user: { id: reviewer.slackUserId },
              trigger_id: `trigger-${reviewer.id}`,
              channel: { id: slack.channel },
              actions: [
                {
                  action_id: 'countersign_approve',
                  value: requestId,
                  action_ts: `${Math.floor(Date.now() / 1000)}.${randomUUID().slice(0, 6)}`,
                },
              ],
            }),
          );
          return { reviewer, channel, status: answer.status, text: answer.text };
        }
        const answer = await postTeams(
          twin,
          issuer,
          teamsAppId,
          JSON.stringify({
            type: 'invoke',
            name: 'adaptiveCard/action',
            id: `f:${randomUUID()}`,
            serviceUrl: teamsServiceUrl(twin),
            channelId: 'msteams',
            from: { id: `29:${reviewer.teamsAadObjectId}`, aadObjectId: reviewer.teamsAadObjectId },
            conversation: { id: `${conversationId};messageid=1` },
            value: {
              action: { type: 'Action.Execute', verb: 'approve', data: { requestId } },
              trigger: 'manual',
            },
          }),
        );
        return { reviewer, channel, status: answer.status, text: answer.text };
      }),
    );
    // Nothing failed as a server: each channel answered as it answers a vote.
    for (const answer of answers)
      expect([200, 201, 409], `${answer.channel}: ${answer.text}`).toContain(answer.status);

    const decided = await client.waitForDecision(requestId);
    expect(decided).toMatchObject({ status: 'APPROVED', decision: 'APPROVED' });
    const detail = (await client.detail(requestId))!;
    expect(detail.timeline.filter((record) => record.kind === 'DECIDED')).toHaveLength(1);
    // The quorum is one: the approvers are exactly the votes stored before the decision.
    const stored = new Set(detail.request.votes.map((vote) => vote.voterId));
    expect(stored.size).toBe(detail.request.votes.length);
    expect(decided.approvers.length).toBeGreaterThanOrEqual(1);
    for (const approver of decided.approvers) expect(stored.has(approver)).toBe(true);

    // REST: 201 exactly for the votes stored, 409 NOT_PENDING (told why) for the rest.
    for (const answer of answers.filter((candidate) => candidate.channel === 'api')) {
      if (answer.status === 201) expect(stored.has(answer.reviewer.id)).toBe(true);
      else expect(JSON.parse(answer.text)).toMatchObject({ error: { code: 'NOT_PENDING' } });
    }
    // Slack acknowledges at once and votes behind it: whoever's vote was not stored gets an ephemeral.
    const slackLosers = answers
      .filter((answer) => answer.channel === 'slack' && !stored.has(answer.reviewer.id))
      .map((answer) => answer.reviewer.slackUserId);
    await vi.waitFor(
      async () => {
        const told = new Set(
          (await outbox())
            .filter((entry) => entry.method === 'chat.postEphemeral')
            .map((entry) => entry.body.user as string),
        );
        for (const user of slackLosers) expect(told.has(user), `Slack user ${user} was not told`).toBe(true);
      },
      { timeout: 30_000, interval: 200 },
    );
    // Teams answers the invoke with the card: a loser's says why.
    for (const answer of answers.filter((candidate) => candidate.channel === 'teams')) {
      if (!stored.has(answer.reviewer.id)) expect(answer.text).toContain('no longer waiting for approval');
    }
    // Every stored vote came from someone whose channel accepted it.
    const accepted = new Set(
      answers.filter((answer) => answer.status < 300).map((answer) => answer.reviewer.id),
    );
    for (const voter of stored) expect(accepted.has(voter)).toBe(true);
  });
});
