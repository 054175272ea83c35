import { describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  ConfigurationError,
  ConflictError,
  CountersignError,
  ForbiddenError,
  NotFoundError,
  PublishError,
  ValidationError,
  WorkflowTokenError,
  WorkflowTokenProblem,
} from '../../../lambdas/domain/errors.ts';

describe('errors', () => {
  it('name themselves after their class and keep the cause', () => {
    const cause = new Error('root');
    const errors = [
      new CountersignError('base', { cause }),
      new NotFoundError('missing', { cause }),
      new AuthenticationError('who?', { cause }),
      new ConfigurationError('unset', { cause }),
      new PublishError('rejected', { cause }),
    ];
    expect(errors.map((error) => error.name)).toEqual([
      'CountersignError',
      'NotFoundError',
      'AuthenticationError',
      'ConfigurationError',
      'PublishError',
    ]);
    for (const error of errors) {
      expect(error).toBeInstanceOf(CountersignError);
      expect(error).toBeInstanceOf(Error);
      expect(error.cause).toBe(cause);
    }
  });

  it('carry machine-readable codes where callers react to them', () => {
    const conflict = new ConflictError('ALREADY_VOTED', 'you voted');
    const forbidden = new ForbiddenError('REQUESTER', 'no self-approval', { cause: 'x' });
    expect([conflict.name, conflict.code, conflict.message]).toEqual([
      'ConflictError',
      'ALREADY_VOTED',
      'you voted',
    ]);
    expect([forbidden.name, forbidden.code, forbidden.cause]).toEqual(['ForbiddenError', 'REQUESTER', 'x']);
  });

  it('workflow token errors say why the token no longer resumes anything', () => {
    const error = new WorkflowTokenError(WorkflowTokenProblem.timedOut, 'too late', { cause: 'sfn' });
    expect([error.name, error.code, error.message, error.cause]).toEqual([
      'WorkflowTokenError',
      'TASK_TIMED_OUT',
      'too late',
      'sfn',
    ]);
  });

  it('validation errors list their issues', () => {
    const error = new ValidationError('invalid vote', ['vote: required']);
    expect(error.issues).toEqual(['vote: required']);
    expect(error).toBeInstanceOf(CountersignError);
  });
});
