/**
 * The twin's Lambda: each function runs its deployed code (the asset the cloud assembly holds, as
 * Lambda would unzip it) in its own worker thread, whose environment is exactly that function's:
 * no function sees another's settings, and nothing in the twin's own process changes. A sandbox
 * starts when the twin starts (or on the first invocation after one was reset), serves the
 * invocations that follow, and is replaced after a timeout or a crash, as Lambda resets an
 * execution environment.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AwsErrorCode, AwsProtocolError } from '../front/errors.ts';
import type { UsageMeter } from '../usage.ts';
import { contextFields, LambdaFunctionError, timedOut } from './invocation.ts';

const SANDBOX = new URL('./sandbox.mjs', import.meta.url);
/** The extensions Lambda's Node.js runtime tries for the handler's module. */
const MODULE_EXTENSIONS = ['.mjs', '.js', '.cjs'] as const;

/** A function as the twin's Lambda runs it. */
export interface LambdaFunction {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  /** The function's code directory (Lambda's task root); undefined when the twin has no code for it. */
  readonly codeDir: string | undefined;
  /** `<module path>.<export>`, as the template's Handler (e.g. `index.handler`). */
  readonly handler: string;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
}

export interface LambdaRuntimeOptions<F extends LambdaFunction> {
  readonly functions: readonly F[];
  /** The whole environment of a function's sandbox (its template variables, AWS_* …). */
  readonly environment: (fn: F) => Readonly<Record<string, string>>;
  /** Where the functions' own output goes, a line at a time (CloudWatch Logs in AWS). */
  readonly log: (line: string) => void;
  /** Counts each invocation with its duration and the function's memory (the cost model). */
  readonly meter?: UsageMeter;
}

type Settle = { resolve: (payload: unknown) => void; reject: (error: unknown) => void };

type SandboxMessage =
  | { type: 'ready' }
  | { type: 'init-error'; errorType: string; errorMessage: string; trace: string[] }
  | { type: 'result'; id: number; payload: string }
  | { type: 'heap'; id: number; heapUsed: number }
  | { type: 'error'; id: number; errorType: string; errorMessage: string; trace: string[] };

/** The module and export a Handler names, in the code directory. */
function handlerModule(fn: LambdaFunction): { moduleUrl: string; exportName: string } | undefined {
  const separator = fn.handler.lastIndexOf('.');
  if (separator <= 0 || fn.codeDir === undefined) return undefined;
  const base = join(fn.codeDir, fn.handler.slice(0, separator));
  const file = MODULE_EXTENSIONS.map((extension) => `${base}${extension}`).find((path) => existsSync(path));
  return file === undefined
    ? undefined
    : { moduleUrl: pathToFileURL(file).href, exportName: fn.handler.slice(separator + 1) };
}

/** One execution environment: a worker thread with the function's environment and code. */
class Sandbox {
  readonly ready: Promise<void>;
  readonly #worker: Worker;
  readonly #pending = new Map<number, Settle>();
  #nextId = 0;
  #retired = false;
  #dead = false;
  #failStart: (error: LambdaFunctionError) => void = () => undefined;
  readonly #log: (line: string) => void;

