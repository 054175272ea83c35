/**
 * Failures of the Step Functions API as the service names them. The runner raises these; the
 * twin's protocol front turns them into the JSON-protocol error shape.
 */
import { AwsProtocolError } from '../front/errors.ts';

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

/** A Step Functions API failure; the AWS front renders it as the JSON-protocol error it is. */
export class StepFunctionsError extends AwsProtocolError {
  declare readonly code: StepFunctionsErrorCode;
  constructor(code: StepFunctionsErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, 400, options);
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
