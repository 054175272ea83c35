/**
 * The lean authorization call: what Cedar is asked for a request once the engine has shown that
 * the schema accepts every request this adapter can build about its action.
 *
 * cedar-wasm's time goes into what a call hands it, not into the JavaScript around it (measured
 * with `npm run bench -- policy`): a call that names the schema costs about 60 µs more, because
 * the schema is applied to every entity and to the context on every call; every entity (~10 µs),
 * attribute and context field (~3 µs each) is parsed again on each call, and every policy of the
 * set is evaluated (~5 µs each). So the lean call
 *  - names no schema: instead, the validated calls of the most and the least this adapter can send
 *    about the action are shown to pass Cedar's own check, and per request the values the ports
 *    type but nothing checks are confirmed to be strings;
 *  - carries only what some policy can read: attributes and record fields named by a `.` or `has`
 *    (a record whole when a policy uses it as a value: `context`, or `x.y` other than to reach a
 *    field), tags only when a policy calls `hasTag`/`getTag`, no entity that carries nothing;
 *  - is evaluated by the policies whose action scope admits its action, with that scope decided in
 *    advance (a policy whose scope does not match is neither satisfied nor evaluated, so it can
 *    neither determine nor fail; one whose scope matches needs no action entity to say so), and
 *    brings the action entities with their groups only when a condition reads `action` or names one.
 * All of it is planned once per action, on its first request (`planLeanCalls`; the schema check
 * may come done from the prepared policy file, policy-set.ts). Its answer is the
 * validated call's (test/unit/adapters/cedar/lean-call.test.ts compares them on every policy case);
 * a request the schema check does not cover takes the validated call.
 */

import * as cedar from '@cedar-policy/cedar-wasm/web';
import { CLASSIFICATION_SOURCE, ClassificationStatus, unclassified } from '../../domain/classification.ts';
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
  /** Names whose value some `x.name` hands on whole (compared, a set asked, a string matched …). */
  readonly wholeAttributes: ReadonlySet<string>;
  /** Some condition uses `context` other than as `context.x` / `context has x`. */
  readonly wholeContext: boolean;
  /** Some condition uses `action`. */
  readonly action: boolean;
  /** Some condition calls `hasTag` or `getTag`. */
  readonly tags: boolean;
  /** Action entities named as values in conditions (`Action::"x" in …`). */
  readonly actionLiterals: ReadonlySet<string>;
}

type ReadsInProgress = {
  -readonly [Key in keyof PolicyReads]: PolicyReads[Key] extends ReadonlySet<string>
    ? Set<string>
    : PolicyReads[Key];
};

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

/**
 * Walks a condition in Cedar's JSON policy format; `reached` is true for the left side of `.` and
 * `has`, whose value is only a way to reach a field.
 */
