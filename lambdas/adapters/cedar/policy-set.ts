/**
 * A Cedar policy set made ready to evaluate: every file parsed, each policy's annotations read into
 * its rule (lambdas/domain/policy-annotations.ts), the set validated against the schema in strict
 * mode, the schema's actions and `Parameters` read, the set preparsed into cedar-wasm's cache and
 * its lean calls readied (lean-call.ts plans each action's on its first request). Whatever is wrong
 * comes back as problems, located as compilers locate them (`file:line:column`).
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import {
  checkDefaults,
  duplicateIds,
  type PolicyDefaults,
  type PolicyRule,
  readPolicyRule,
} from '../../domain/policy-annotations.ts';
import {
  FALLBACK_ACTION,
  isOperationName,
  PARAMETER_CHECKS,
  type ParameterType,
  type RequestModel,
} from './authorization-call.ts';
import { type LeanPlan, type LeanPlanInput, planLeanCalls } from './lean-call.ts';

/** One policy file: `id` names it in problems (the file name), `text` is its Cedar source. */
export interface PolicySource {
  readonly id?: string;
  readonly text: string;
}

export interface PolicySetOptions {
  /** Concatenated Cedar text, or one entry per file. */
  readonly policies: string | readonly PolicySource[];
  /** The Cedar schema, in Cedar's human-readable schema format. */
  readonly schema: string;
  readonly defaults: PolicyDefaults;
}

/** The schema's common type whose attributes are filled from request parameters of the same name. */
const PARAMETERS_TYPE = 'Parameters';

export interface PreparedPolicySet extends RequestModel {
  /** In policy-set order (files by name, then position). */
  readonly rules: ReadonlyMap<string, PolicyRule>;
  /** Declared action → every action group it is in, directly or through another group. */
  readonly actionGroups: ReadonlyMap<string, readonly string[]>;
  readonly lean: LeanPlan;
}

type CedarFailure = { type: 'failure'; errors: cedar.DetailedError[] };

/** A Cedar answer that failed; `problems` are ready to show. */
class PolicySetProblem extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(problems.join('; '));
    this.problems = problems;
  }
}

/** Names the preparsed schema and policy set of each engine in cedar-wasm's cache. */
let preparedCount = 0;

/** `:line:column` of the first location Cedar points at, as compilers print it. */
function describeLocations(text: string, locations: readonly cedar.SourceLabel[]): string {
  return locations
    .slice(0, 1)
    .map((location) => {
      const lines = text.slice(0, location.start).split('\n');
      return `:${lines.length}:${lines.at(-1)!.length + 1}`;
    })
    .join('');
}

/**
 * Returns a successful Cedar answer; otherwise throws its errors as problems, each located in
 * `source` as `label:line:column: message`.
 */
function unwrap<T extends { type: string }>(
  answer: T | CedarFailure,
  source: { label: string; text: string },
): Exclude<T, CedarFailure> {
  if (answer.type === 'failure') {
    const errors = (answer as CedarFailure).errors;
    throw new PolicySetProblem(
      errors.map(
        // cedar-wasm always serializes sourceLocations (empty when it has none), despite the optional type.
        (error) =>
          `${source.label}${describeLocations(source.text, error.sourceLocations as cedar.SourceLabel[])}: ${error.message}`,
      ),
    );
  }
  return answer as Exclude<T, CedarFailure>;
}

interface LoadedPolicy {
  readonly text: string;
  readonly json: cedar.PolicyJson;
  readonly rule: PolicyRule;
}

/** The policies of one file; a file that does not parse adds its problems and yields none. */
function loadSource(
  source: PolicySource,
  index: number,
  defaults: PolicyDefaults,
  problems: string[],
): LoadedPolicy[] {
  const label = source.id ?? `policies[${index}]`;
  try {
    const parts = unwrap(cedar.policySetTextToParts(source.text), { label, text: source.text });
    if (parts.policy_templates.length > 0) {
      problems.push(`${label}: templates (policies with ?principal or ?resource) are not supported`);
    }
    return parts.policies.map((text, position) => {
      const json = unwrap(cedar.policyToJson(text), { label, text }).json;
      const annotations = new Map(
        Object.entries(json.annotations ?? {}).map(([name, value]) => [name, value ?? '']),
      );
      const read = readPolicyRule(annotations, json.effect, `${label}: policy #${position + 1}`, defaults);
      problems.push(...read.problems);
      return { text, json, rule: read.rule };
    });
  } catch (error) {
    if (error instanceof PolicySetProblem) {
      problems.push(...error.problems);
      return [];
    }
    throw error;
  }
}

