/**
 * A Cedar policy set made ready to evaluate: every file parsed, each policy's annotations read into
 * its rule (lambdas/domain/policy-annotations.ts), the set validated against the schema in strict
 * mode, the schema's actions and `Parameters` read, and its lean calls readied (lean-call.ts plans
 * each action's on its first request). Whatever is wrong comes back as problems, located as
 * compilers locate them (`file:line:column`).
 *
 * Parsing and validating take Cedar about a second on a Lambda cold start, so the bundle carries
 * them done (`buildPreparedPolicyFile`, run when the bundle is built, which fails on any problem):
 * a prepared file whose digest matches the policy files and schema it is read with, and whose Cedar
 * version is the one loaded, replaces that work; any other is ignored and the sources are prepared
 * as without one. The schema and the whole set are preparsed into cedar-wasm's cache on the first
 * call that names them (the validated call; the lean calls preparse their own sets).
 */
import { createHash } from 'node:crypto';
import * as cedar from '@cedar-policy/cedar-wasm/web';
import {
  checkDefaults,
  duplicateIds,
  type PolicyDefaults,
  type PolicyRule,
  readPolicyRule,
} from '../../domain/policy-annotations.ts';
import * as z from '../../domain/zod.ts';
import {
  FALLBACK_ACTION,
  isOperationName,
  PARAMETER_CHECKS,
  type ParameterType,
  type RequestModel,
} from './authorization-call.ts';
import { isCedarLoaded } from './cedar-wasm.ts';
import { type LeanPlan, type LeanPlanInput, planLeanCalls, schemaAcceptsEveryRequest } from './lean-call.ts';

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
  /** What `buildPreparedPolicyFile` made of these very sources (parsed JSON, checked here); else ignored. */
  readonly prepared?: unknown;
}

const PolicyJsonShape = z.looseObject({ effect: z.enum(['permit', 'forbid']) });

/** The prepared form of a policy set and schema, as the bundle ships it beside them. */
export const PreparedPolicyFile = z.object({
  format: z.literal(1),
  /** `cedar.getCedarVersion()` of the build: another version reads the sources again. */
  cedarVersion: z.string(),
  /** sourceDigest of the policy files and schema it was made of. */
  digest: z.string(),
  policies: z.array(
    z.object({
      /** The file's label and the policy's position in it, as problems name them. */
      label: z.string(),
      position: z.number().check(z.int(), z.nonnegative()),
      text: z.string(),
      /** Cedar's JSON form of the policy (the digest vouches for the rest of it). */
      json: z.custom<cedar.PolicyJson>((value) => PolicyJsonShape.safeParse(value).success),
    }),
  ),
  declaredActions: z.array(z.string()),
  parameterTypes: z.array(z.tuple([z.string(), z.enum(['String', 'Long', 'Bool'])])),
  actionGroups: z.array(z.tuple([z.string(), z.array(z.string())])),
  appliesTo: z.array(z.tuple([z.string(), z.string()])),
  /** The actions whose every request the schema accepts (lean-call.ts): their lean calls need no check. */
  schemaAcceptedActions: z.array(z.string()),
});
export type PreparedPolicyFile = z.infer<typeof PreparedPolicyFile>;

