// @ts-check
/**
 * One Lambda execution environment of the twin: a worker thread whose `process.env` is exactly its
 * function's environment (the runtime passes it as the Worker's `env`, as Lambda gives each
 * function its own), which imports the function's code once (the init phase) and runs the
 * invocations the runtime posts: the event arrives as JSON and the result leaves as JSON, as
 * Lambda serializes both, and a failure leaves as Lambda's errorType/errorMessage/trace.
 * Plain JavaScript: a worker has no TypeScript loader, and the code it runs is already bundled.
 */
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
  /** @param {{ id: number, event: string, context: Record<string, unknown> & { deadline: number } }} message */
  async ({ id, event, context: { deadline, ...fields } }) => {
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
