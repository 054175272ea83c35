/**
 * The workflow's Finish step asks the executor function (handlers/execute-action.ts) to run an
 * approved action and waits for its answer (a synchronous Lambda invocation, lambda-invoke.ts).
 * Finish's role may invoke that function and nothing of what it runs: only the executor function
 * may assume the executor role. The answer is checked before it is believed: anything but the
 * outcome of this request's run fails the step, which the state machine retries.
 */
import {
  ActionRunAnswer,
  type ActionRunOutcome,
  type ActionRunRequest,
  EXECUTION_IN_PROGRESS,
} from '../domain/action-run.ts';
import { ConflictError, CountersignError } from '../domain/errors.ts';
import { parse } from '../domain/schemas.ts';
import { InvocationType, type LambdaInvoke } from './lambda-invoke.ts';

export interface ExecutorFunctionOptions {
  readonly invoke: LambdaInvoke;
  /** The executor function's name or ARN. */
  readonly functionName: string;
  /** How long to wait for its answer: longer than its own timeout, shorter than the caller's. */
  readonly answerTimeoutMs: number;
}

/**
 * Runs the request's approved action in the executor function. Throws a ConflictError
 * (EXECUTION_IN_PROGRESS) while another invocation's run is going on, InvokedFunctionError when the
 * function failed (threw, timed out), LambdaInvokeError when Lambda refused or throttled the call.
 */
export function executorFunction(
  options: ExecutorFunctionOptions,
): (input: ActionRunRequest) => Promise<ActionRunOutcome> {
  return async (input) => {
    const answered = await options.invoke({
      functionName: options.functionName,
      invocationType: InvocationType.requestResponse,
      payload: input,
      timeoutMs: options.answerTimeoutMs,
    });
    const answer = parse(ActionRunAnswer, answered, `answer of ${options.functionName}`);
    if (answer.requestId !== input.requestId) {
      throw new CountersignError(
        `${options.functionName} answered for request ${answer.requestId}, not ${input.requestId}`,
      );
    }
    if ('inProgress' in answer) {
      throw new ConflictError(EXECUTION_IN_PROGRESS, `request ${input.requestId} is being executed`);
    }
    return answer;
  };
}
