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

/** Leaves collected for each path slot (see FieldIndex); undefined where the event has none. */
export type CollectedFields = readonly (readonly EventField[] | undefined)[];

/**
 * The paths a pattern names, as a tree of field-name steps. Matching walks this tree and looks each step
 * up in the event, so the cost follows the pattern's size, not the event's.
 */
export interface FieldIndex {
  readonly root: PathNode;
  readonly slotCount: number;
  /** Slot of each condition path, where its leaves are collected. */
  readonly slots: ReadonlyMap<string, number>;
}

interface PathNode {
  readonly children: Map<string, PathNode>;
  slot: number | undefined;
}

const NOT_IN_ARRAY: readonly number[] = [];
const PATH_SEPARATOR = '.';

export function indexPaths(paths: Iterable<string>): FieldIndex {
  const root: PathNode = { children: new Map(), slot: undefined };
  const slots = new Map<string, number>();
  for (const path of paths) {
    if (slots.has(path)) continue;
    const node = descend(root, path.split(PATH_SEPARATOR), true) as PathNode;
    node.slot = slots.size;
    slots.set(path, node.slot);
  }
  return { root, slotCount: slots.size, slots };
}

function descend(node: PathNode, steps: readonly string[], create: boolean): PathNode | undefined {
  let current: PathNode | undefined = node;
  for (const step of steps) {
    let child: PathNode | undefined = current.children.get(step);
    if (child === undefined) {
      if (!create) return undefined;
      child = { children: new Map(), slot: undefined };
      current.children.set(step, child);
    }
    current = child;
  }
  return current;
}

export function collectFields(event: object, index: FieldIndex): CollectedFields {
  const collector = new FieldCollector(index.slotCount);
  collector.visitObject(event as Record<string, unknown>, index.root, NOT_IN_ARRAY);
  return collector.fields;
}

class FieldCollector {
  readonly fields: (EventField[] | undefined)[];
  private nextArrayId = 0;

  constructor(slotCount: number) {
    this.fields = new Array(slotCount);
  }

  visitObject(object: Record<string, unknown>, node: PathNode, membership: readonly number[]): void {
    for (const [step, child] of node.children) {
      if (Object.hasOwn(object, step)) this.visit(object[step], child, membership);
    }
    // AWS joins nested names with ".", so an event key "a.b" is the field a → b.
    for (const key in object) {
      if (!key.includes(PATH_SEPARATOR)) continue;
      const target = descend(node, key.split(PATH_SEPARATOR), false);
      if (target !== undefined) this.visit(object[key], target, membership);
    }
  }

  private visit(value: unknown, node: PathNode, membership: readonly number[]): void {
    if (Array.isArray(value)) {
      const arrayId = this.nextArrayId++;
      for (let index = 0; index < value.length; index++) {
        this.visit(value[index], node, [...membership, arrayId, index]);
      }
    } else if (typeof value === 'object' && value !== null) {
      this.visitObject(value as Record<string, unknown>, node, membership);
    } else if (node.slot !== undefined && isLeafValue(value)) {
      this.add(node.slot, { value, membership });
    }
  }

  private add(slot: number, field: EventField): void {
    const existing = this.fields[slot];
    if (existing === undefined) this.fields[slot] = [field];
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
