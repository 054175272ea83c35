/**
 * EventBridge event-pattern matching for the local twin: the content-filter semantics of the
 * EventBridge user guide (exact, prefix, suffix, anything-but, numeric, exists, equals-ignore-case,
 * wildcard, cidr, $or; arrays match if any element matches) and the pattern validation AWS applies.
 */
import {
  type CollectedFields,
  collectFields,
  type FieldIndex,
  indexPaths,
  isConsistent,
  mergeMemberships,
} from './event-fields.ts';
import type { LeafValue } from './json-values.ts';
import { compileBranches, type FieldCondition } from './pattern-compiler.ts';

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
  const index = indexPaths(branches.flatMap((branch) => branch.map((condition) => condition.path)));
  const slotted = branches.map((branch) =>
    branch.map((condition) => ({ ...condition, slot: index.slots.get(condition.path) as number })),
  );
  return new CompiledEventMatcher(slotted, index);
}

/** One-off convenience; compile once with compilePattern when matching many events. */
export function matchesPattern(pattern: unknown, event: unknown): boolean {
  return compilePattern(pattern).matches(event);
}

/** A condition together with the slot where the event's leaves for its path are collected. */
interface SlottedCondition extends FieldCondition {
  readonly slot: number;
}

type SlottedBranch = readonly SlottedCondition[];

class CompiledEventMatcher implements EventMatcher {
  constructor(
    private readonly branches: readonly SlottedBranch[],
    private readonly index: FieldIndex,
  ) {}

  matches(event: unknown): boolean {
    if (typeof event !== 'object' || event === null || Array.isArray(event)) return false;
    const fields = collectFields(event, this.index);
    return this.branches.some((branch) => satisfies(branch, 0, fields, NO_MEMBERSHIP));
  }
}

const NO_MEMBERSHIP: readonly number[] = [];

/**
 * Backtracking over the leaves each condition could use, so that all leaves chosen for one branch come
 * from the same element of any array they share.
 */
function satisfies(
  branch: SlottedBranch,
  position: number,
  fields: CollectedFields,
  membership: readonly number[],
): boolean {
  const condition = branch[position];
  if (condition === undefined) return true;
  let presentHere = false;
  for (const field of fields[condition.slot] ?? NO_FIELDS) {
    if (!isConsistent(field.membership, membership)) continue;
    presentHere = true;
    if (passesAnyTest(condition, field.value)) {
      if (satisfies(branch, position + 1, fields, mergeMemberships(membership, field.membership)))
        return true;
    }
  }
  return condition.matchesAbsence && !presentHere && satisfies(branch, position + 1, fields, membership);
}

const NO_FIELDS: readonly never[] = [];

function passesAnyTest(condition: FieldCondition, value: LeafValue): boolean {
  for (const test of condition.tests) if (test(value)) return true;
  return false;
}
