/**
 * When a running execution is written: at its start, when a task token is issued (a restarted
 * twin answers TaskTimedOut to it) and when it finishes, at once; its other history events with
 * its next write, within a second, and all of them when the twin is stopped. A write per history
 * event was the twin's most frequent file write.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ExecutionStore } from '../../../../../local/aws/states/execution-store.ts';
import { LocalStepFunctions } from '../../../../../local/aws/states/step-functions.ts';

const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:Writes';
const task = (name: string, next: string | undefined, callback = false) => ({
  [name]: {
    Type: 'Task',
    Resource: callback ? 'arn:aws:states:::lambda:invoke.waitForTaskToken' : 'arn:aws:states:::lambda:invoke',
    Parameters: callback
      ? { FunctionName: 'wait', Payload: { 'token.$': '$$.Task.Token' } }
      : { FunctionName: 'add', 'Payload.$': '$' },
    ...(callback ? {} : { OutputPath: '$.Payload' }),
    ...(next === undefined ? { End: true } : { Next: next }),
  },
});

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'execution-writes-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

function open(store: ExecutionStore, definition: Record<string, unknown>, tokens: string[] = []) {
  return LocalStepFunctions.open({
    stateMachines: [{ arn: STATE_MACHINE_ARN, name: 'Writes', definition }],
    store,
    integrations: {
      invokeLambda: async (name, payload) => {
        if (name === 'wait') tokens.push((payload as { token: string }).token);
        return name === 'wait' ? {} : { value: (payload as { value: number }).value + 1 };
      },
      putEvents: () => Promise.reject(new Error('no events in this test')),
    },
  });
}

describe('writes of a running execution', () => {
  it('writes a three-task execution at its start and its outcome (and once a second while it runs), not once per event', async () => {
    const store = new ExecutionStore(directory);
    const save = vi.spyOn(store, 'save');
    const definition = {
      StartAt: 'One',
      States: { ...task('One', 'Two'), ...task('Two', 'Three'), ...task('Three', undefined) },
    };
    const service = await open(store, definition);
    const started = performance.now();
    const { executionArn } = await service.startExecution({
      stateMachineArn: STATE_MACHINE_ARN,
      input: JSON.stringify({ value: 0 }),
    });
    const done = await service.waitForCompletion(executionArn);
    const runningSeconds = (performance.now() - started) / 1000;
    expect(done).toMatchObject({ status: 'SUCCEEDED', output: JSON.stringify({ value: 3 }) });
    await store.flush();
    const history = service.getExecutionHistory({ executionArn, maxResults: 1000 }).events;
    expect(history.length).toBeGreaterThan(15);
    expect(save.mock.calls.length).toBeLessThanOrEqual(2 + Math.ceil(runningSeconds));
    await service.close();

    const reopened = await open(new ExecutionStore(directory), definition);
    expect(reopened.getExecutionHistory({ executionArn, maxResults: 1000 }).events).toEqual(history);
    await reopened.close();
  });

  it('writes a task token as soon as it is issued, the events before it with it, the rest within a second', async () => {
    const store = new ExecutionStore(directory);
    const tokens: string[] = [];
    const service = await open(store, { StartAt: 'Wait', States: task('Wait', undefined, true) }, tokens);
    const { executionArn } = await service.startExecution({
      stateMachineArn: STATE_MACHINE_ARN,
      input: '{}',
    });
    await vi.waitFor(() => expect(tokens).toHaveLength(1));
    await store.flush();
    // What a twin killed now finds: the token (a restart answers TaskTimedOut to it).
    const [stored] = await new ExecutionStore(directory).loadAll();
    expect(stored?.taskTokenHashes).toEqual([createHash('sha256').update(tokens[0]!).digest('hex')]);
    expect(stored?.history.map((event) => event.type)).toContain('TaskScheduled');

    const inMemory = () => service.getExecutionHistory({ executionArn, maxResults: 1000 }).events;
    await vi.waitFor(() => expect(inMemory().map((event) => event.type)).toContain('TaskSubmitted'));
    await vi.waitFor(
      async () => {
        const [latest] = await new ExecutionStore(directory).loadAll();
        expect(latest?.history).toHaveLength(inMemory().length);
      },
      { timeout: 3000 },
    );
    await service.close();
  });

  it('writes the history so far when the twin stops, the execution still RUNNING', async () => {
    const store = new ExecutionStore(directory);
    const tokens: string[] = [];
    const service = await open(
      store,
      { StartAt: 'Add', States: { ...task('Add', 'Wait'), ...task('Wait', undefined, true) } },
      tokens,
    );
    const { executionArn } = await service.startExecution({
      stateMachineArn: STATE_MACHINE_ARN,
      input: JSON.stringify({ value: 1 }),
    });
    await vi.waitFor(() => expect(tokens).toHaveLength(1));
    const history = service.getExecutionHistory({ executionArn, maxResults: 1000 }).events;
    await service.close();
    const [stored] = await new ExecutionStore(directory).loadAll();
    expect(stored?.status).toBe('RUNNING');
    expect(stored?.history.map((event) => event.id)).toEqual(history.map((event) => event.id));
  });
});
