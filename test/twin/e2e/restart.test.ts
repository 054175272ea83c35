/** A pending approval survives a restart of the twin, and approving it afterwards completes it. */
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunningTwin } from '../../../local/twin/index.ts';
import { agentRequest, demoAgent, E2eClient, idOf, removeDir, startE2eTwin, tempDir } from './harness.ts';

const running: { twin: RunningTwin; client: E2eClient }[] = [];
let dataDir: string | undefined;

async function start(dir: string) {
  const twin = await startE2eTwin({ dataDir: dir });
  const client = new E2eClient(twin, await demoAgent());
  running.push({ twin, client });
  return client;
}

afterAll(async () => {
  for (const { twin, client } of running) {
    client.destroy();
    await twin.stop();
  }
  if (dataDir !== undefined) await removeDir(dataDir);
});

describe('restart', () => {
  it('keeps a pending approval across a restart; approving it afterwards completes the workflow', async () => {
    dataDir = await tempDir('restart');
    const before = await start(dataDir);
    const request = agentRequest(before.agent);
    await before.send(request);
    const pending = await before.waitForPending(idOf(request));
    expect(pending).toMatchObject({ status: 'PENDING', policy: { decision: 'REQUIRE_APPROVAL', quorum: 1 } });
    await before.twin.stop();

    const after = await start(dataDir);
    const { request: kept } = (await after.detail(idOf(request)))!;
    expect(kept).toMatchObject({ status: 'PENDING', executionArn: pending.executionArn });

    expect(await after.vote(idOf(request), 'carol', 'approve', 'after the restart')).toMatchObject({
      status: 201,
      body: { decided: true },
    });
    expect(await after.waitForDecision(idOf(request))).toMatchObject({
      status: 'APPROVED',
      approvers: ['carol'],
    });
    await expect
      .poll(
        async () =>
          (await after.sfn.send(new DescribeExecutionCommand({ executionArn: pending.executionArn }))).status,
        { timeout: 20_000 },
      )
      .toBe('SUCCEEDED');
    const notifications = (await after.detail(idOf(request)))!.timeline.filter(
      (record) => record.kind === 'NOTIFIED',
    );
    expect(notifications).toHaveLength(1);
  }, 120_000); // two twin starts (every function's worker prewarmed), as the e2e harness allows one
});