  constructor(
    fn: LambdaFunction,
    environment: Readonly<Record<string, string>>,
    log: (line: string) => void,
  ) {
    const module = handlerModule(fn);
    this.#log = (line) => log(`[${fn.name}] ${line}`);
    this.#worker = new Worker(SANDBOX, {
      workerData: module ?? { moduleUrl: '', exportName: '' },
      env: { ...environment },
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: Math.max(fn.memorySize, 128) },
      // Not the twin's own flags (tsx's loader, its source maps, under `npm start` and the tests):
      // Lambda starts a bundle in a plain Node; with tsx's hooks a function's start took ~18 ms longer.
      execArgv: [],
    });
    for (const stream of [this.#worker.stdout, this.#worker.stderr] as Readable[]) {
      createInterface({ input: stream }).on('line', (line) => log(`[${fn.name}] ${line}`));
    }
    this.ready = new Promise<void>((resolve, reject) => {
      this.#failStart = reject;
      if (module === undefined) {
        reject(
          new LambdaFunctionError(
            'Runtime.ImportModuleError',
            fn.codeDir === undefined
              ? `the template does not say where the code of ${fn.name} is (no aws:asset:path)`
              : `Error: Cannot find module '${fn.handler.slice(0, fn.handler.lastIndexOf('.'))}' in ${fn.codeDir}`,
          ),
        );
        return;
      }
      this.#worker.on('message', (message: SandboxMessage) => {
        if (message.type === 'ready') resolve();
        else if (message.type === 'init-error') {
          reject(new LambdaFunctionError(message.errorType, message.errorMessage, message.trace));
        } else {
          this.#settle(message);
        }
      });
    });
    this.ready.catch(() => this.#kill());
    this.#worker.on('error', (error) => this.#crash(error));
    this.#worker.on('exit', (code) => this.#crash(new Error(`the runtime exited with code ${code}`)));
  }

  get usable(): boolean {
    return !this.#retired && !this.#dead;
  }

  #settle(message: Extract<SandboxMessage, { id: number }>): void {
    const pending = this.#pending.get(message.id);
    if (pending === undefined) return;
    this.#pending.delete(message.id);
    if (message.type === 'heap') {
      pending.resolve(message.heapUsed);
    } else if (message.type === 'result') {
      pending.resolve(JSON.parse(message.payload));
    } else {
      // As Lambda's Node.js runtime writes a function error to the function's log.
      this.#log(
        `ERROR\tInvoke Error \t${JSON.stringify({ errorType: message.errorType, errorMessage: message.errorMessage })}`,
      );
      pending.reject(new LambdaFunctionError(message.errorType, message.errorMessage, message.trace));
    }
    this.#terminateIfIdle();
  }

  /** The sandbox is gone (an unhandled error, out of memory): every invocation in it fails. */
  #crash(error: Error): void {
    if (this.#dead) return;
    this.#dead = true;
    const exit = new LambdaFunctionError('Runtime.ExitError', `the runtime exited: ${error.message}`);
    this.#failStart(exit);
    for (const pending of this.#pending.values()) pending.reject(exit);
    this.#pending.clear();
  }

  #kill(): void {
    this.#dead = true;
    void this.#worker.terminate();
  }

  #terminateIfIdle(): void {
    if (this.#retired && this.#pending.size === 0) this.#kill();
  }

  /** No new invocations; the worker ends once those it is running have answered. */
  retire(): void {
    this.#retired = true;
    this.#terminateIfIdle();
  }

  async invoke(fn: LambdaFunction, event: unknown): Promise<unknown> {
    await this.ready;
    const requestId = randomUUID();
    const deadline = Date.now() + fn.timeoutSeconds * 1000;
    const id = this.#nextId++;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<unknown>((resolve, reject) => {
        this.#pending.set(id, { resolve, reject });
        timer = setTimeout(() => {
          this.#pending.delete(id);
          // Lambda resets the environment of a timed-out invocation; the others in it still answer.
          this.retire();
          reject(timedOut(requestId, fn.timeoutSeconds));
        }, fn.timeoutSeconds * 1000);
        // Lambda hands the function a deserialized copy of the event.
        this.#worker.postMessage({
          id,
          event: JSON.stringify(event ?? null),
          context: contextFields(fn, requestId, deadline),
        });
      });
    } finally {
      clearTimeout(timer);
    }
  }

  /** The sandbox's heap in use after a full collection, in bytes. */
  async heapAfterCollection(): Promise<number> {
    await this.ready;
    const id = this.#nextId++;
    return new Promise<number>((resolve, reject) => {
      this.#pending.set(id, { resolve: (heapUsed) => resolve(heapUsed as number), reject });
      this.#worker.postMessage({ type: 'collect', id });
    });
  }

  async stop(): Promise<void> {
    this.#dead = true;
    await this.#worker.terminate();
  }
}

