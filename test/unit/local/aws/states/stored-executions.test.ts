/**
 * Finished executions with an execution store: memory keeps what ListExecutions shows, and
 * DescribeExecution and GetExecutionHistory answer in full from the execution's file, before and
 * after a restart. (Every history used to stay in memory for as long as the twin ran.)
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ExecutionStore } from '../../../../../local/aws/states/execution-store.ts';
import { LocalStepFunctions } from '../../../../../local/aws/states/step-functions.ts';

const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:Stored';
const definition = {
  StartAt: 'Double',
  States: {
    Double: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: 'double', 'Payload.$': '$' },
      OutputPath: '$.Payload',
      End: true,
    },
  },
};

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'stored-executions-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

function open(store: ExecutionStore) {
  return LocalStepFunctions.open({
    stateMachines: [{ arn: STATE_MACHINE_ARN, name: 'Stored', definition }],
    store,
    integrations: {
      invokeLambda: async (_name, payload) => ({ value: (payload as { value: number }).value * 2 }),
      putEvents: () => Promise.reject(new Error('no events in this test')),
    },
  });
}

describe('finished executions with an execution store', () => {
  it('are read from their file once it holds them, in full, and after a restart', async () => {
    const store = new ExecutionStore(directory);
    const readSync = vi.spyOn(store, 'readSync');
    const first = await open(store);
    const { executionArn } = await first.startExecution({
      stateMachineArn: STATE_MACHINE_ARN,
      name: 'twenty-one',
      input: JSON.stringify({ value: 21 }),
    });
    const done = await first.waitForCompletion(executionArn);
    expect(done).toMatchObject({ status: 'SUCCEEDED', output: JSON.stringify({ value: 42 }) });
    const history = first.getExecutionHistory({ executionArn, maxResults: 1000 }).events;
    expect(history.at(-1)?.type).toBe('ExecutionSucceeded');

    // Once the last write landed, the execution is answered from its file.
    await vi.waitFor(() => {
      readSync.mockClear();
      first.describeExecution(executionArn);
      expect(readSync).toHaveBeenCalledWith(executionArn);
    });
    expect(first.describeExecution(executionArn)).toEqual(done);
    expect(first.getExecutionHistory({ executionArn, maxResults: 1000 }).events).toEqual(history);
    expect(first.listExecutions({ stateMachineArn: STATE_MACHINE_ARN }).executions).toEqual([
      {
        executionArn,
        stateMachineArn: STATE_MACHINE_ARN,
        name: 'twenty-one',
        status: 'SUCCEEDED',
        startDate: done.startDate,
        stopDate: done.stopDate,
        redriveCount: 0,
      },
    ]);
    // The name stays taken, as in Step Functions.
    await expect(
      first.startExecution({ stateMachineArn: STATE_MACHINE_ARN, name: 'twenty-one', input: '{"value":21}' }),
    ).rejects.toMatchObject({ code: 'ExecutionAlreadyExists' });
    await first.close();
    expect(await readdir(directory)).toHaveLength(1);

    const second = await open(new ExecutionStore(directory));
    expect(second.describeExecution(executionArn)).toEqual(done);
    expect(second.getExecutionHistory({ executionArn, maxResults: 1000 }).events).toEqual(history);
    await second.close();
  });
});

describe('ListExecutions', () => {
  it('lists the most recent execution first, including one started after an earlier listing', async () => {
    const service = await open(new ExecutionStore(directory));
    const start = async (name: string) => {
      const { executionArn } = await service.startExecution({
        stateMachineArn: STATE_MACHINE_ARN,
        name,
        input: JSON.stringify({ value: 1 }),
      });
      await service.waitForCompletion(executionArn);
      return executionArn;
    };
    const names = () =>
      service.listExecutions({ stateMachineArn: STATE_MACHINE_ARN }).executions.map(({ name }) => name);
    await start('first');
    await new Promise((resolve) => setTimeout(resolve, 2));
    await start('second');
    expect(names()).toEqual(['second', 'first']);
    await new Promise((resolve) => setTimeout(resolve, 2));
    await start('third');
    expect(names()).toEqual(['third', 'second', 'first']);
    expect(
      service
        .listExecutions({ stateMachineArn: STATE_MACHINE_ARN, maxResults: 1 })
        .executions.map(({ name }) => name),
    ).toEqual(['third']);
    await service.close();
  });
});
