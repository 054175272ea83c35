/**
 * The workflow's Lambda tasks run in this process (the twin runs each function in its own worker;
 * here the handlers share the test's process so aws-sdk-client-mock and coverage see them). The
 * test sets their environment before they are imported. Invocations keep Lambda's semantics
 * through the twin's own pieces: a JSON copy of the event and the result, Lambda's context fields,
 * the timeout, and failures as Step Functions sees them (error = errorType, cause = Lambda's payload).
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { contextFields, LambdaFunctionError, timedOut } from '../../../local/aws/lambda/invocation.ts';
import { asTaskFailure } from '../../../local/twin/aws-services.ts';

export interface InProcessFunction {
  readonly name: string;
  readonly arn: string;
  /** Absolute path of the handler's TypeScript module; it exports `handler`. */
  readonly entry: string;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
}

type Handler = (event: unknown, context: Context) => Promise<unknown> | unknown;

function functionError(error: unknown): LambdaFunctionError {
  if (error instanceof LambdaFunctionError) return error;
  if (error instanceof Error)
    return new LambdaFunctionError(error.name, error.message, (error.stack ?? '').split('\n'));
  return new LambdaFunctionError('Error', String(error));
}

export class InProcessLambdas {
  readonly #functions: ReadonlyMap<string, InProcessFunction>;
  readonly #handlers = new Map<string, Handler>();
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(functions: readonly InProcessFunction[]) {
    this.#functions = new Map(functions.map((fn) => [fn.arn, fn]));
  }

  /** Imports every handler now (their environment must already be in process.env). */
  async loadAll(): Promise<void> {
    for (const fn of this.#functions.values()) {
      const module = (await import(pathToFileURL(fn.entry).href)) as { handler?: Handler };
      if (typeof module.handler !== 'function') throw new Error(`${fn.entry} exports no handler`);
      this.#handlers.set(fn.arn, module.handler);
    }
  }

  /** The function of this name or ARN. */
  find(nameOrArn: string): InProcessFunction | undefined {
    return (
      this.#functions.get(nameOrArn) ?? [...this.#functions.values()].find((fn) => fn.name === nameOrArn)
    );
  }

  /** Invokes a function as a Step Functions task does: a function error is the task's failure. */
  invoke(arn: string, event: unknown): Promise<unknown> {
    return this.invokeFunction(arn, event).catch((error: unknown) => Promise.reject(asTaskFailure(error)));
  }

  /**
   * Invokes a function (by name or ARN) as Lambda's Invoke API does: a function error is a
   * LambdaFunctionError (what the twin's Invoke service answers with X-Amz-Function-Error).
   */
  invokeFunction(nameOrArn: string, event: unknown): Promise<unknown> {
    const arn = this.find(nameOrArn)?.arn ?? nameOrArn;
    const invocation = this.#invoke(arn, event);
    this.#inFlight.add(invocation);
    const forget = () => this.#inFlight.delete(invocation);
    invocation.then(forget, forget);
    return invocation;
  }

  async #invoke(arn: string, event: unknown): Promise<unknown> {
    const fn = this.#functions.get(arn);
    const handler = this.#handlers.get(arn);
    if (fn === undefined || handler === undefined) throw new Error(`no function ${arn} loaded`);
    const requestId = randomUUID();
    const deadline = Date.now() + fn.timeoutSeconds * 1000;
    const { deadline: _deadline, ...fields } = contextFields(fn, requestId, deadline);
    const context = {
      ...fields,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    } as Context;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(timedOut(requestId, fn.timeoutSeconds)), fn.timeoutSeconds * 1000);
    });
    try {
      const payload = JSON.parse(JSON.stringify(event ?? null));
      const result = await Promise.race([Promise.resolve().then(() => handler(payload, context)), timeout]);
      return JSON.parse(JSON.stringify(result ?? null));
    } catch (error) {
      throw functionError(error);
    } finally {
      clearTimeout(timer);
    }
  }

  async drain(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
  }
}
