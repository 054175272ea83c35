// @ts-check
/**
 * One Lambda execution environment of the twin: a worker thread whose `process.env` is exactly its
 * function's environment (the runtime passes it as the Worker's `env`, as Lambda gives each
 * function its own), which imports the function's code once (the init phase) and runs the
 * invocations the runtime posts: the event arrives as JSON and the result leaves as JSON, as
 * Lambda serializes both, and a failure leaves as Lambda's errorType/errorMessage/trace.
 * Plain JavaScript: a worker has no TypeScript loader, and the code it runs is already bundled.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';

// As Lambda's Node.js runtime: source maps only when the function's NODE_OPTIONS ask for them
// (reading a bundle's map at init and mapping every stack trace costs time Lambda would not spend).
if (/(^|\s)--enable-source-maps(\s|$)/.test(process.env.NODE_OPTIONS ?? ''))
  process.setSourceMapsEnabled(true);
// Lambda runs these functions on Node.js 24; the SDK's notice that this machine's Node is older is
// about the twin's host, which prints it once itself, not about each function.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = /** @type {typeof process.emitWarning} */ (
  (warning, ...rest) => {
    if (!String(warning).startsWith('NodeVersionSupportWarning')) emitWarning(warning, ...rest);
  }
);
const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
const { moduleUrl, exportName } = /** @type {{ moduleUrl: string, exportName: string }} */ (workerData);

/** @param {unknown} error */
function failure(error) {
  if (error instanceof Error) {
    return { errorType: error.name, errorMessage: error.message, trace: (error.stack ?? '').split('\n') };
  }
  return { errorType: 'Error', errorMessage: String(error), trace: [] };
}

/** @type {(() => void) | undefined} */
let gc;
/**
 * This sandbox's heap in use after a full collection, when the runtime asks (the load bench's memory
 * figures): V8 collects only when it needs to, so the heap in use saws up and down with garbage.
 */
function heapAfterCollection() {
  if (gc === undefined) {
    // A context made after the flag is set has `gc`; the function's own context never gets it. The
    // flag is the process's: a sandbox started after the first probe (only under the load bench)
    // would find a global `gc`, which Lambda never gives.
    setFlagsFromString('--expose-gc');
    gc = /** @type {() => void} */ (runInNewContext('gc'));
  }
  gc();
  return process.memoryUsage().heapUsed;
}

/** @type {(event: unknown, context: object) => unknown} */
let handler;
try {
  const module = await import(moduleUrl);
  handler = module[exportName];
  if (typeof handler !== 'function') {
    const error = new Error(`${moduleUrl} does not export a function named ${exportName}`);
    error.name = 'Runtime.HandlerNotFound';
    throw error;
  }
  port.postMessage({ type: 'ready' });
} catch (error) {
  // The runtime ends this sandbox on this message; exiting here instead could overtake it.
  port.postMessage({ type: 'init-error', ...failure(error) });
}

port.on(
  'message',
  /** @param {{ type?: 'collect', id: number, event: string, context: Record<string, unknown> & { deadline: number } }} message */
  async ({ type, id, event, context: lambdaContext }) => {
    if (type === 'collect') {
      port.postMessage({ type: 'heap', id, heapUsed: heapAfterCollection() });
      return;
    }
    const { deadline, ...fields } = lambdaContext;
    const context = {
      ...fields,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    try {
      const result = await handler(JSON.parse(event), context);
      port.postMessage({ type: 'result', id, payload: JSON.stringify(result ?? null) });
    } catch (error) {
      port.postMessage({ type: 'error', id, ...failure(error) });
    }
  },
);
