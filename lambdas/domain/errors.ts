/**
 * One base error for the whole product. Subclasses carry a stable `name` and, where the
 * caller needs to react, a machine-readable `code`. HTTP mapping happens at the edges.
 */
export class CountersignError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A part of the workflow's Finish step failed (for now: the step is retried as a whole): `name` is
 * the part's (FinishStepError in approval.ts), which the state machine catches, `cause` the error.
 */
export class FinishStepFailure extends CountersignError {
  constructor(name: string, message: string, options: { cause: unknown }) {
    super(message, options);
    this.name = name;
  }
}

/** Input that does not match a schema. `issues` are human-readable, one per problem. */
export class ValidationError extends CountersignError {
  readonly issues: readonly string[];
  constructor(message: string, issues: readonly string[], options?: { cause?: unknown }) {
    super(message, options);
    this.issues = issues;
  }
}

/**
 * An approval of a step-up request arrived without the confirmation it needs (the resource's name,
 * typed by the reviewer). Bad input: nothing is recorded.
 */
export class StepUpRequiredError extends CountersignError {
  readonly code = 'STEP_UP_REQUIRED';
}

/** The thing asked for does not exist. */
export class NotFoundError extends CountersignError {}

/** The request conflicts with the current state (already voted, already decided, duplicate). */
export class ConflictError extends CountersignError {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * A workflow step names an execution that does not own the request (a duplicate execution, or a
 * caller invoking the step directly): it may neither wait on the request nor decide or publish it.
 */
export class ForeignExecutionError extends ConflictError {
  constructor(requestId: string) {
    super('FOREIGN_EXECUTION', `request ${requestId} belongs to another execution; this one decides nothing`);
  }
}

/** The caller is known but not allowed to do this (self-approval, agent vote, not in group). */
export class ForbiddenError extends CountersignError {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The caller could not be authenticated (bad signature, bad token, unknown identity). */
export class AuthenticationError extends CountersignError {}

/** A required setting is missing or malformed; raised at start, never at request time. */
export class ConfigurationError extends CountersignError {}

/** Why a task token can no longer resume its workflow; the caller decides whether that is expected. */
export const WorkflowTokenProblem = {
  timedOut: 'TASK_TIMED_OUT',
  invalidToken: 'INVALID_TOKEN',
  taskDoesNotExist: 'TASK_DOES_NOT_EXIST',
} as const;
export type WorkflowTokenProblem = (typeof WorkflowTokenProblem)[keyof typeof WorkflowTokenProblem];

/** The paused workflow cannot be resumed with this token (it timed out, ended, or the token is bad). */
export class WorkflowTokenError extends CountersignError {
  readonly code: WorkflowTokenProblem;
  constructor(code: WorkflowTokenProblem, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** An event could not be delivered to its bus (the service accepted the call but rejected the entry). */
export class PublishError extends CountersignError {}

/** A reminder could not be sent; it is released so a later run retries it. */
export class ReminderError extends CountersignError {}

/** The directory could not answer (its service failed or returned something malformed); callers fail closed. */
export class DirectoryError extends CountersignError {}

/**
 * An archive key already holds other content than the write meant to create (`If-None-Match: *`
 * answered 412 and the stored checksum differs): never overwritten, never ignored.
 */
export class ArchiveConflictError extends CountersignError {}
