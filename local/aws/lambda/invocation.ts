/**
 * What an invocation is to Lambda, whatever runs the code: a function error carries `errorType`,
 * `errorMessage` and `trace` (the payload Lambda returns with `X-Amz-Function-Error: Unhandled`),
 * a timeout is the `Sandbox.Timedout` error Lambda reports, and the context a handler receives has
 * Lambda's fields.
 */
import { randomBytes } from 'node:crypto';
import { CountersignError } from '../../../lambdas/domain/errors.ts';

/** The function ran and failed (threw, timed out, or could not start): what Lambda reports as a function error. */
export class LambdaFunctionError extends CountersignError {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly trace: readonly string[];

  constructor(errorType: string, errorMessage: string, trace: readonly string[] = []) {
    super(`${errorType}: ${errorMessage}`);
    this.errorType = errorType;
    this.errorMessage = errorMessage;
    this.trace = trace;
  }

  /** The payload Lambda returns for a function error. */
  payload(): { errorType: string; errorMessage: string; trace: string[] } {
    return { errorType: this.errorType, errorMessage: this.errorMessage, trace: [...this.trace] };
  }
}

export function timedOut(requestId: string, timeoutSeconds: number): LambdaFunctionError {
  return new LambdaFunctionError(
    'Sandbox.Timedout',
    `${requestId} Task timed out after ${timeoutSeconds.toFixed(2)} seconds`,
  );
}

/** The function as an invocation needs it. */
export interface InvokedFunction {
  readonly name: string;
  readonly arn: string;
  readonly memorySize: number;
}

/** The data fields of Lambda's context object (the runtime adds getRemainingTimeInMillis). */
export interface LambdaContextFields {
  readonly functionName: string;
  readonly functionVersion: string;
  readonly invokedFunctionArn: string;
  readonly memoryLimitInMB: string;
  readonly awsRequestId: string;
  readonly logGroupName: string;
  readonly logStreamName: string;
  /** Epoch milliseconds when the invocation times out. */
  readonly deadline: number;
}

export function contextFields(fn: InvokedFunction, requestId: string, deadline: number): LambdaContextFields {
  const day = new Date().toISOString().slice(0, 10).replace(/-/g, '/');
  return {
    functionName: fn.name,
    functionVersion: '$LATEST',
    invokedFunctionArn: fn.arn,
    memoryLimitInMB: String(fn.memorySize),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${fn.name}`,
    logStreamName: `${day}/[$LATEST]${randomBytes(16).toString('hex')}`,
    deadline,
  };
}