/** Identifies a policy set's sources: file ids and texts, in order, and the schema. */
export function sourceDigest(options: Pick<PolicySetOptions, 'policies' | 'schema'>): string {
  const sources = typeof options.policies === 'string' ? [{ text: options.policies }] : options.policies;
  const parts = [options.schema, ...sources.map((source) => [source.id ?? null, source.text])];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/** The schema's common type whose attributes are filled from request parameters of the same name. */
const PARAMETERS_TYPE = 'Parameters';

export interface PreparedPolicySet extends RequestModel {
  /** In policy-set order (files by name, then position). */
  readonly rules: ReadonlyMap<string, PolicyRule>;
  /** Declared action → every action group it is in, directly or through another group. */
  readonly actionGroups: ReadonlyMap<string, readonly string[]>;
  readonly lean: LeanPlan;
  /** Preparses the schema and the whole set under `name`, once: before any validated call. */
  readonly preparse: () => void;
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
  readonly label: string;
  readonly position: number;
  readonly text: string;
  readonly json: cedar.PolicyJson;
  readonly rule: PolicyRule;
}

/** A policy's rule, from its annotations; what is wrong with them adds to `problems`. */
function readRule(
  label: string,
  position: number,
  json: cedar.PolicyJson,
  defaults: PolicyDefaults,
  problems: string[],
): PolicyRule {
  const annotations = new Map(
    Object.entries(json.annotations ?? {}).map(([name, value]) => [name, value ?? '']),
  );
  const read = readPolicyRule(annotations, json.effect, `${label}: policy #${position + 1}`, defaults);
  problems.push(...read.problems);
  return read.rule;
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
      return { label, position, text, json, rule: readRule(label, position, json, defaults, problems) };
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

type SchemaFacts = Pick<
  LeanPlanInput,
  'declaredActions' | 'parameterTypes' | 'actionGroups' | 'appliesTo' | 'schemaAcceptedActions'
>;

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

type Analysis = { loaded: LoadedPolicy[]; schemaFacts: SchemaFacts; problems: string[] };

/** Parses and validates the sources: the work the prepared file carries done. */
function analyse(options: PolicySetOptions): Analysis {
  const problems = checkDefaults(options.defaults);
  const sources = typeof options.policies === 'string' ? [{ text: options.policies }] : options.policies;
  const loaded = sources.flatMap((source, index) => loadSource(source, index, options.defaults, problems));
  problems.push(...duplicateIds(loaded.map(({ rule }) => rule)));
  // Validation parses the schema first, so a schema that does not parse fails here, and only here.
  const validation = unwrap(
    cedar.validate({
      schema: options.schema,
      policies: { staticPolicies: staticPoliciesOf(loaded) },
      validationSettings: { mode: 'strict' },
    }),
    { label: 'schema', text: options.schema },
  );
  problems.push(...describeValidationErrors(loaded, validation.validationErrors));
  const schemaFacts = readSchema(options.schema);
  if (!schemaFacts.declaredActions.has(FALLBACK_ACTION)) {
    problems.push(`schema: it must declare action "${FALLBACK_ACTION}" (for operations it does not name)`);
  }
  return { loaded, schemaFacts, problems };
}

/** The prepared file's analysis when it was made of these sources by this Cedar; else undefined. */
function restore(options: PolicySetOptions): Analysis | undefined {
  const file = PreparedPolicyFile.safeParse(options.prepared);
  if (
    !file.success ||
    file.data.cedarVersion !== cedar.getCedarVersion() ||
    file.data.digest !== sourceDigest(options)
  ) {
    return undefined;
  }
  const problems = checkDefaults(options.defaults);
  const loaded = file.data.policies.map(({ label, position, text, json }) => ({
    label,
    position,
    text,
    json,
    rule: readRule(label, position, json, options.defaults, problems),
  }));
  problems.push(...duplicateIds(loaded.map(({ rule }) => rule)));
  const schemaFacts: SchemaFacts = {
    declaredActions: new Set(file.data.declaredActions),
    parameterTypes: new Map(file.data.parameterTypes),
    actionGroups: new Map(file.data.actionGroups),
    appliesTo: new Map(file.data.appliesTo),
    schemaAcceptedActions: new Set(file.data.schemaAcceptedActions),
  };
  return { loaded, schemaFacts, problems };
}

function staticPoliciesOf(loaded: readonly LoadedPolicy[]): Record<string, string> {
  return Object.fromEntries(loaded.map(({ rule, text }) => [rule.id, text]));
}

/** The set ready to evaluate; nothing is preparsed yet. */
function ready(options: PolicySetOptions, { loaded, schemaFacts }: Analysis): PreparedPolicySet {
  preparedCount += 1;
  const name = `countersign-${preparedCount}`;
  let preparsed = false;
  const preparse = () => {
    if (preparsed) return;
    unwrap(cedar.preparseSchema(name, options.schema), { label: 'schema', text: options.schema });
    unwrap(cedar.preparsePolicySet(name, { staticPolicies: staticPoliciesOf(loaded) }), {
      label: 'policies',
      text: '',
    });
    preparsed = true;
  };
  const rules = new Map(loaded.map(({ rule }) => [rule.id, rule]));
  const policies = new Map(loaded.map(({ rule, text, json }) => [rule.id, { text, json }]));
  const lean = planLeanCalls({ name, ...schemaFacts, policies, preparse });
  return { name, ...schemaFacts, rules, lean, preparse };
}

/** Why nothing can be prepared before `loadCedar()` (cedar-wasm.ts) has completed. */
const CEDAR_NOT_LOADED = "Cedar's WebAssembly is not loaded (loadCedar() must complete first)";

/** The prepared set, or why the policies cannot be used (then every request is denied). */
export function preparePolicySet(options: PolicySetOptions): {
  prepared?: PreparedPolicySet;
  problems: string[];
} {
  if (!isCedarLoaded()) {
    return { problems: [CEDAR_NOT_LOADED] };
  }
  try {
    const analysis = (options.prepared === undefined ? undefined : restore(options)) ?? analyse(options);
    if (analysis.problems.length > 0) {
      return { problems: analysis.problems };
    }
    return { prepared: ready(options, analysis), problems: [] };
  } catch (error) {
    return { problems: problemsOf(error) };
  }
}

function problemsOf(error: unknown): string[] {
  return error instanceof PolicySetProblem ? [...error.problems] : [String(error)];
}

/** Valid defaults for reading the rules at build time; the prepared file carries no rule. */
const BUILD_DEFAULTS: PolicyDefaults = { approverGroup: 'approvers', timeoutSeconds: 3600 };

/**
 * The prepared file of a policy set and schema (what the bundle ships beside them), or why they
 * cannot be used: the build fails on those, as the engine would deny every request. Rules are read
 * again at start, with the function's own defaults.
 */
export function buildPreparedPolicyFile(sources: Pick<PolicySetOptions, 'policies' | 'schema'>): {
  file?: PreparedPolicyFile;
  problems: string[];
} {
  if (!isCedarLoaded()) {
    return { problems: [CEDAR_NOT_LOADED] };
  }
  const options = { ...sources, defaults: BUILD_DEFAULTS };
  let analysis: Analysis;
  let prepared: PreparedPolicySet;
  try {
    analysis = analyse(options);
    if (analysis.problems.length > 0) {
      return { problems: analysis.problems };
    }
    prepared = ready(options, analysis);
  } catch (error) {
    return { problems: problemsOf(error) };
  }
  const { schemaFacts } = analysis;
  const schemaAcceptedActions = [...schemaFacts.appliesTo.keys()].filter((action) =>
    schemaAcceptsEveryRequest(prepared, action),
  );
  return {
    file: {
      format: 1,
      cedarVersion: cedar.getCedarVersion(),
      digest: sourceDigest(options),
      policies: analysis.loaded.map(({ label, position, text, json }) => ({ label, position, text, json })),
      declaredActions: [...schemaFacts.declaredActions],
      parameterTypes: [...schemaFacts.parameterTypes],
      actionGroups: [...schemaFacts.actionGroups].map(([action, groups]) => [action, [...groups]]),
      appliesTo: [...schemaFacts.appliesTo],
      schemaAcceptedActions,
    },
    problems: [],
  };
}
