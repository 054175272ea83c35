/**
 * Runs the state machine's Lambda tasks in process, the way the Step Functions Lambda integration
 * calls them: the task's `Parameters` are `{FunctionName, Payload}`; the handler gets `Payload` and a
 * Lambda context; `lambda:invoke` answers `{StatusCode, ExecutedVersion, Payload}`; a thrown error
 * fails the state with the error's type as `Error` and Lambda's JSON error document as `Cause`.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { TIMEOUT_PARAMETER } from './interpreter-definition.ts';
import type { TaskTokenRegistry } from './task-tokens.ts';

export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;
export type TaskOverride = (input: unknown) => Promise<unknown>;

const DEFAULT_FUNCTION_TIMEOUT_MS = 30_000;

/** The Lambda context a handler gets; Powertools reads the function name and remaining time. */
export function lambdaContext(functionName: string): Context {
  const deadline = Date.now() + DEFAULT_FUNCTION_TIMEOUT_MS;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** A function error as the Lambda integration reports it to the state machine. */
export class LambdaFunctionError extends Error {
  constructor(error: unknown) {
    const errorType = error instanceof Error ? error.name : 'Error';
    const errorMessage = error instanceof Error ? error.message : String(error);
    super(JSON.stringify({ errorType, errorMessage, trace: [] }));
    this.name = errorType;
  }
}

interface InvokeParameters {
  readonly FunctionName: string;
  readonly Payload: unknown;
  readonly [TIMEOUT_PARAMETER]?: number;
}

function invokeParameters(input: unknown, stateName: string): InvokeParameters {
  if (typeof input !== 'object' || input === null || !('FunctionName' in input) || !('Payload' in input)) {
    throw new Error(`${stateName}: expected lambda:invoke Parameters {FunctionName, Payload}`);
  }
  return input as InvokeParameters;
}

async function invoke(handler: LambdaHandler, functionName: string, payload: unknown): Promise<unknown> {
  try {
    // The payload crosses a JSON boundary in Lambda; so it does here.
    const result = await handler(JSON.parse(JSON.stringify(payload)), lambdaContext(functionName));
    return result === undefined ? null : JSON.parse(JSON.stringify(result));
  } catch (error) {
    throw new LambdaFunctionError(error);
  }
}

/** `arn:aws:states:::lambda:invoke` */
export function lambdaInvokeTask(stateName: string, handler: LambdaHandler): TaskOverride {
  return async (input) => {
    const { FunctionName, Payload } = invokeParameters(input, stateName);
    const result = await invoke(handler, FunctionName, Payload);
    return { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: result };
  };
}

/**
 * `arn:aws:states:::lambda:invoke.waitForTaskToken`: the function runs (and may fail the state),
 * then the state waits for the token it was given in `Payload.taskToken`; the state's result is the
 * SendTaskSuccess output.
 */
export function lambdaWaitForTaskTokenTask(
  stateName: string,
  handler: LambdaHandler,
  tokens: TaskTokenRegistry,
): TaskOverride {
  return async (input) => {
    const parameters = invokeParameters(input, stateName);
    const token = (parameters.Payload as { taskToken?: unknown } | null)?.taskToken;
    if (typeof token !== 'string') throw new Error(`${stateName}: Payload.taskToken is missing`);
    return tokens.run(token, parameters[TIMEOUT_PARAMETER], () =>
      invoke(handler, parameters.FunctionName, parameters.Payload),
    );
  };
}
