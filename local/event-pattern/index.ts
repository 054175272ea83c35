/**
 * EventBridge event-pattern matching for the local twin: the content-filter semantics of the
 * EventBridge user guide (exact, prefix, suffix, anything-but, numeric, exists, equals-ignore-case,
 * wildcard, cidr, $or; arrays match if any element matches) and the pattern validation AWS applies.
 */
import {
  collectFields,
  type FieldSelection,
  type FieldsByPath,
  isConsistent,
  mergeMemberships,
  selectionFor,
} from './event-fields.ts';
import type { LeafValue } from './json-values.ts';
import { type Branch, compileBranches, type FieldCondition } from './pattern-compiler.ts';

export { InvalidEventPatternError } from './errors.ts';

export interface EventMatcher {
  /** Whether the event (a parsed JSON object) matches; anything else never matches. */
  matches(event: unknown): boolean;
}

/**
 * Validates and precompiles a pattern, given as JSON text or as a parsed object.
 * Throws InvalidEventPatternError for a pattern AWS would reject.
 */
export function compilePattern(pattern: unknown): EventMatcher {
  const branches = compileBranches(pattern);
  const selection = selectionFor(branches.flatMap((branch) => branch.map((condition) => condition.path)));
  return new CompiledEventMatcher(branches, selection);
}

/** One-off convenience; compile once with compilePattern when matching many events. */
export function matchesPattern(pattern: unknown, event: unknown): boolean {
  return compilePattern(pattern).matches(event);
}

class CompiledEventMatcher implements EventMatcher {
  constructor(
    private readonly branches: readonly Branch[],
    private readonly selection: FieldSelection,
  ) {}

  matches(event: unknown): boolean {
    if (typeof event !== 'object' || event === null || Array.isArray(event)) return false;
    const fields = collectFields(event, this.selection);
    return this.branches.some((branch) => satisfies(branch, 0, fields, []));
  }
}

/**
 * Backtracking over the leaves each condition could use, so that all leaves chosen for one branch come
 * from the same element of any array they share.
 */
function satisfies(
  branch: Branch,
  index: number,
  fields: FieldsByPath,
  membership: readonly number[],
): boolean {
  const condition = branch[index];
  if (condition === undefined) return true;
  let presentHere = false;
  for (const field of fields.get(condition.path) ?? []) {
    if (!isConsistent(field.membership, membership)) continue;
    presentHere = true;
    if (passesAnyTest(condition, field.value)) {
      if (satisfies(branch, index + 1, fields, mergeMemberships(membership, field.membership))) return true;
    }
  }
  return condition.matchesAbsence && !presentHere && satisfies(branch, index + 1, fields, membership);
}

function passesAnyTest(
  condition: FieldCondition,
  value: Parameters<FieldCondition['tests'][number]>[0],
): boolean {
  for (const test of condition.tests) if (test(value)) return true;
  return false;
}
