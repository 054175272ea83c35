/**
 * Untrusted JSON, parsed without silent changes. `JSON.parse` makes a `"__proto__"` key an own
 * property like any other, but zod's `z.json()` and `z.record()` rebuild objects and drop it: a
 * value would then validate as something other than what was sent (an event whose detail carried
 * an extra `__proto__` field passed the strict request schema once `z.json()` had removed it). Such
 * a key is refused instead, at any depth, before anything is rebuilt.
 */
import * as z from './zod.ts';

const PROTO_KEY = '__proto__';

/** Whether a parsed JSON value holds a `__proto__` key anywhere; iterative, so any depth is safe. */
export function holdsProtoKey(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const current = pending.pop();
    if (current === null || typeof current !== 'object') continue;
    if (Object.hasOwn(current, PROTO_KEY)) return true;
    pending.push(...Object.values(current));
  }
  return false;
}

function refuseProtoKeys(value: unknown, context: z.core.$RefinementCtx): void {
  if (holdsProtoKey(value)) {
    context.addIssue({ code: 'custom', message: 'a "__proto__" key is not allowed anywhere in JSON input' });
  }
}

/** Any JSON value, refused when it holds a `__proto__` key. */
export const Json = z.pipe(z.unknown().check(z.superRefine(refuseProtoKeys)), z.json());

/** A JSON object, refused when it holds a `__proto__` key. */
export const JsonObject = z.pipe(
  z.unknown().check(z.superRefine(refuseProtoKeys)),
  z.record(z.string(), z.json()),
);
export type JsonObject = z.infer<typeof JsonObject>;
