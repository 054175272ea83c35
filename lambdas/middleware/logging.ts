/**
 * Structured logging for handlers (Powertools Logger). Events are never logged whole: they carry
 * justifications and parameters written by agents, which may hold personal data.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';

/** The service name is POWERTOOLS_SERVICE_NAME when the stack sets it, `countersign` otherwise. */
export function createLogger(): Logger {
  return new Logger({ serviceName: 'countersign' });
}

/** Adds the Lambda context (request id, function, cold start) to every line; resets keys per call. */
export function withLambdaContext(logger: Logger) {
  return injectLambdaContext(logger, { logEvent: false, resetKeys: true });
}
