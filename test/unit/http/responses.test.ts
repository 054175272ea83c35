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
});
