/**
 * Structured logging for handlers (Powertools Logger). Events are never logged whole: they carry
 * justifications and parameters written by agents, which may hold personal data.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';

/** The service name is POWERTOOLS_SERVICE_NAME when the stack sets it, `countersign` otherwise. */
export function createLogger(): Logger {
  return new Logger({ serviceName: 'countersign' });
}

/** Adds the Lambda context (request id, function, cold start) to every line; resets keys per call. */
export function withLambdaContext(logger: Logger) {
  return injectLambdaContext(logger, { logEvent: false, resetKeys: true });
}

/**
 * Logs a workflow step's failure with the request it was for (the event's `requestId` only: the
 * event may carry a task token), so whoever the Errors alarm pages finds the request; Lambda still
 * reports the error and the workflow's retry or catch decides what follows.
 */
export function logStepFailure(logger: Logger): MiddlewareObj<unknown, unknown, Error, Context> {
  return {
    onError: (request) => {
      const { event, error } = request;
      const requestId =
        event !== null && typeof event === 'object'
          ? (event as { requestId?: unknown }).requestId
          : undefined;
      logger.error('workflow step failed', {
        ...(typeof requestId === 'string' ? { requestId } : {}),
        errorName: error?.name,
        error,
      });
    },
  };
}
