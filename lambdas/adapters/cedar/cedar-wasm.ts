/**
 * Cedar's WebAssembly, compiled off the main thread. cedar-wasm's Node.js build compiles its 4 MB
 * module synchronously when it is imported (`new WebAssembly.Module`, ~17 ms of a cold start's main
 * thread on Lambda, ~30 ms here); its web build leaves loading to us, so this module reads the same
 * `.wasm` and hands it to `WebAssembly.compile`, which V8 validates and compiles on background
 * threads while the function's init goes on (its other modules, its SDK clients). Importing this
 * module starts the compile; `loadCedar()` waits for it and instantiates Cedar, once. Every call
 * into Cedar must come after it: a wasm that does not compile or instantiate rejects it, which fails
 * the function's init (fail closed); nothing is evaluated without it (`isCedarLoaded`).
 */
import { readFileSync } from 'node:fs';
import { initSync } from '@cedar-policy/cedar-wasm/web';

/** The web build's own `.wasm`, beside its glue (the bundle ships both: lib/handler-function.ts). */
const WASM_URL = new URL('cedar_wasm_bg.wasm', import.meta.resolve('@cedar-policy/cedar-wasm/web'));

// Read synchronously (~1 ms from the page cache), so that the compile starts at import: V8 validates
// the module on a background thread while the rest of the bundle evaluates. Read asynchronously, the
// bytes arrive only when the init first awaits, after everything else, and the compile overlapped
// nothing (cold init of the three policy functions 7–11 ms longer, paired bench runs).
const compiling: Promise<WebAssembly.Module> = WebAssembly.compile(readFileSync(WASM_URL));
// Whoever loads Cedar sees a failure; until then it is no unhandled rejection that ends the process.
compiling.catch(() => undefined);

let loaded: Promise<void> | undefined;
let ready = false;

/** Resolves once Cedar can be called (instantiated from the module compiled at import); rejects when it cannot. */
export function loadCedar(): Promise<void> {
  loaded ??= compiling.then((module) => {
    initSync({ module });
    ready = true;
  });
  return loaded;
}

/** Whether `loadCedar()` has completed: Cedar's functions work only then. */
export function isCedarLoaded(): boolean {
  return ready;
}
