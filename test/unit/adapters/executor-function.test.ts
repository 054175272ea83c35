/**
 * Finish's side of the executor function: it asks synchronously with the request and its
 * execution, nothing else, and believes only an answer about that request: the run's outcome,
 * nothing to run, or a run still going on elsewhere (the ConflictError the state machine retries).
 */
import { describe, expect, it } from 'vitest';
import { executorFunction } from '../../../lambdas/adapters/executor-function.ts';
import { InvokedFunctionError, type LambdaInvocation } from '../../../lambdas/adapters/lambda-invoke.ts';
import { EXECUTION_IN_PROGRESS } from '../../../lambdas/domain/action-run.ts';
import { ConflictError, ValidationError } from '../../../lambdas/domain/errors.ts';

const requestId = 'invoice-bot:req-1';
const executionArn = 'arn:aws:states:us-east-1:123456789012:execution:approval:req-1';
const executed = {
  status: 'EXECUTED',
  sessionName: 'countersign-invoice-bot-req-1',
  startedAt: '2026-11-29T10:00:00.000Z',
  finishedAt: '2026-11-29T10:00:01.000Z',
  awsRequestId: 'copy-request-1',
} as const;

function answering(answer: unknown | (() => never)) {
  const invocations: LambdaInvocation[] = [];
  const run = executorFunction({
    invoke: async (invocation) => {
      invocations.push(invocation);
      return typeof answer === 'function' ? (answer as () => never)() : answer;
    },
    functionName: 'countersign-ExecuteAction',
    answerTimeoutMs: 70_000,
  });
  return { run, invocations };
}

describe('executorFunction', () => {
  it('asks synchronously with the request and its execution, and answers the run', async () => {
    const { run, invocations } = answering({ requestId, execution: executed });
    await expect(run({ requestId, executionArn })).resolves.toEqual({ requestId, execution: executed });
    expect(invocations).toEqual([
      {
        functionName: 'countersign-ExecuteAction',
        invocationType: 'RequestResponse',
        payload: { requestId, executionArn },
        timeoutMs: 70_000,
      },
    ]);
  });

  it('answers nothing run for a request with nothing to run', async () => {
    await expect(answering({ requestId }).run({ requestId, executionArn })).resolves.toEqual({ requestId });
  });

  it('turns a run going on elsewhere into the ConflictError the state machine asks again on', async () => {
    const failure = await answering({ requestId, inProgress: true })
      .run({ requestId, executionArn })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ConflictError);
    expect((failure as ConflictError).code).toBe(EXECUTION_IN_PROGRESS);
  });

  it('believes no answer about another request, nor one of another shape', async () => {
    await expect(
      answering({ requestId: 'invoice-bot:req-2', execution: executed }).run({ requestId, executionArn }),
    ).rejects.toThrow('answered for request invoice-bot:req-2');
    await expect(
      answering({ requestId, execution: { ...executed, status: 'MAYBE' } }).run({ requestId, executionArn }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(answering(null).run({ requestId, executionArn })).rejects.toBeInstanceOf(ValidationError);
    await expect(
      answering({ requestId, inProgress: false }).run({ requestId, executionArn }),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  it('lets the function’s own failure through', async () => {
    const timedOut = new InvokedFunctionError(
      'countersign-ExecuteAction failed: Sandbox.Timedout',
      'Sandbox.Timedout',
    );
    await expect(
      answering(() => {
        throw timedOut;
      }).run({ requestId, executionArn }),
    ).rejects.toBe(timedOut);
  });
});
