/**
 * The lean authorization call: what Cedar is asked on every request once the engine has shown, at
 * start, that the schema accepts every request this adapter can build.
 *
 * cedar-wasm's time goes into what a call hands it, not into the JavaScript around it (measured
 * with `npm run bench -- policy`): a call that names the schema costs about 60 µs more, because
 * the schema is applied to every entity and to the context on every call; every entity, attribute
 * and context field is parsed again on each call, and every policy of the set is evaluated. So
 * the lean call
 *  - names no schema: instead, at start, the validated call of the most and the least this adapter
 *    can send about each action is shown to pass Cedar's own check (`conformingActions`), and per
 *    request the values the ports type but nothing checks are confirmed to be strings;
 *  - brings the action entity with its groups (what the schema would have added) and the actions
 *    the conditions name;
 *  - carries only what some policy can read: entity attributes and context fields named by a `.`
 *    or `has`, tags only when a policy calls `hasTag`/`getTag`, and the whole context when a policy
 *    reads it as a value;
 *  - is evaluated by the policies whose action scope admits its action (a policy whose scope does
 *    not match is neither satisfied nor evaluated, so it can neither determine nor fail).
 * Its answer is the validated call's (test/unit/adapters/cedar/lean-call.test.ts compares them on
 * every policy case); a request the start-up check does not cover takes the validated call.
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { PolicyRequest } from '../../ports/index.ts';
import {
  EntityType,
  PARAMETER_CHECKS,
  type RequestModel,
  type RequestParts,
  requestParts,
  validatedCall,
} from './authorization-call.ts';

/** What the conditions of a policy set can read of a request. */
export interface PolicyReads {
  /** Names after `.` and `has`: entity attributes, context fields and record fields. */
  readonly attributes: ReadonlySet<string>;
  /** Some condition uses `context` other than as `context.x` / `context has x`. */
  readonly wholeContext: boolean;
  /** Some condition calls `hasTag` or `getTag`. */
  readonly tags: boolean;
  /** Action entities named as values in conditions (`Action::"x" in …`). */
  readonly actionLiterals: ReadonlySet<string>;
}

