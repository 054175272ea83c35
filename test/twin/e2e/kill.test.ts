/**
 * Kill it mid-flight: the twin runs as its own process; 100 requests wait for two approvals each;
 * 20 reviewers vote concurrently through the REST API and Teams; the twin is SIGKILLed in the middle
 * of it, restarted on the same data dir, and the votes are finished. Then: every request decided
 * exactly once, with its quorum; every vote that got a 2xx is stored; each execution ended once and
 * succeeded; each decision carries a receipt that verifies; the chat messages show the decisions.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { verifyReceipt } from '../../../lambdas/domain/receipt.ts';
import type { RunningTwin } from '../../../local/twin/index.ts';
import { postTeams, teamsServiceUrl, twinBotIssuer } from '../../support/doors.ts';
import { directoryWithReviewers } from '../../support/reviewers.ts';
import {
  agentRequest,
  demoAgent,
  E2eClient,
  idOf,
  policyDirWith,
  REPO_ROOT,
  removeDir,
  tempDir,
} from './harness.ts';

const REQUESTS = 100;
const REVIEWERS = 20;
const TWO_APPROVALS = `@id("kill-test-two-platform")
@reason("the kill test wants two approvals for every request")
@approval("platform")
@quorum("2")
@timeout("PT1H")
permit (principal, action in Action::"privileged", resource);
`;

const children: ChildProcess[] = [];
const dirs: string[] = [];

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of dirs) await removeDir(dir);
});

interface TwinProcess {
  readonly child: ChildProcess;
  readonly twin: RunningTwin;
}

async function startProcess(dataDir: string, directoryPath: string, policyDir: string): Promise<TwinProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/twin/e2e/support/twin-process.ts', dataDir, directoryPath, policyDir],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    if (!line.startsWith('{"url"')) continue;
    const { url, operator } = JSON.parse(line) as {
      url: string;
      operator: RunningTwin['operatorCredentials'];
    };
    // The client needs only these of a running twin.
    const twin = {
      url,
      endpoint: url,
      region: 'local',
      dataDir,
      operatorCredentials: operator,
    } as RunningTwin;
    return { child, twin };
  }
  throw new Error('the twin process ended before it served');
}

async function killed(process: TwinProcess): Promise<void> {
  const exited = new Promise((resolve) => process.child.once('exit', resolve));
  process.child.kill('SIGKILL');
  await exited;
}

describe('kill it mid-flight', () => {
  it(`${REQUESTS} requests, ${REVIEWERS} reviewers, SIGKILL in the middle: nothing lost, nothing decided twice`, {
    timeout: 600_000,
  }, async () => {
    const dir = await tempDir('kill');
    dirs.push(dir);
    const { path, directory, reviewers } = await directoryWithReviewers(dir, REVIEWERS);
    const policyDir = await policyDirWith({ 'kill-test.cedar': TWO_APPROVALS });
    dirs.push(policyDir);
    const dataDir = `${dir}/twin`;
    const agent = await demoAgent();

    let running = await startProcess(dataDir, path, policyDir);
    let client = new E2eClient(running.twin, agent);
    const requests = Array.from({ length: REQUESTS }, () => agentRequest(agent));
    for (let index = 0; index < REQUESTS; index += 10)
      await client.send(...requests.slice(index, index + 10));
    const ids = requests.map(idOf);
    for (const id of ids) {
      await client.waitFor(
        id,
        ({ timeline }) => timeline.some((record) => record.kind === 'NOTIFIED'),
        120_000,
      );
    }

    // Three different reviewers vote on each request (two decide it), across the REST API and Teams.
    const ballots = ids.flatMap((id, index) =>
      [0, 1, 2].map((offset) => ({
        id,
        reviewer: reviewers[(index + offset * 7) % REVIEWERS]!,
        via: (index + offset) % 2,
      })),
    );
    const accepted: { id: string; voter: string }[] = [];
    const send = async (ballot: (typeof ballots)[number], target: TwinProcess) => {
      try {
        if (ballot.via === 0) {
          const answer = await new E2eClient(target.twin, agent).vote(
            ballot.id,
            ballot.reviewer.id,
            'approve',
          );
          if (answer.status === 201) accepted.push({ id: ballot.id, voter: ballot.reviewer.id });
          return;
        }
        const issuer = await twinBotIssuer(target.twin);
        const answer = await postTeams(
          target.twin,
          issuer,
          directory.teams.appId,
          JSON.stringify({
            type: 'invoke',
            name: 'adaptiveCard/action',
            id: `f:${randomUUID()}`,
            serviceUrl: teamsServiceUrl(target.twin),
            channelId: 'msteams',
            from: {
              id: `29:${ballot.reviewer.teamsAadObjectId}`,
              aadObjectId: ballot.reviewer.teamsAadObjectId,
            },
            conversation: { id: `${directory.teams.conversationId};messageid=1` },
            value: {
              action: { type: 'Action.Execute', verb: 'approve', data: { requestId: ballot.id } },
              trigger: 'manual',
            },
          }),
        );
        if (answer.status === 200 && !/no longer waiting|already voted/i.test(answer.text)) {
          accepted.push({ id: ballot.id, voter: ballot.reviewer.id });
        }
      } catch {
        // The connection died with the twin: not acknowledged, so not counted as accepted.
      }
    };
    // Tokens first (the dev issuer's key survives the restart).
    await Promise.all(reviewers.map((reviewer) => client.token(reviewer.id)));
    const first = ballots.slice(0, ballots.length / 2);
    const inFlight = Promise.all(first.map((ballot) => send(ballot, running)));
    await new Promise((resolve) => setTimeout(resolve, 400));
    await killed(running);
    await inFlight;

    running = await startProcess(dataDir, path, policyDir);
    client.destroy();
    client = new E2eClient(running.twin, agent);
    await Promise.all(ballots.slice(first.length).map((ballot) => send(ballot, running)));
    // Finish: anything still pending gets votes from the rest of the reviewers, one at a time.
    for (const id of ids) {
      for (const reviewer of reviewers) {
        const detail = await client.detail(id, reviewers[0]!.id);
        if (detail?.request.status !== 'PENDING') break;
        await send({ id, reviewer, via: 0 }, running);
      }
    }

    const sfn = new SFNClient({
      endpoint: running.twin.endpoint,
      region: 'local',
      credentials: { ...running.twin.operatorCredentials },
    });
    const jwks = (await (await fetch(`${running.twin.url}/api/receipts/jwks.json`)).json()) as {
      keys: Record<string, string>[];
    };
    for (const id of ids) {
      const decided = await client.waitForDecision(id, 60_000);
      expect(decided, id).toMatchObject({ status: 'APPROVED', decision: 'APPROVED' });
      const detail = (await client.detail(id, reviewers[0]!.id))!;
      const voters = detail.request.votes.map((vote) => vote.voterId);
      expect(new Set(voters).size, `${id}: a voter twice`).toBe(voters.length);
      expect(detail.request.approvers.length, `${id}: decided without its quorum`).toBeGreaterThanOrEqual(2);
      for (const approver of detail.request.approvers) expect(voters).toContain(approver);
      expect(
        detail.timeline.filter((record) => record.kind === 'DECIDED'),
        `${id}: decided twice`,
      ).toHaveLength(1);
      for (const { voter } of accepted.filter((vote) => vote.id === id)) {
        expect(voters, `${id}: an accepted vote of ${voter} was lost`).toContain(voter);
      }
      const receipt = await vi.waitFor(
        async () => {
          const found = (await client.detail(id, reviewers[0]!.id))?.request.receipt;
          if (found === undefined) throw new Error(`${id}: no receipt yet`);
          return found;
        },
        { timeout: 60_000, interval: 200 },
      );
      await expect(
        verifyReceipt(receipt, { keys: jwks, actionHash: decided.actionHash, agentId: agent.id }),
      ).resolves.toMatchObject({ requestId: id, decision: 'APPROVED' });
    }
    // Each request's execution ended once, and succeeded: its decision reached the workflow.
    await vi.waitFor(
      async () => {
        const { executions } = await sfn.send(
          new ListExecutionsCommand({
            stateMachineArn:
              'arn:aws:states:local:000000000000:stateMachine:ApprovalWorkflowStateMachine8774E493',
            maxResults: 1000,
          }),
        );
        const statuses = (executions ?? []).map((execution) => execution.status);
        expect(statuses.filter((status) => status === 'RUNNING')).toEqual([]);
        expect(statuses.filter((status) => status === 'SUCCEEDED')).toHaveLength(REQUESTS);
      },
      { timeout: 60_000, interval: 500 },
    );
    sfn.destroy();
    client.destroy();
    await killed(running);
  });
});
