import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMetrics, withMetrics } from '../../../lambdas/middleware/metrics.ts';

const context = { functionName: 'fn', awsRequestId: 'r' } as Context;
let written: string[];

beforeEach(() => {
  written = [];
  const capture = (text: unknown) => written.push(String(text)) > 0;
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  vi.spyOn(console, 'log').mockImplementation((text: unknown) => void written.push(String(text)));
  vi.spyOn(console, 'warn').mockImplementation((text: unknown) => void written.push(String(text)));
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('withMetrics', () => {
  it('publishes what an invocation recorded and says nothing when it recorded nothing', async () => {
    const metrics = createMetrics();
    let record = true;
    const handler = middy(async () => {
      if (record) metrics.addMetric('Things', MetricUnit.Count, 1);
      return 'ok';
    }).use(withMetrics(metrics));

    await handler({}, context);
    const emf = written.filter((line) => line.includes('"Things"'));
    expect(emf).toHaveLength(1);

    written.length = 0;
    record = false;
    await handler({}, context);
    expect(written).toEqual([]);
  });

  it('publishes what a failing invocation recorded before it failed', async () => {
    const metrics = createMetrics();
    const handler = middy(async () => {
      metrics.addMetric('Attempts', MetricUnit.Count, 1);
      throw new Error('boom');
    }).use(withMetrics(metrics));
    await expect(handler({}, context)).rejects.toThrow('boom');
    expect(written.filter((line) => line.includes('"Attempts"'))).toHaveLength(1);
  });
});
