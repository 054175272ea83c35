import {
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { SfnWorkflow } from '../../../lambdas/adapters/sfn-workflow.ts';
import { WorkflowTokenError, WorkflowTokenProblem } from '../../../lambdas/domain/errors.ts';

const sfn = mockClient(SFNClient);
const workflow = new SfnWorkflow(new SFNClient({ region: 'eu-west-1' }));
const metadata = { $metadata: {} };

afterEach(() => sfn.reset());

describe('SfnWorkflow', () => {
  it('resumes the task with SendTaskSuccess carrying the decision as JSON output', async () => {
    sfn.on(SendTaskSuccessCommand).resolves({});

    await workflow.succeed('token-1', { decision: 'APPROVED', approvers: ['carol'] });

    expect(sfn.commandCalls(SendTaskSuccessCommand).map((call) => call.args[0].input)).toEqual([
      { taskToken: 'token-1', output: '{"decision":"APPROVED","approvers":["carol"]}' },
    ]);
  });

  it('fails the task with SendTaskFailure carrying error and cause', async () => {
    sfn.on(SendTaskFailureCommand).resolves({});

    await workflow.fail('token-2', 'Countersign.Denied', 'denied by alice');

    expect(sfn.commandCalls(SendTaskFailureCommand).map((call) => call.args[0].input)).toEqual([
      { taskToken: 'token-2', error: 'Countersign.Denied', cause: 'denied by alice' },
    ]);
  });

  it.each([
    ['TaskTimedOut', new TaskTimedOut({ message: 'timed out', ...metadata }), WorkflowTokenProblem.timedOut],
    [
      'InvalidToken',
      new InvalidToken({ message: 'bad token', ...metadata }),
      WorkflowTokenProblem.invalidToken,
    ],
    [
      'TaskDoesNotExist',
      new TaskDoesNotExist({ message: 'gone', ...metadata }),
      WorkflowTokenProblem.taskDoesNotExist,
    ],
  ])('maps %s to a WorkflowTokenError keeping the SDK error as cause', async (_name, sdkError, code) => {
    sfn.on(SendTaskSuccessCommand).rejects(sdkError);

    const failure = await workflow.succeed('token-3', { decision: 'DENIED', approvers: [] }).catch((e) => e);

    expect(failure).toBeInstanceOf(WorkflowTokenError);
    expect(failure.code).toBe(code);
    expect(failure.cause).toBe(sdkError);
  });

  it('maps token errors of SendTaskFailure the same way', async () => {
    sfn.on(SendTaskFailureCommand).rejects(new TaskTimedOut({ message: 'timed out', ...metadata }));

    await expect(workflow.fail('token-4', 'Countersign.Denied', 'late')).rejects.toMatchObject({
      name: 'WorkflowTokenError',
      code: WorkflowTokenProblem.timedOut,
    });
  });

  it('rethrows other errors unchanged, so an outage is retried rather than taken as a dead token', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    sfn.on(SendTaskSuccessCommand).rejects(throttled);

    await expect(workflow.succeed('token-5', { decision: 'APPROVED', approvers: [] })).rejects.toBe(
      throttled,
    );
  });
});