function readExpression(expression: unknown, reads: ReadsInProgress, reached = false): void {
  if (Array.isArray(expression)) {
    for (const item of expression) readExpression(item, reads);
    return;
  }
  if (!isObject(expression)) return;
  for (const [operator, operand] of Object.entries(expression)) {
    if (operator === 'Var') {
      reads.wholeContext ||= operand === 'context' && !reached;
      reads.action ||= operand === 'action';
    } else if (operator === 'Value') {
      readLiteral(operand, reads);
    } else if (operator === 'Record') {
      // Its keys are field names, not operators.
      readExpression(Object.values(operand as Record<string, unknown>), reads);
    } else if (operator === '.' || operator === 'has') {
      const { left, attr } = operand as { left: unknown; attr: string | string[] };
      for (const name of [attr].flat()) reads.attributes.add(name);
      if (operator === '.' && !reached) reads.wholeAttributes.add(attr as string);
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
    wholeAttributes: new Set(),
    wholeContext: false,
    action: false,
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

/** The lean call about one action: the policies that can apply, what they read, its action entities. */
export interface LeanAction {
  readonly policySetId: string;
  readonly reads: PolicyReads;
  readonly entities: readonly cedar.EntityJson[];
}

export interface LeanPlan {
  /**
   * The lean call's plan for requests about `action`, made on the first and kept; undefined when
   * the schema does not accept every request about it (they take the validated call).
   */
  get(action: string): LeanAction | undefined;
}

export interface PolicyInput {
  readonly text: string;
  readonly json: cedar.PolicyJson;
}

/** Whether JavaScript read the JSON exactly: its numbers are doubles, exact up to 2^53 only. */
function readExactly(json: unknown): boolean {
  if (typeof json === 'number') return Number.isSafeInteger(json);
  return isObject(json) ? Object.values(json).every(readExactly) : true;
}

/**
 * The policy with its action scope decided (`action`), when its JSON form says exactly what its
 * text says (a Long literal beyond 2^53 does not survive JavaScript); else undefined.
 */
function withScopeDecided({ json }: PolicyInput): cedar.PolicyJson | undefined {
  return readExactly(json) ? { ...json, action: { op: 'All' } } : undefined;
}

/** What the lean plan needs of the prepared policy set. */
export interface LeanPlanInput extends RequestModel {
  /** Every policy by id: its text and its JSON form. */
  readonly policies: ReadonlyMap<string, PolicyInput>;
  /** Each action of the schema with its groups, transitively; an action without `appliesTo` is a group. */
  readonly actionGroups: ReadonlyMap<string, readonly string[]>;
  /** Each action that requests can be about, keyed by its `appliesTo` as the schema states it. */
  readonly appliesTo: ReadonlyMap<string, string>;
  /**
   * The actions whose every request the schema accepts, when checked in advance (the prepared
   * policy file); else each is checked with Cedar on its first request.
   */
  readonly schemaAcceptedActions?: ReadonlySet<string>;
  /** Preparses the schema and the whole set under `name` (once), which the check's calls name. */
  readonly preparse: () => void;
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
 * parameters, a classification with and without its severity, `execute`); any request's parts lie between
 * them, attribute by attribute, so the schema accepts every request if it accepts these. (No probe
 * string is a valid `ip`, `decimal`, `datetime` or `duration` literal, nor an entity reference, so
 * an attribute the schema types as one of those fails the check, as it must: with the schema,
 * Cedar would read such a string differently.)
 */
function probes(model: RequestModel, action: string): PolicyRequest[] {
  const least = { agent: { id: 'probe' }, action, resource: { arn: 'arn:aws:s3:::probe' }, parameters: {} };
  const sample = { String: 'probe', Long: 0, Bool: false } as const;
  const parameters = Object.fromEntries(
    [...model.parameterTypes].map(([name, type]) => [name, sample[type]]),
  );
  return [
    least,
    // No severity (not classified, or nothing sensitive): the least a classification carries.
    { ...least, classification: unclassified('s3://probe') },
    {
      agent: { id: 'probe', onBehalfOf: 'probe' },
      action,
      resource: { arn: 'arn:aws:iam::123456789012:role/probe', type: 'probe' },
      parameters: { ...parameters, untypedProbe: ['probe'] },
      classification: {
        status: ClassificationStatus.classified,
        severity: 'High',
        categories: ['probe'],
        types: ['probe'],
        findingIds: ['probe'],
        source: CLASSIFICATION_SOURCE,
        classifiedAt: '2026-01-01T00:00:00.000Z',
        subject: 's3://probe/probe',
      },
      resourceTags: { environment: 'probe', other: 'probe' },
      execute: true,
    },
  ];
}

function schemaAccepts(model: RequestModel, request: PolicyRequest): boolean {
  const parts = requestParts(model, request);
  return (
    typeof parts !== 'string' && cedar.statefulIsAuthorized(validatedCall(model, parts)).type === 'success'
  );
}

/** Whether the schema accepts every request this adapter can build about `action` (Cedar checks). */
export function schemaAcceptsEveryRequest(
  model: RequestModel & Pick<LeanPlanInput, 'preparse'>,
  action: string,
): boolean {
  model.preparse();
  return probes(model, action).every((request) => schemaAccepts(model, request));
}

/** The policies whose action scope admits an action: preparsed once as a set, and what they read. */
interface AdmittedPolicies {
  readonly policySetId: string;
  readonly reads: PolicyReads;
  /** Every one preparsed with its action scope decided: no action entity needed to check it. */
  readonly scopesDecided: boolean;
}

/**
 * Plans the lean calls of a prepared policy set, each action's on its first request (a Lambda
 * function's cold start pays for none, a warm one for the actions it sees, once): checks with Cedar
 * whether the schema accepts every request about the action (once per distinct `appliesTo`), and
 * preparses, under `<name>/<n>`, one policy set per distinct set of policies whose scope admits an
 * action, their action scope decided (`action`, for any action), and reads their conditions.
 */
export function planLeanCalls(input: LeanPlanInput): LeanPlan {
  const decided = new Map([...input.policies].map(([id, policy]) => [id, withScopeDecided(policy)]));
  const conforms = new Map<string, boolean>();
  const policySets = new Map<string, AdmittedPolicies>();
  const actions = new Map<string, LeanAction | undefined>();
  const schemaAcceptsAll = (action: string, appliesTo: string): boolean => {
    if (input.schemaAcceptedActions !== undefined) return input.schemaAcceptedActions.has(action);
    let accepts = conforms.get(appliesTo);
    if (accepts === undefined) {
      accepts = schemaAcceptsEveryRequest(input, action);
      conforms.set(appliesTo, accepts);
    }
    return accepts;
  };
  const admit = (admitted: readonly [string, PolicyInput][]): AdmittedPolicies => {
    const key = JSON.stringify(admitted.map(([id]) => id));
    const known = policySets.get(key);
    if (known !== undefined) return known;
    const policySetId = `${input.name}/${policySets.size}`;
    const answer = cedar.preparsePolicySet(policySetId, {
      staticPolicies: Object.fromEntries(admitted.map(([id, { text }]) => [id, decided.get(id) ?? text])),
    });
    if (answer.type === 'failure') {
      throw new Error(answer.errors.map((error) => error.message).join('; '));
    }
    const policies: AdmittedPolicies = {
      policySetId,
      reads: policyReads(admitted.map(([, { json }]) => json)),
      scopesDecided: admitted.every(([id]) => decided.get(id) !== undefined),
    };
    policySets.set(key, policies);
    return policies;
  };
  const plan = (action: string): LeanAction | undefined => {
    const appliesTo = input.appliesTo.get(action);
    if (appliesTo === undefined || !schemaAcceptsAll(action, appliesTo)) return undefined;
    const groups = input.actionGroups.get(action) ?? [];
    const { policySetId, reads, scopesDecided } = admit(
      [...input.policies].filter(([, { json }]) => admits(json.action, action, groups)),
    );
    // A policy kept as text checks its action scope against the action entity's groups.
    const named = new Set([...(reads.action || !scopesDecided ? [action] : []), ...reads.actionLiterals]);
    return { policySetId, reads, entities: [...named].map((id) => actionEntity(id, input.actionGroups)) };
  };
  return {
    get: (action) => {
      if (!actions.has(action)) actions.set(action, plan(action));
      return actions.get(action);
    },
  };
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

function isRecord(value: cedar.CedarValueJson): value is Record<string, cedar.CedarValueJson> {
  return isObject(value) && !Array.isArray(value) && !('__entity' in value) && !('__extn' in value);
}

/** The fields some policy reads, records among them pruned alike unless a policy takes them whole. */
function readableFields(
  record: Readonly<Record<string, cedar.CedarValueJson>>,
  reads: PolicyReads,
): Record<string, cedar.CedarValueJson> {
  const fields: Record<string, cedar.CedarValueJson> = {};
  for (const name in record) {
    if (!reads.attributes.has(name)) continue;
    const value = record[name]!;
    fields[name] = isRecord(value) && !reads.wholeAttributes.has(name) ? readableFields(value, reads) : value;
  }
  return fields;
}

/**
 * The entity as far as some policy can read it; undefined when that is nothing: Cedar answers
 * `has` on an absent entity as on one without attributes or parents. (Reading an attribute an
 * entity lacks needs a `has` guard in a validated policy.)
 */
function readable(entity: cedar.EntityJson, reads: PolicyReads): cedar.EntityJson | undefined {
  const attrs = readableFields(entity.attrs, reads);
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
  const action = plan.get(parts.action.id);
  if (action === undefined || !stringsAreStrings(request)) return undefined;
  const { reads } = action;
  const context = reads.wholeContext ? parts.context : readableFields(parts.context, reads);
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
