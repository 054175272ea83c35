/** CloudWatch metrics for handlers (Powertools Metrics, embedded metric format). */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';

export const METRICS_NAMESPACE = 'Countersign';

export function createMetrics(): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'countersign' });
}

/** Flushes the metrics after each invocation and counts cold starts. */
export function withMetrics(metrics: Metrics) {
  return logMetrics(metrics, { captureColdStartMetric: true });
}