/** Cedar reports a type error once per action a policy applies to; reviewers need it once per policy. */
function describeValidationErrors(
  policies: readonly LoadedPolicy[],
  errors: readonly cedar.ValidationError[],
): string[] {
  return policies.flatMap(({ rule: { id } }) => {
    const [first, ...more] = errors.filter((error) => error.policyId === id);
    if (first === undefined) {
      return [];
    }
    const others = more.length > 0 ? ` (and ${more.length} more)` : '';
    return [`policy "${id}" does not match the schema: ${first.error.message}${others}`];
  });
}

/** Each action's groups, transitively, from each action's `memberOf`. */
function readActionGroups(
  actions: Record<string, cedar.ActionType<string>>,
): ReadonlyMap<string, readonly string[]> {
  const groupsOf = (action: string, found: Set<string>): Set<string> => {
    for (const { id } of actions[action]?.memberOf ?? []) {
      if (!found.has(id)) groupsOf(id, found.add(id));
    }
    return found;
  };
  return new Map(Object.keys(actions).map((action) => [action, [...groupsOf(action, new Set())]]));
}

type SchemaFacts = Pick<LeanPlanInput, 'declaredActions' | 'parameterTypes' | 'actionGroups' | 'appliesTo'>;

function readSchema(schema: string): SchemaFacts {
  const json = unwrap(cedar.schemaToJsonWithResolvedTypes(schema), { label: 'schema', text: schema }).json;
  // Entity types are un-namespaced: a namespaced schema declares no action here and is reported as such.
  const namespace = json[''];
  const parametersType = namespace?.commonTypes?.[PARAMETERS_TYPE];
  const attributes: Record<string, { type: string }> =
    parametersType !== undefined && 'attributes' in parametersType ? parametersType.attributes : {};
  const parameterTypes = new Map(
    Object.entries(attributes).flatMap(([name, { type }]) =>
      type in PARAMETER_CHECKS ? [[name, type as ParameterType] as const] : [],
    ),
  );
  const actions = namespace?.actions ?? {};
  const appliesTo = new Map(
    Object.entries(actions).flatMap(([name, { appliesTo }]) =>
      appliesTo !== undefined && isOperationName(name) ? [[name, JSON.stringify(appliesTo)] as const] : [],
    ),
  );
  return {
    declaredActions: new Set(Object.keys(actions)),
    parameterTypes,
    actionGroups: readActionGroups(actions),
    appliesTo,
  };
}

/** The prepared set, or why the policies cannot be used (then every request is denied). */
export function preparePolicySet(options: PolicySetOptions): {
  prepared?: PreparedPolicySet;
  problems: string[];
} {
  try {
    const problems = checkDefaults(options.defaults);
    const sources = typeof options.policies === 'string' ? [{ text: options.policies }] : options.policies;
    const loaded = sources.flatMap((source, index) => loadSource(source, index, options.defaults, problems));
    problems.push(...duplicateIds(loaded.map(({ rule }) => rule)));
    const staticPolicies = Object.fromEntries(loaded.map(({ rule, text }) => [rule.id, text]));
    // Validation parses the schema first, so a schema that does not parse fails here, and only here.
    const validation = unwrap(
      cedar.validate({
        schema: options.schema,
        policies: { staticPolicies },
        validationSettings: { mode: 'strict' },
      }),
      { label: 'schema', text: options.schema },
    );
    problems.push(...describeValidationErrors(loaded, validation.validationErrors));
    const schemaFacts = readSchema(options.schema);
    if (!schemaFacts.declaredActions.has(FALLBACK_ACTION)) {
      problems.push(`schema: it must declare action "${FALLBACK_ACTION}" (for operations it does not name)`);
    }
    if (problems.length > 0) {
      return { problems };
    }
    preparedCount += 1;
    const name = `countersign-${preparedCount}`;
    unwrap(cedar.preparseSchema(name, options.schema), { label: 'schema', text: options.schema });
    unwrap(cedar.preparsePolicySet(name, { staticPolicies }), { label: 'policies', text: '' });
    const rules = new Map(loaded.map(({ rule }) => [rule.id, rule]));
    const policies = new Map(loaded.map(({ rule, text, json }) => [rule.id, { text, json }]));
    const lean = planLeanCalls({ name, ...schemaFacts, policies });
    return { prepared: { name, ...schemaFacts, rules, lean }, problems };
  } catch (error) {
    return { problems: error instanceof PolicySetProblem ? [...error.problems] : [String(error)] };
  }
}