export class LambdaRuntime<F extends LambdaFunction = LambdaFunction> {
  readonly #functions: readonly F[];
  readonly #options: LambdaRuntimeOptions<F>;
  readonly #sandboxes = new Map<string, Sandbox>();
  readonly #all = new Set<Sandbox>();
  readonly #inFlight = new Set<Promise<unknown>>();
  #stopping = false;

  constructor(options: LambdaRuntimeOptions<F>) {
    this.#functions = options.functions;
    this.#options = options;
  }

  /** The function a name, an ARN or a qualified ARN (`…:function:name:$LATEST`) designates. */
  find(nameOrArn: string): F | undefined {
    const unqualified = nameOrArn.replace(/^(arn:[^:]+:lambda:[^:]*:[^:]*:function:[^:]+):.+$/, '$1');
    return this.#functions.find((fn) => fn.arn === unqualified || fn.name === unqualified);
  }

  #sandbox(fn: F): Sandbox {
    const current = this.#sandboxes.get(fn.logicalId);
    if (current?.usable === true) return current;
    const sandbox = new Sandbox(fn, this.#options.environment(fn), this.#options.log);
    this.#sandboxes.set(fn.logicalId, sandbox);
    this.#all.add(sandbox);
    // A sandbox that could not start is dropped: the next invocation starts a fresh one, as Lambda re-inits.
    sandbox.ready.catch(() => {
      if (this.#sandboxes.get(fn.logicalId) === sandbox) this.#sandboxes.delete(fn.logicalId);
    });
    return sandbox;
  }

  /**
   * Starts the sandbox of every function that has code, and resolves once all are ready, so the
   * first invocations find them warm and a function that cannot start fails the twin's start.
   */
  async prewarm(): Promise<void> {
    const starting = this.#functions.flatMap((fn) =>
      fn.codeDir === undefined
        ? []
        : [
            // A sandbox's start fails only with the function's init error.
            this.#sandbox(fn).ready.catch((error: LambdaFunctionError) => {
              throw new LambdaFunctionError(
                error.errorType,
                `${fn.name} cannot start: ${error.errorMessage}`,
                error.trace,
              );
            }),
          ],
    );
    await Promise.all(starting);
  }

  /**
   * Invokes a function (RequestResponse) and returns its JSON result. Throws ResourceNotFoundException
   * for an unknown function, LambdaFunctionError when the function fails, times out or cannot start.
   */
  invoke(nameOrArn: string, event: unknown): Promise<unknown> {
    const fn = this.find(nameOrArn);
    if (fn === undefined) {
      return Promise.reject(
        new AwsProtocolError(AwsErrorCode.resourceNotFound, `Function not found: ${nameOrArn}`, 404),
      );
    }
    if (this.#stopping) {
      // A sandbox started now would outlive stop() and keep the process alive (a stream mapping
      // retrying its batch, a workflow step, while the twin shuts down).
      return Promise.reject(
        new AwsProtocolError(
          AwsErrorCode.internalFailure,
          `The twin is stopping: ${fn.name} is not invoked`,
          500,
        ),
      );
    }
    const started = performance.now();
    const invocation = this.#sandbox(fn).invoke(fn, event);
    this.#inFlight.add(invocation);
    const forget = () => {
      this.#inFlight.delete(invocation);
      this.#options.meter?.invoked(fn.name, fn.memorySize, performance.now() - started);
    };
    invocation.then(forget, forget);
    return invocation;
  }

  /**
   * What the functions keep: the heaps in use of the running sandboxes, each after a full
   * collection, in bytes (a heap in use saws with garbage; the load bench reads this). A sandbox
   * retired after a timeout is not counted.
   */
  async heapAfterCollection(): Promise<number> {
    const running = [...this.#sandboxes.values()].filter((sandbox) => sandbox.usable);
    const heaps = await Promise.all(running.map((sandbox) => sandbox.heapAfterCollection()));
    return heaps.reduce((sum, heap) => sum + heap, 0);
  }

  /** Refuses new invocations, waits for those in flight, then ends every sandbox. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.allSettled([...this.#inFlight]);
    await Promise.all([...this.#all].map((sandbox) => sandbox.stop()));
    this.#sandboxes.clear();
    this.#all.clear();
  }
}
