/**
 * Node 20 lacks `Promise.withResolvers` (Node 22+), which aws-local-stepfunctions uses.
 * Installed once, before the interpreter is imported, by the twin and by the tests.
 */
import { deferred } from './deferred.ts';

const promiseConstructor = Promise as unknown as { withResolvers?: typeof deferred };
promiseConstructor.withResolvers ??= deferred;
