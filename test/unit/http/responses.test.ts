import { describe, expect, it, vi } from 'vitest';
import {
  AuthenticationError,
  ConflictError,
  CountersignError,
  ForbiddenError,
  NotFoundError,
  StepUpRequiredError,
  ValidationError,
} from '../../../lambdas/domain/errors.ts';
import { responseForError } from '../../../lambdas/http/responses.ts';

const logger = () => ({ error: vi.fn() });

describe('responseForError', () => {
  it.each([
    [new ValidationError('invalid vote: vote: bad', ['vote: bad']), 400, 'INVALID_REQUEST'],
    [new AuthenticationError('a bearer token is required'), 401, 'UNAUTHENTICATED'],
    [new ForbiddenError('REQUESTER', 'no self-approval'), 403, 'REQUESTER'],
    [new NotFoundError('no request with id x'), 404, 'NOT_FOUND'],
    [new ConflictError('ALREADY_VOTED', 'already voted'), 409, 'ALREADY_VOTED'],
    [new StepUpRequiredError('type the resource name'), 400, 'STEP_UP_REQUIRED'],
  ])('maps %s to %i with its code and message', (error, status, code) => {
    const log = logger();
    const response = responseForError(error, log);
    expect(response.statusCode).toBe(status);
    expect(JSON.parse(response.body).error).toMatchObject({ code, message: error.message });
    expect(log.error).not.toHaveBeenCalled();
  });

  it('lists validation issues and asks for a bearer token on 401', () => {
    const invalid = responseForError(new ValidationError('invalid', ['reason: required']), logger());
    expect(JSON.parse(invalid.body).error.issues).toEqual(['reason: required']);
    const unauthenticated = responseForError(new AuthenticationError('expired'), logger());
    expect(unauthenticated.headers?.['www-authenticate']).toMatch(/^Bearer /);
  });

  it('hides the details of anything unexpected and logs it', () => {
    const log = logger();
    const response = responseForError(new CountersignError('table countersign-prod is throttled'), log);
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toContain('throttled');
    expect(JSON.parse(response.body)).toEqual({
      error: { code: 'INTERNAL_ERROR', message: 'internal error' },
    });
    expect(log.error).toHaveBeenCalledOnce();
  });

  /** An AWS SDK error as the client raises it once its own retries are spent. */
  function sdkError(name: string, httpStatusCode: number): Error {
    return Object.assign(new Error(`${name} (after retries)`), { name, $metadata: { httpStatusCode } });
  }

  it.each([
    ['ProvisionedThroughputExceededException', 400],
    ['ThrottlingException', 400],
    ['TooManyRequestsException', 429],
    ['InternalServerError', 500],
    ['ServiceUnavailable', 503],
  ])('answers a busy dependency (%s, HTTP %i) with a retryable 503 and logs the route', (name, status) => {
    const log = logger();
    const response = responseForError(sdkError(name, status), log, { id: 'invoice-bot:r-1' });
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBe('1');
    expect(JSON.parse(response.body)).toEqual({
      error: { code: 'SERVICE_UNAVAILABLE', message: 'a dependency is busy; retry the call' },
    });
    expect(response.body).not.toContain(name);
    expect(log.error).toHaveBeenCalledWith(
      expect.any(String),
      expect.objectContaining({ id: 'invoice-bot:r-1' }),
    );
  });

  it('keeps a refusal a retry will not fix a 500', () => {
    const response = responseForError(sdkError('ValidationException', 400), logger());
    expect(response.statusCode).toBe(500);
  });
});
