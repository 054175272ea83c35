import { isLeafValue, type LeafValue } from './json-values.ts';

/**
 * A leaf of the event at a dotted path, with the array elements it sits in: pairs of
 * (array id, element index), outermost first. Two leaves from different elements of the same array
 * are never combined in one match ("array consistency", as EventBridge's matcher enforces).
 */
export interface EventField {
  readonly value: LeafValue;
  readonly membership: readonly number[];
}

export type FieldsByPath = ReadonlyMap<string, readonly EventField[]>;

export interface FieldSelection {
  /** Every path a pattern names, and every dotted prefix of one: the only parts of the event worth visiting. */
  readonly visited: ReadonlySet<string>;
  /** Paths the pattern has a condition on: leaves are collected only here. */
  readonly collected: ReadonlySet<string>;
}

const NOT_IN_ARRAY: readonly number[] = [];

export function selectionFor(paths: Iterable<string>): FieldSelection {
  const visited = new Set<string>();
  const collected = new Set<string>();
  for (const path of paths) {
    collected.add(path);
    const steps = path.split('.');
    for (let length = 1; length <= steps.length; length++) visited.add(steps.slice(0, length).join('.'));
  }
  return { visited, collected };
}

export function collectFields(event: object, selection: FieldSelection): FieldsByPath {
  const collector = new FieldCollector(selection);
  collector.visitObject(event as Record<string, unknown>, '', NOT_IN_ARRAY);
  return collector.fields;
}

class FieldCollector {
  readonly fields = new Map<string, EventField[]>();
  private nextArrayId = 0;

  constructor(private readonly selection: FieldSelection) {}

  visitObject(object: Record<string, unknown>, path: string, membership: readonly number[]): void {
    for (const key of Object.keys(object)) {
      const childPath = path === '' ? key : `${path}.${key}`;
      if (this.selection.visited.has(childPath)) this.visit(object[key], childPath, membership);
    }
  }

  private visit(value: unknown, path: string, membership: readonly number[]): void {
    if (Array.isArray(value)) {
      const arrayId = this.nextArrayId++;
      for (let index = 0; index < value.length; index++) {
        this.visit(value[index], path, [...membership, arrayId, index]);
      }
    } else if (typeof value === 'object' && value !== null) {
      this.visitObject(value as Record<string, unknown>, path, membership);
    } else if (isLeafValue(value) && this.selection.collected.has(path)) {
      this.add(path, { value, membership });
    }
  }

  private add(path: string, field: EventField): void {
    const existing = this.fields.get(path);
    if (existing === undefined) this.fields.set(path, [field]);
    else existing.push(field);
  }
}

/** True when the two leaves never sit in different elements of the same array. */
export function isConsistent(left: readonly number[], right: readonly number[]): boolean {
  for (let i = 0; i < left.length; i += 2) {
    for (let j = 0; j < right.length; j += 2) {
      if (left[i] === right[j] && left[i + 1] !== right[j + 1]) return false;
    }
  }
  return true;
}

/** The array elements both memberships commit to; call only on consistent memberships. */
export function mergeMemberships(left: readonly number[], right: readonly number[]): readonly number[] {
  if (right.length === 0) return left;
  if (left.length === 0) return right;
  const merged = [...left];
  for (let j = 0; j < right.length; j += 2) {
    if (!hasArray(left, right[j] as number)) merged.push(right[j] as number, right[j + 1] as number);
  }
  return merged;
}

function hasArray(membership: readonly number[], arrayId: number): boolean {
  for (let i = 0; i < membership.length; i += 2) if (membership[i] === arrayId) return true;
  return false;
}
