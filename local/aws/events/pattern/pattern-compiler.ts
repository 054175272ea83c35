import { InvalidEventPatternError } from './errors.ts';
import { isJsonObject, isLeafValue, type JsonObject } from './json-values.ts';
import {
  compileExactValue,
  compileMatchExpression,
  MATCHES_ABSENCE,
  type ValueTest,
} from './match-expressions.ts';

/**
 * The condition on one field path (nested keys joined with ".", as AWS joins them, so `{"a.b": …}`
 * and `{"a": {"b": …}}` name the same field). It holds when a present leaf passes any test, or, if the
 * pattern listed `{"exists": false}`, when no leaf is present.
 */
export interface FieldCondition {
  readonly path: string;
  readonly tests: readonly ValueTest[];
  readonly matchesAbsence: boolean;
}

/** All conditions of one `$or` alternative; the pattern matches when any branch's conditions all hold. */
export type Branch = readonly FieldCondition[];

const OR_KEYWORD = '$or';

/** Names that would be read as operators, so AWS refuses them as field names inside `$or`. */
const RESERVED_INSIDE_OR: ReadonlySet<string> = new Set([
  'exact',
  'equals-ignore-case',
  'prefix',
  'suffix',
  'anything-but',
  'exists',
  'wildcard',
  'numeric',
  'cidr',
  '=',
  '<',
  '<=',
  '>',
  '>=',
  'regex',
  'not-wildcard',
  'not-equals-ignore-case',
  'date-after',
  'date-on-or-after',
  'date-before',
  'date-on-or-before',
  'in-date-range',
  'ip-address-in-range',
  'ip-address-not-in-range',
]);

type DraftBranch = Map<string, FieldCondition>;

function fail(reason: string): never {
  throw new InvalidEventPatternError(reason);
}

export function compileBranches(pattern: unknown): Branch[] {
  const root = parseRoot(pattern);
  return compileObject(root, '', [new Map()], false).map(orderConditions);
}

function parseRoot(pattern: unknown): JsonObject {
  const parsed = typeof pattern === 'string' ? parseJson(pattern) : pattern;
  if (!isJsonObject(parsed)) fail('Filter is not an object');
  return parsed;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidEventPatternError((error as Error).message, { cause: error });
  }
}

/**
 * Walks one pattern object. `branches` are owned by this call and extended in place; a `$or` replaces
 * them with one copy per alternative, so fields after the `$or` apply to every alternative.
 */
function compileObject(object: JsonObject, prefix: string, branches: DraftBranch[], insideOr: boolean) {
  const keys = Object.keys(object);
  if (keys.length === 0) fail('Empty objects are not allowed');
  let current = branches;
  for (const key of keys) {
    const value = object[key];
    if (key === OR_KEYWORD) {
      current = compileOr(value, prefix, current);
      continue;
    }
    if (insideOr && RESERVED_INSIDE_OR.has(key)) {
      fail(`${key} is Ruler reserved fieldName which cannot be used inside ${OR_KEYWORD}.`);
    }
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (isJsonObject(value)) {
      current = compileObject(value, path, current, insideOr);
    } else if (Array.isArray(value)) {
      const condition = compileCondition(path, value);
      for (const branch of current) branch.set(path, condition);
    } else {
      fail(`"${key}" must be an object or an array`);
    }
  }
  return current;
}

function compileOr(alternatives: unknown, prefix: string, branches: DraftBranch[]): DraftBranch[] {
  if (!Array.isArray(alternatives)) fail(`It must be an Array followed with ${OR_KEYWORD}.`);
  const expanded: DraftBranch[] = [];
  for (const alternative of alternatives) {
    if (!isJsonObject(alternative))
      fail(`Only JSON object is allowed in array of ${OR_KEYWORD} relationship.`);
    const copies = branches.map((branch) => new Map(branch));
    expanded.push(...compileObject(alternative, prefix, copies, true));
  }
  if (alternatives.length < 2) fail(`There must have at least 2 Objects in ${OR_KEYWORD} relationship.`);
  return expanded;
}

function compileCondition(path: string, elements: readonly unknown[]): FieldCondition {
  const tests: ValueTest[] = [];
  let matchesAbsence = false;
  for (const element of elements) {
    if (isJsonObject(element)) {
      const compiled = compileMatchExpression(element);
      if (compiled === MATCHES_ABSENCE) matchesAbsence = true;
      else tests.push(compiled);
    } else if (isLeafValue(element)) {
      tests.push(compileExactValue(element));
    } else {
      fail('Match value must be String, number, true, false, or null');
    }
  }
  if (elements.length === 0) fail('Empty arrays are not allowed');
  return { path, tests, matchesAbsence };
}

/**
 * Absence is checked last: choosing leaves for the other conditions narrows which array elements are
 * in play, and a field absent from the chosen elements stays absent however much further narrowing follows.
 */
function orderConditions(branch: DraftBranch): Branch {
  const conditions = [...branch.values()];
  return [
    ...conditions.filter((condition) => !condition.matchesAbsence),
    ...conditions.filter((condition) => condition.matchesAbsence),
  ];
}