interface ReadsInProgress {
  attributes: Set<string>;
  wholeContext: boolean;
  tags: boolean;
  actionLiterals: Set<string>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** Action entities in a literal value (`{"__entity": {"type": "Action", "id": …}}`, also inside sets). */
function readLiteral(value: unknown, reads: ReadsInProgress): void {
  if (Array.isArray(value)) {
    for (const item of value) readLiteral(item, reads);
  } else if (isObject(value)) {
    const entity = value.__entity;
    if (isObject(entity) && entity.type === EntityType.action && typeof entity.id === 'string') {
      reads.actionLiterals.add(entity.id);
    }
    for (const field of Object.values(value)) readLiteral(field, reads);
  }
}

/** Walks a condition in Cedar's JSON policy format; `accessed` is true for the left side of `.`/`has`. */
function readExpression(expression: unknown, reads: ReadsInProgress, accessed = false): void {
  if (Array.isArray(expression)) {
    for (const item of expression) readExpression(item, reads);
    return;
  }
  if (!isObject(expression)) return;
  for (const [operator, operand] of Object.entries(expression)) {
    if (operator === 'Var') {
      reads.wholeContext ||= operand === 'context' && !accessed;
    } else if (operator === 'Value') {
      readLiteral(operand, reads);
    } else if (operator === 'Record') {
      // Its keys are field names, not operators.
      readExpression(Object.values(operand as Record<string, unknown>), reads);
    } else if (operator === '.' || operator === 'has') {
      const { left, attr } = operand as { left: unknown; attr: string | string[] };
      for (const name of [attr].flat()) reads.attributes.add(name);
      readExpression(left, reads, true);
    } else {
      reads.tags ||= operator === 'hasTag' || operator === 'getTag';
      readExpression(operand, reads);
    }
  }
}

export function policyReads(policies: Iterable<cedar.PolicyJson>): PolicyReads {
  const reads: ReadsInProgress = {
    attributes: new Set(),
    wholeContext: false,
    tags: false,
    actionLiterals: new Set(),
  };
  for (const policy of policies) {
    for (const clause of policy.conditions) readExpression(clause.body, reads);
  }
  return reads;
}

/** Whether a policy's action scope admits `action`, whose groups (transitively) are `groups`. */
function admits(scope: cedar.ActionConstraint, action: string, groups: readonly string[]): boolean {
  if (scope.op === 'All') return true;
  const named = 'entities' in scope ? scope.entities : 'entity' in scope ? [scope.entity] : [];
  const ids = named.map((uid) => ('__entity' in uid ? uid.__entity.id : uid.id));
  return ids.some((id) => id === action || groups.includes(id));
}

/** What the lean call about one action sends besides the request's own entities. */
interface LeanAction {
  readonly entities: readonly cedar.EntityJson[];
  readonly policySetId: string;
}

export interface LeanPlan {
  readonly reads: PolicyReads;
  /** The actions whose every request the schema accepts; the others take the validated call. */
  readonly actions: ReadonlyMap<string, LeanAction>;
}

/** What the lean plan needs of the prepared policy set. */
export interface LeanPlanInput extends RequestModel {
  /** Every policy by id: its text (to preparse subsets) and its JSON form (to read it). */
  readonly policies: ReadonlyMap<string, { readonly text: string; readonly json: cedar.PolicyJson }>;
  /** Each action of the schema with its groups, transitively; an action without `appliesTo` is a group. */
  readonly actionGroups: ReadonlyMap<string, readonly string[]>;
  /** Each action that requests can be about, keyed by its `appliesTo` as the schema states it. */
  readonly appliesTo: ReadonlyMap<string, string>;
}

function actionEntity(id: string, groups: ReadonlyMap<string, readonly string[]>): cedar.EntityJson {
  return {
    uid: { type: EntityType.action, id },
    attrs: {},
    parents: (groups.get(id) ?? []).map((group) => ({ type: EntityType.action, id: group })),
  };
}

/**
 * The most and the least this adapter sends about `action` (optional attributes, tags, typed
 * parameters, a classification with and without its severity); any request's parts lie between
 * them, attribute by attribute, so the schema accepts every request if it accepts these.
 */
function probes(model: RequestModel, action: string): PolicyRequest[] {
  const least = { agent: { id: 'probe' }, action, resource: { arn: 'arn:aws:s3:::probe' }, parameters: {} };
  const sample = { String: 'probe', Long: 0, Bool: false } as const;
  const parameters = Object.fromEntries(
    [...model.parameterTypes].map(([name, type]) => [name, sample[type]]),
  );
  return [
    least,
    { ...least, classification: {} },
    {
      agent: { id: 'probe', onBehalfOf: 'probe' },
      action,
      resource: { arn: 'arn:aws:iam::123456789012:role/probe', type: 'probe' },
      parameters: { ...parameters, untypedProbe: ['probe'] },
      classification: { severity: 'High', categories: ['probe'], types: ['probe'] },
      resourceTags: { environment: 'probe', other: 'probe' },
    },
  ];
}

function schemaAccepts(model: RequestModel, request: PolicyRequest): boolean {
  const parts = requestParts(model, request);
  return (
    typeof parts !== 'string' && cedar.statefulIsAuthorized(validatedCall(model, parts)).type === 'success'
  );
}

/**
 * Plans the lean calls of a prepared policy set: reads its conditions, checks with Cedar which
 * actions the schema accepts every request about (once per distinct `appliesTo`), and preparses,
 * under `<name>/<n>`, one policy set per distinct set of policies whose scope admits an action.
 */
export function planLeanCalls(input: LeanPlanInput): LeanPlan {
  const reads = policyReads([...input.policies.values()].map(({ json }) => json));
  const conforms = new Map<string, boolean>();
  const policySets = new Map<string, string>();
  const actions = new Map<string, LeanAction>();
  for (const [action, appliesTo] of input.appliesTo) {
    if (!conforms.has(appliesTo)) {
      conforms.set(
        appliesTo,
        probes(input, action).every((request) => schemaAccepts(input, request)),
      );
    }
    if (!conforms.get(appliesTo)) continue;
    const groups = input.actionGroups.get(action) ?? [];
    const admitted = [...input.policies].filter(([, { json }]) => admits(json.action, action, groups));
    const key = JSON.stringify(admitted.map(([id]) => id));
    let policySetId = policySets.get(key);
    if (policySetId === undefined) {
      policySetId = `${input.name}/${policySets.size}`;
      const answer = cedar.preparsePolicySet(policySetId, {
        staticPolicies: Object.fromEntries(admitted.map(([id, { text }]) => [id, text])),
      });
      if (answer.type === 'failure') {
        throw new Error(answer.errors.map((error) => error.message).join('; '));
      }
      policySets.set(key, policySetId);
    }
    const named = [action, ...[...reads.actionLiterals].filter((literal) => literal !== action)];
    actions.set(action, {
      entities: named.map((id) => actionEntity(id, input.actionGroups)),
      policySetId,
    });
  }
  return { reads, actions };
}

/** The values the ports type as strings but nothing else checks before they reach the call. */
function stringsAreStrings(request: PolicyRequest): boolean {
  const isString = PARAMETER_CHECKS.String;
  const optionalString = (value: unknown) => value === undefined || isString(value);
  return (
    isString(request.agent.id) &&
    optionalString(request.agent.onBehalfOf) &&
    isString(request.resource.arn) &&
    optionalString(request.resource.type) &&
    Object.values(request.resourceTags ?? {}).every(isString)
  );
}

function pick(
  record: Readonly<Record<string, cedar.CedarValueJson>>,
  names: ReadonlySet<string>,
): Record<string, cedar.CedarValueJson> {
  const picked: Record<string, cedar.CedarValueJson> = {};
  for (const name in record) {
    if (names.has(name)) picked[name] = record[name]!;
  }
  return picked;
}

/**
 * The entity as far as some policy can read it; undefined when that is nothing: Cedar answers
 * `has` on an absent entity as on one without attributes or parents. (Reading an attribute an
 * entity lacks needs a `has` guard in a validated policy.)
 */
function readable(entity: cedar.EntityJson, reads: PolicyReads): cedar.EntityJson | undefined {
  const attrs = pick(entity.attrs, reads.attributes);
  if (reads.tags) return { uid: entity.uid, attrs, parents: entity.parents, tags: entity.tags ?? {} };
  const carries = Object.keys(attrs).length > 0 || entity.parents.length > 0;
  return carries ? { uid: entity.uid, attrs, parents: entity.parents } : undefined;
}

/** The lean call of a request, or undefined when it must take the validated call. */
export function leanCall(
  plan: LeanPlan,
  request: PolicyRequest,
  parts: RequestParts,
): cedar.StatefulAuthorizationCall | undefined {
  const action = plan.actions.get(parts.action.id);
  if (action === undefined || !stringsAreStrings(request)) return undefined;
  const { reads } = plan;
  const context = reads.wholeContext ? parts.context : pick(parts.context, reads.attributes);
  const carried = [parts.principal, parts.resource];
  if ('parameterMap' in context) carried.push(parts.parameterMap);
  const entities = [...action.entities];
  for (const entity of carried) {
    const lean = readable(entity, reads);
    if (lean !== undefined) entities.push(lean);
  }
  return {
    principal: parts.principal.uid,
    action: parts.action,
    resource: parts.resource.uid,
    context,
    entities,
    preparsedPolicySetId: action.policySetId,
  };
}
