/**
 * The Finish step's composition: record, then run, then publish; each failure named by its part so
 * the state machine tells them apart, and a run claimed elsewhere kept as the ConflictError it retries.
 */
import { describe, expect, it } from 'vitest';
import { FinishStepError } from '../../../lambdas/domain/approval.ts';
import { ConflictError, FinishStepFailure } from '../../../lambdas/domain/errors.ts';
import type { ActionDecidedDetail, RequestRecord } from '../../../lambdas/domain/schemas.ts';
import { type FinishSteps, finishRequest } from '../../../lambdas/services/finish-request.ts';
import type { PublishDecisionInput } from '../../../lambdas/services/publish-decision.ts';

const requestId = 'invoice-bot:req-1';
const executionArn = 'arn:aws:states:us-east-1:123456789012:execution:approval:req-1';
const published = { requestId, decision: 'APPROVED' } as unknown as ActionDecidedDetail;
const recorded = { requestId, status: 'APPROVED', decision: 'APPROVED' } as unknown as RequestRecord;
const reserved = [
  { requestId, key: 'SIGNED', seq: 4 },
  { requestId, key: 'PUBLISHED', seq: 5 },
];

function steps(overrides: Partial<FinishSteps> = {}): {
  steps: FinishSteps;
  calls: string[];
  publishedWith: PublishDecisionInput[];
} {
  const calls: string[] = [];
  const publishedWith: PublishDecisionInput[] = [];
  return {
    calls,
    publishedWith,
    steps: {
      record: async () => {
        calls.push('record');
        return { applied: true, record: recorded, executes: true };
      },
      execute: async () => {
        calls.push('execute');
        return { requestId };
      },
      publish: async (input) => {
        calls.push('publish');
        publishedWith.push(input);
        return published;
      },
      ...overrides,
    },
  };
}

describe('finishRequest', () => {
  it('records, runs and publishes, in that order; the run changed the request, so publishing reads it', async () => {
    const { steps: finish, calls, publishedWith } = steps();
    await expect(
      finishRequest(finish, { requestId, executionArn, outcome: { decision: 'APPROVED' } }),
    ).resolves.toEqual({ requestId, applied: true, published });
    expect(calls).toEqual(['record', 'execute', 'publish']);
    expect(publishedWith).toEqual([{ requestId, executionArn }]);
  });

  it('asks for no run of a request Countersign does not execute, and hands publishing the request and numbers as recorded', async () => {
    const {
      steps: finish,
      calls,
      publishedWith,
    } = steps({
      record: async () => {
        calls.push('record');
        return { applied: true, record: recorded, executes: false, reserved };
      },
    });
    await expect(
      finishRequest(finish, { requestId, executionArn, outcome: { decision: 'APPROVED' } }),
    ).resolves.toEqual({ requestId, applied: true, published });
    expect(calls).toEqual(['record', 'publish']);
    expect(publishedWith).toEqual([{ requestId, executionArn, recorded, reserved }]);
  });

  it('only publishes a request recorded before whose execution failed for good', async () => {
    const { steps: finish, calls, publishedWith } = steps();
    await expect(finishRequest(finish, { requestId, executionArn })).resolves.toMatchObject({
      applied: false,
    });
    expect(calls).toEqual(['publish']);
    expect(publishedWith).toEqual([{ requestId, executionArn }]);
  });

  it('names each failure by its part, and keeps a run claimed elsewhere a ConflictError', async () => {
    const failing = (error: Error) => async () => {
      throw error;
    };
    const outcome = { decision: 'APPROVED' } as const;
    const cases: [Partial<FinishSteps>, string][] = [
      [{ record: failing(new ConflictError('NOT_APPROVED_BY_VOTES', 'no quorum')) }, FinishStepError.record],
      [{ execute: failing(new RangeError('throttled')) }, FinishStepError.execute],
      [{ publish: failing(new Error('InternalFailure')) }, FinishStepError.publish],
    ];
    for (const [override, name] of cases) {
      const failure = await finishRequest(steps(override).steps, { requestId, executionArn, outcome }).catch(
        (error) => error,
      );
      expect(failure).toBeInstanceOf(FinishStepFailure);
      expect(failure.name).toBe(name);
      expect(failure.cause).toBeInstanceOf(Error);
    }
    const inProgress = new ConflictError('EXECUTION_IN_PROGRESS', 'being executed');
    const { steps: finish, calls } = steps({ execute: failing(inProgress) });
    await expect(finishRequest(finish, { requestId, executionArn, outcome })).rejects.toBe(inProgress);
    expect(calls).toEqual(['record']);
  });
});
