/** CloudWatch metrics for handlers (Powertools Metrics, embedded metric format). */
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj, Request } from '@middy/core';
import type { Context } from 'aws-lambda';

export const METRICS_NAMESPACE = 'Countersign';

export function createMetrics(): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'countersign' });
}

/**
 * Counts cold starts and flushes what the invocation recorded, success or failure. An invocation
 * that recorded nothing (most reads, a duplicate delivery) publishes nothing: Powertools' own
 * middleware would log "No application metrics to publish" for each of them.
 */
export function withMetrics(metrics: Metrics): MiddlewareObj<unknown, unknown, Error, Context> {
  const flush = () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return {
    before: (request: Request<unknown, unknown, Error, Context>) => {
      metrics.captureColdStartMetric(request.context.functionName);
    },
    after: flush,
    onError: flush,
  };
}
