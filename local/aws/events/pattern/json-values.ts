/** JSON shapes shared by the pattern compiler and the event flattener. */

/** A value EventBridge can compare: everything in an event that is neither an object nor an array. */
export type LeafValue = string | number | boolean | null;

export type JsonObject = { readonly [key: string]: unknown };

export function isJsonObject(value: unknown): value is JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

export function isLeafValue(value: unknown): value is LeafValue {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

/**
 * How the AWS JSON parser names the token it choked on, for messages such as
 * "Invalid member in numeric match: ]" (`undefined` is the end of the array).
 */
export function tokenText(value: unknown): string {
  if (value === undefined) return ']';
  if (Array.isArray(value)) return '[';
  if (typeof value === 'object' && value !== null) return '{';
  return String(value);
}
