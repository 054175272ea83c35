import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirLockedError, type RunningTwin } from '../../../local/twin/index.ts';
import {
  approvalItem,
  clients,
  eventually,
  removeDir,
  STATE_MACHINE_ARN,
  startFixtureTwin,
  tempDataDir,
} from './helpers.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function freshDataDir(): Promise<string> {
  const dataDir = await tempDataDir();
  cleanups.push(() => removeDir(dataDir));
  return dataDir;
}

async function start(dataDir: string, reset = false): Promise<RunningTwin> {
  const twin = await startFixtureTwin(dataDir, { reset });
  cleanups.push(() => twin.stop());
  return twin;
}

describe('restart', () => {
  it('re-drives a RUNNING execution under the same ARN; the old token is dead, the new one completes it', async () => {
    const dataDir = await freshDataDir();
    const first = await start(dataDir);
    const operator = first.operatorCredentials;
    const { sfn, dynamodb } = clients(first);
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: STATE_MACHINE_ARN,
        name: 'survives-restart',
        input: JSON.stringify({ id: 'e1', detail: { requestId: 'restart-1' } }),
      }),
    );
    const before = await eventually(() => approvalItem(dynamodb, 'restart-1'));
    await first.stop();

    const second = await start(dataDir);
    expect(second.operatorCredentials).toEqual(operator);
    const after = clients(second);
    const redriven = await eventually(async () => {
      const item = await approvalItem(after.dynamodb, 'restart-1');
      return item !== undefined && item.invocations === 2 ? item : undefined;
    });
    expect(redriven.taskToken).not.toBe(before.taskToken);
    const running = await after.sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(running).toMatchObject({ status: 'RUNNING', redriveCount: 1 });

    await expect(
      after.sfn.send(new SendTaskSuccessCommand({ taskToken: before.taskToken, output: '{}' })),
    ).rejects.toMatchObject({ name: 'TaskTimedOut' });
    await after.sfn.send(
      new SendTaskSuccessCommand({ taskToken: redriven.taskToken, output: '{"decision":"APPROVED"}' }),
    );
    const done = await second.stepFunctions.waitForCompletion(executionArn!);
    expect(done).toMatchObject({ executionArn, status: 'SUCCEEDED' });
    const { events } = await after.sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    const types = events?.map((event) => event.type) ?? [];
    expect(types[0]).toBe('ExecutionStarted');
    expect(types).toContain('ExecutionRedriven');
    expect(types.at(-1)).toBe('ExecutionSucceeded');
  });

  it('keeps finished executions and the table across a restart, and --reset wipes them', async () => {
    const dataDir = await freshDataDir();
    const first = await start(dataDir);
    const { sfn } = clients(first);
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: STATE_MACHINE_ARN,
        input: JSON.stringify({ id: 'e2', detail: { outcome: 'ALLOW' } }),
      }),
    );
    await first.stepFunctions.waitForCompletion(executionArn!);
    await first.stop();

    const second = await start(dataDir);
    const described = await clients(second).sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(described.status).toBe('SUCCEEDED');
    await second.stop();

    const third = await start(dataDir, true);
    expect(third.operatorCredentials).not.toEqual(second.operatorCredentials);
    await expect(
      clients(third).sfn.send(new DescribeExecutionCommand({ executionArn })),
    ).rejects.toMatchObject({
      name: 'ExecutionDoesNotExist',
    });
  });
});

describe('the data dir lock', () => {
  it('refuses a second twin on the same data dir with a clear message', async () => {
    const dataDir = await freshDataDir();
    await start(dataDir);
    const second = startFixtureTwin(dataDir);
    await expect(second).rejects.toBeInstanceOf(DataDirLockedError);
    await expect(second).rejects.toThrow(/already running on .*--data-dir/);
  });

  it('takes over the lock of a process that is gone', async () => {
    const dataDir = await freshDataDir();
    const gone = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid;
    await writeFile(join(dataDir, 'twin.lock'), `${gone}\n`);
    const twin = await start(dataDir);
    expect(twin.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});
