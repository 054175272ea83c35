import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { createLogger, logStepFailure } from '../../../lambdas/middleware/logging.ts';

const context = { functionName: 'RequestApproval', awsRequestId: 'aws-1' } as Context;

describe('logStepFailure', () => {
  it('logs the failure with the request it was for, never the event, and still fails', async () => {
    const logger = createLogger();
    const error = vi.spyOn(logger, 'error').mockImplementation(() => undefined);
    const handler = middy(async () => {
      throw Object.assign(new Error('A rate limit was exceeded'), { name: 'SlackRateLimited' });
    }).use(logStepFailure(logger));

    await expect(
      handler({ requestId: 'invoice-bot:r-1', taskToken: 'secret-token' }, context),
    ).rejects.toThrow('A rate limit was exceeded');
    expect(error).toHaveBeenCalledWith(
      'workflow step failed',
      expect.objectContaining({ requestId: 'invoice-bot:r-1', errorName: 'SlackRateLimited' }),
    );
    expect(JSON.stringify(error.mock.calls)).not.toContain('secret-token');
  });

  it('logs an event without a request id as it is: the error alone', async () => {
    const logger = createLogger();
    const error = vi.spyOn(logger, 'error').mockImplementation(() => undefined);
    const handler = middy(async () => {
      throw new Error('bad input');
    }).use(logStepFailure(logger));
    await expect(handler(null, context)).rejects.toThrow('bad input');
    expect(error.mock.calls[0]![1]).not.toHaveProperty('requestId');
  });
});
