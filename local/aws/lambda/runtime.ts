/**
 * Runs the stack's Lambda handlers in the twin's process: each module (the function's
 * `countersign:entry`) is imported once, with the function's environment applied first because the
 * handlers read their environment at load time, and invoked with the event and a Lambda-like
 * context. Failures come back as Step Functions sees them from Lambda: error = errorType, cause =
 * `{"errorType","errorMessage","trace"}`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { ConfigurationError } from '../../../lambdas/domain/errors.ts';
import { ENV } from '../../../lambdas/handlers/environment-names.ts';
import { findFunction, type TwinFunction, type TwinStack } from '../../twin/template.ts';
import { TaskFailure } from '../states/errors.ts';

type Handler = (event: unknown, context: Context) => Promise<unknown> | unknown;

function failureOf(error: unknown): TaskFailure {
  const errorType = error instanceof Error ? error.name : 'Error';
  const errorMessage = error instanceof Error ? error.message : String(error);
  const trace = error instanceof Error ? (error.stack ?? '').split('\n') : [];
  return new TaskFailure(errorType, JSON.stringify({ errorType, errorMessage, trace }));
}

function lambdaContext(fn: TwinFunction, requestId: string, deadline: number): Context {
  const day = new Date().toISOString().slice(0, 10).replace(/-/g, '/');
  const context: Omit<Context, 'done' | 'fail' | 'succeed'> = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: fn.name,
    functionVersion: '$LATEST',
    invokedFunctionArn: fn.arn,
    memoryLimitInMB: String(fn.memorySize),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${fn.name}`,
    logStreamName: `${day}/[$LATEST]${randomBytes(16).toString('hex')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  // done/fail/succeed are the pre-async callback API, which no handler of ours uses.
  return context as Context;
}

export class LocalLambdaRuntime {
  readonly #stack: TwinStack;
  readonly #environment: (fn: TwinFunction) => Record<string, string>;
  readonly #modules = new Map<string, Promise<Handler>>();
  readonly #inFlight = new Set<Promise<unknown>>();
  /** Imports run one at a time: each sets process.env for the module it loads. */
  #importChain: Promise<unknown> = Promise.resolve();
  /**
   * Each runtime imports its own instances of the handler modules (the query makes a distinct
   * module URL): a twin restarted in the same process must not reuse SDK clients that a module
   * built at load time against the previous twin's endpoints and keys.
   */
  readonly #instance = randomBytes(8).toString('hex');

  constructor(stack: TwinStack, environment: (fn: TwinFunction) => Record<string, string>) {
    this.#stack = stack;
    this.#environment = environment;
  }

  #function(nameOrArn: string): TwinFunction {
    const fn = findFunction(this.#stack, nameOrArn);
    if (fn === undefined) {
      throw new TaskFailure(
        'Lambda.ResourceNotFoundException',
        JSON.stringify({
          errorType: 'ResourceNotFoundException',
          errorMessage: `Function not found: ${nameOrArn}`,
        }),
      );
    }
    return fn;
  }

  #load(fn: TwinFunction): Promise<Handler> {
    const cached = this.#modules.get(fn.logicalId);
    if (cached !== undefined) return cached;
    const loading = this.#importChain.then(async () => {
      const environment = this.#environment(fn);
      // process.env is shared: a Countersign setting the previous module got must not leak into
      // one the template does not give it (e.g. a chat secret ARN into a function without chat).
      for (const name of Object.values(ENV)) {
        if (!(name in environment)) delete process.env[name];
      }
      Object.assign(process.env, environment);
      const module = (await import(`${pathToFileURL(fn.entry).href}?twin=${this.#instance}`)) as Record<
        string,
        unknown
      >;
      const handler = module[fn.exportName];
      if (typeof handler !== 'function') {
        throw new ConfigurationError(`${fn.entry} does not export a function named ${fn.exportName}`);
      }
      return handler as Handler;
    });
    this.#importChain = loading.catch(() => undefined);
    this.#modules.set(fn.logicalId, loading);
    return loading;
  }

  /** Imports every function's module now, so a broken handler fails the twin's start, not a request. */
  async loadAll(): Promise<void> {
    await Promise.all(this.#stack.functions.map((fn) => this.#load(fn)));
  }

  /** Invokes a function synchronously (RequestResponse) and returns its JSON result. */
  invoke(nameOrArn: string, event: unknown): Promise<unknown> {
    const invocation = this.#invoke(nameOrArn, event);
    this.#inFlight.add(invocation);
    const forget = () => this.#inFlight.delete(invocation);
    invocation.then(forget, forget);
    return invocation;
  }

  async #invoke(nameOrArn: string, event: unknown): Promise<unknown> {
    const fn = this.#function(nameOrArn);
    const handler = await this.#load(fn);
    const requestId = randomUUID();
    const deadline = Date.now() + fn.timeoutSeconds * 1000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new TaskFailure(
            'Sandbox.Timedout',
            JSON.stringify({
              errorType: 'Sandbox.Timedout',
              errorMessage: `${requestId} Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds`,
            }),
          ),
        );
      }, fn.timeoutSeconds * 1000);
    });
    try {
      // Lambda hands the function a deserialized copy and serializes what it returns.
      const payload = JSON.parse(JSON.stringify(event ?? null));
      const result = await Promise.race([
        Promise.resolve().then(() => handler(payload, lambdaContext(fn, requestId, deadline))),
        timeout,
      ]);
      return result === undefined ? null : JSON.parse(JSON.stringify(result));
    } catch (error) {
      throw error instanceof TaskFailure ? error : failureOf(error);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits for the invocations in flight (used on shutdown, before the database stops). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
  }
}
