/**
 * JSON responses and the one mapping from the product's errors to HTTP statuses. Server faults
 * are logged and answered with a generic message: internal details never leave the handler.
 */

import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';
import {
  AuthenticationError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  StepUpRequiredError,
  ValidationError,
} from '../domain/errors.ts';
import type { HttpResult } from '../domain/http-result.ts';
import { matchRoute, type Route } from './router.ts';

export const ErrorCode = {
  invalidRequest: 'INVALID_REQUEST',
  unauthenticated: 'UNAUTHENTICATED',
  notFound: 'NOT_FOUND',
  methodNotAllowed: 'METHOD_NOT_ALLOWED',
  unavailable: 'SERVICE_UNAVAILABLE',
  internal: 'INTERNAL_ERROR',
} as const;

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly issues?: readonly string[] };
}

export function jsonResponse(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

export function errorResponse(
  statusCode: number,
  code: string,
  message: string,
  extra: { issues?: readonly string[]; headers?: Record<string, string> } = {},
): HttpResult {
  const error: ErrorBody['error'] = extra.issues
    ? { code, message, issues: extra.issues }
    : { code, message };
  return jsonResponse(statusCode, { error }, extra.headers);
}

export interface ServerFaultLogger {
  error(message: string, ...extra: unknown[]): void;
}

/** Seconds a client is asked to wait before retrying a call that met a busy dependency. */
export const RETRY_AFTER_SECONDS = 1;

type SdkError = Parameters<typeof isThrottlingError>[0];

/**
 * An AWS dependency throttling or failing (still, after the SDK's own retries): nothing was
 * changed by the failed call, and the same call may succeed in a moment.
 */
function isTransientDependencyFailure(error: unknown): boolean {
  if (!(error instanceof Error) || !('$metadata' in error)) return false;
  const sdkError = error as SdkError;
  return isThrottlingError(sdkError) || isTransientError(sdkError) || isServerError(sdkError);
}

/**
 * Maps a thrown error to its response: a busy AWS dependency is a 503 with `Retry-After` (the
 * caller retries, as Slack and the SDKs do), anything else unexpected a 500 with no details. Both
 * are logged with `context` (the route's parameters: which request it was).
 */
export function responseForError(
  error: unknown,
  logger: ServerFaultLogger,
  context: Readonly<Record<string, string>> = {},
): HttpResult {
  if (error instanceof ValidationError) {
    return errorResponse(400, ErrorCode.invalidRequest, error.message, { issues: error.issues });
  }
  if (error instanceof StepUpRequiredError) return errorResponse(400, error.code, error.message);
  if (error instanceof AuthenticationError) {
    return errorResponse(401, ErrorCode.unauthenticated, error.message, {
      headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
    });
  }
  if (error instanceof ForbiddenError) return errorResponse(403, error.code, error.message);
  if (error instanceof NotFoundError) return errorResponse(404, ErrorCode.notFound, error.message);
  if (error instanceof ConflictError) return errorResponse(409, error.code, error.message);
  const errorName = error instanceof Error ? error.name : typeof error;
  if (isTransientDependencyFailure(error)) {
    logger.error('a dependency was unavailable while serving an API request', {
      errorName,
      error,
      ...context,
    });
    return errorResponse(503, ErrorCode.unavailable, 'a dependency is busy; retry the call', {
      headers: { 'retry-after': String(RETRY_AFTER_SECONDS) },
    });
  }
  logger.error('unhandled error while serving an API request', { errorName, error, ...context });
  return errorResponse(500, ErrorCode.internal, 'internal error');
}

/**
 * Answers a request through a route table: 404 for a path no route has, 405 with `Allow` for a
 * method the path does not take, otherwise `run` with the route's handler and path parameters,
 * whose errors become responses (responseForError).
 */
export async function serveRoute<H>(
  routes: readonly Route<H>[],
  request: { readonly method: string; readonly path: string },
  logger: ServerFaultLogger,
  run: (handler: H, params: Readonly<Record<string, string>>) => Promise<HttpResult>,
): Promise<HttpResult> {
  const match = matchRoute(routes, request.method, request.path);
  if (match.kind === 'not-found') {
    return errorResponse(404, ErrorCode.notFound, `no route for ${request.method} ${request.path}`);
  }
  if (match.kind === 'method-not-allowed') {
    return errorResponse(405, ErrorCode.methodNotAllowed, `${request.method} is not allowed here`, {
      headers: { allow: match.allowed.join(', ') },
    });
  }
  try {
    return await run(match.handler, match.params);
  } catch (error) {
    // The path parameters name what was asked for (which request), for whoever reads the log.
    return responseForError(error, logger, match.params);
  }
}
