/**
 * LocalStepFunctions outside the twin: a definition object, a task-invoker function and no
 * execution store (nothing persisted), as the workflow tests run the synthesized state machine.
 */
import { describe, expect, it } from 'vitest';
import { deferred } from '../../../../../local/aws/states/deferred.ts';
import { TaskFailure } from '../../../../../local/aws/states/errors.ts';
import { LocalStepFunctions } from '../../../../../local/aws/states/step-functions.ts';

const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:InProcess';

const definition = {
  StartAt: 'Double',
  States: {
    Double: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: 'double', 'Payload.$': '$' },
      ResultSelector: { 'value.$': '$.Payload.value' },
      Next: 'HandOut',
    },
    HandOut: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: { FunctionName: 'hand-out', Payload: { 'token.$': '$$.Task.Token', 'value.$': '$.value' } },
      End: true,
    },
  },
};

function inProcessStepFunctions(invokeLambda: (name: string, payload: unknown) => Promise<unknown>) {
  return LocalStepFunctions.open({
    stateMachines: [{ arn: STATE_MACHINE_ARN, name: 'InProcess', definition }],
    integrations: {
      invokeLambda,
      putEvents: () => Promise.reject(new Error('no events in this test')),
    },
  });
}

describe('LocalStepFunctions without an execution store', () => {
  it('runs a definition object through the given invoker, callback tasks included', async () => {
    const handedOut = deferred<{ token: string; value: number }>();
    const stepFunctions = await inProcessStepFunctions(async (name, payload) => {
      if (name === 'double') return { value: (payload as { value: number }).value * 2 };
      handedOut.resolve(payload as { token: string; value: number });
      return null;
    });

    const { executionArn } = await stepFunctions.startExecution({
      stateMachineArn: STATE_MACHINE_ARN,
      input: JSON.stringify({ value: 21 }),
    });
    const { token, value } = await handedOut.promise;
    expect(value).toBe(42);
    stepFunctions.sendTaskSuccess(token, JSON.stringify({ answer: value }));

    await expect(stepFunctions.waitForCompletion(executionArn)).resolves.toMatchObject({
      status: 'SUCCEEDED',
      output: JSON.stringify({ answer: 42 }),
    });
    expect(() => stepFunctions.sendTaskSuccess(token, '{}')).toThrow(
      expect.objectContaining({ code: 'TaskTimedOut' }),
    );
    await stepFunctions.close();
  });

  it('fails the execution with the error the invoker raised', async () => {
    const stepFunctions = await inProcessStepFunctions(async () => {
      throw new TaskFailure('Sandbox.Timedout', '{"errorType":"Sandbox.Timedout"}');
    });

    const { executionArn } = await stepFunctions.startExecution({ stateMachineArn: STATE_MACHINE_ARN });

    await expect(stepFunctions.waitForCompletion(executionArn)).resolves.toMatchObject({
      status: 'FAILED',
      error: 'Sandbox.Timedout',
      cause: '{"errorType":"Sandbox.Timedout"}',
    });
    await stepFunctions.close();
  });
});
