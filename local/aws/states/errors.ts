/**
 * Failures of the Step Functions API as the service names them. The runner raises these; the
 * twin's protocol front turns them into the JSON-protocol error shape.
 */
import { CountersignError } from '../../../lambdas/domain/errors.ts';

export const StepFunctionsErrorCode = {
  invalidArn: 'InvalidArn',
  invalidName: 'InvalidName',
  invalidExecutionInput: 'InvalidExecutionInput',
  invalidOutput: 'InvalidOutput',
  invalidToken: 'InvalidToken',
  taskTimedOut: 'TaskTimedOut',
  taskDoesNotExist: 'TaskDoesNotExist',
  executionDoesNotExist: 'ExecutionDoesNotExist',
  executionAlreadyExists: 'ExecutionAlreadyExists',
  stateMachineDoesNotExist: 'StateMachineDoesNotExist',
  validation: 'ValidationException',
} as const;
export type StepFunctionsErrorCode = (typeof StepFunctionsErrorCode)[keyof typeof StepFunctionsErrorCode];

export class StepFunctionsError extends CountersignError {
  readonly code: StepFunctionsErrorCode;
  constructor(code: StepFunctionsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * A task's failure as Step Functions reports it: `error` is what Retry/Catch match (`name` for the
 * interpreter), `cause` the details (the interpreter reads `message`).
 */
export class TaskFailure extends Error {
  constructor(error: string, cause: string) {
    super(cause);
    this.name = error;
  }
}
