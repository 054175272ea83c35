/**
 * The policy engine: Cedar decides whether a request is allowed outright, denied outright or needs
 * people to countersign it. The Cedar model (entities, actions, context) is described in
 * policies/README.md; this file maps a PolicyRequest onto it and reads the outcome.
 *
 * Outcome of the determining policies (Cedar's `diagnostics.reason`), strictest first:
 *  - any `forbid` applies                       → DENY
 *  - any `permit` with approval annotations      → REQUIRE_APPROVAL, combined over all of them:
 *    groups = union (in policy order), quorum = max, timeout = min, stepUp = any
 *  - only un-annotated `permit`s apply           → ALLOW
 *  - nothing applies                             → REQUIRE_APPROVAL from the default group, quorum 1
 * Anything that goes wrong — a policy set that does not parse or validate, a request that does not fit
 * the schema, an evaluation error in any policy — is a DENY that says why. Never ALLOW by accident.
 */

import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { z } from 'zod';
import type { PolicyEngine, PolicyRequest } from '../ports/index.ts';
import { describeDuration, parseIsoDuration } from './iso-duration.ts';
import { denyDecision } from './policy-decision.ts';
import { describeIssues, type PolicyDecision, PolicyOutcome } from './schemas.ts';

/** One policy file: `id` names it in problems (the file name), `text` is its Cedar source. */
export interface PolicySource {
  readonly id?: string;
  readonly text: string;
}

export interface PolicyDefaults {
  /** Who approves when no policy applies. */
  readonly approverGroup: string;
  /** How long they have, and the timeout of an approval policy that sets none. */
  readonly timeoutSeconds: number;
}

export interface PolicyEngineOptions {
  /** Concatenated Cedar text, or one entry per file. */
  readonly policies: string | readonly PolicySource[];
  /** The Cedar schema, in Cedar's human-readable schema format. */
  readonly schema: string;
  readonly defaults: PolicyDefaults;
}

export interface CheckedPolicyEngine extends PolicyEngine {
  /** Why the policy set cannot be used; empty when it is valid. Non-empty means every request is denied. */
  readonly problems: readonly string[];
}

/** The annotations Countersign reads. Any other annotation is a problem: a typo must not weaken a policy. */
export const PolicyAnnotation = {
  id: 'id',
  reason: 'reason',
  approval: 'approval',
  quorum: 'quorum',
  timeout: 'timeout',
  stepUp: 'stepUp',
} as const;
const APPROVAL_ANNOTATIONS = [
  PolicyAnnotation.approval,
  PolicyAnnotation.quorum,
  PolicyAnnotation.timeout,
  PolicyAnnotation.stepUp,
] as const;
const KNOWN_ANNOTATIONS: ReadonlySet<string> = new Set(Object.values(PolicyAnnotation));

/** The Cedar action of every operation the schema does not declare by name. */
export const FALLBACK_ACTION = 'aws:Operation';
/** Entity types the engine builds; the schema must declare them (see policies/countersign.cedarschema). */
export const EntityType = {
  agent: 'Agent',
  resource: 'Resource',
  parameterMap: 'ParameterMap',
  action: 'Action',
} as const;
/** The schema's common type whose attributes are filled from request parameters of the same name. */
const PARAMETERS_TYPE = 'Parameters';
const PARAMETER_MAP_ID = 'parameters';

/** A Step Functions execution, and so a wait for reviewers, lasts at most one year. */
const MAX_TIMEOUT_SECONDS = 365 * 86_400;
const MAX_QUORUM = 100;
const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$/;
const QUORUM = /^[1-9][0-9]*$/;
const ACTION_NAME = /^([a-z0-9-]+):([A-Za-z0-9]+)$/;
const ARN = /^arn:([^:]+):([^:]+):([^:]*):([^:]*):(.+)$/;

/** The data classification a policy can read, as the Macie classification store provides it. */
export const PolicyClassification = z.looseObject({
  severity: z.enum(['Low', 'Medium', 'High']).optional(),
  categories: z.array(z.string()).default([]),
  types: z.array(z.string()).default([]),
});
export type PolicyClassification = z.infer<typeof PolicyClassification>;

/** What the workflow looks up for a request before evaluating it (the CLI and policy tests supply it). */
export const PolicyFacts = z.strictObject({
  classification: z.record(z.string(), z.unknown()).optional(),
  resourceTags: z.record(z.string(), z.string()).optional(),
});
export type PolicyFacts = z.infer<typeof PolicyFacts>;

interface ApprovalRequirement {
  readonly groups: readonly string[];
  readonly quorum: number;
  readonly timeoutSeconds: number;
  readonly stepUp: boolean;
}

interface LoadedPolicy {
  readonly id: string;
  readonly text: string;
  readonly effect: 'permit' | 'forbid';
  readonly reason?: string;
  /** Present on a permit that needs approval. */
  readonly requirement?: ApprovalRequirement;
}

interface PreparedPolicySet {
  readonly name: string;
  readonly policies: ReadonlyMap<string, LoadedPolicy>;
  readonly declaredActions: ReadonlySet<string>;
  /** Attribute name → Cedar primitive type of the schema's `Parameters` record. */
  readonly parameterTypes: ReadonlyMap<string, ParameterType>;
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

const PARAMETER_CHECKS = {
  String: (value: unknown) => typeof value === 'string',
  Long: (value: unknown) => Number.isSafeInteger(value),
  Bool: (value: unknown) => typeof value === 'boolean',
} as const;
type ParameterType = keyof typeof PARAMETER_CHECKS;

/** Names the preparsed schema and policy set of each engine in cedar-wasm's cache. */
let preparedCount = 0;

export function createPolicyEngine(options: PolicyEngineOptions): CheckedPolicyEngine {
  const { prepared, problems } = prepare(options);
  return {
    problems,
    evaluate: (request) =>
      prepared === undefined
        ? denyDecision([], `The policy set is invalid, so every request is denied: ${problems.join('; ')}`)
        : evaluateSafely(prepared, options.defaults, request),
  };
}

function prepare(options: PolicyEngineOptions): { prepared?: PreparedPolicySet; problems: string[] } {
  try {
    const problems = checkDefaults(options.defaults);
    const sources = typeof options.policies === 'string' ? [{ text: options.policies }] : options.policies;
    const loaded = sources.flatMap((source, index) => loadSource(source, index, options.defaults, problems));
    problems.push(...duplicateIds(loaded));
    const policies = new Map(loaded.map((policy) => [policy.id, policy]));
    const staticPolicies = Object.fromEntries(loaded.map((policy) => [policy.id, policy.text]));
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
    const { declaredActions, parameterTypes } = readSchema(options.schema);
    if (!declaredActions.has(FALLBACK_ACTION)) {
      problems.push(`schema: it must declare action "${FALLBACK_ACTION}" (for operations it does not name)`);
    }
    if (problems.length > 0) {
      return { problems };
    }
    preparedCount += 1;
    const name = `countersign-${preparedCount}`;
    unwrap(cedar.preparseSchema(name, options.schema), { label: 'schema', text: options.schema });
    unwrap(cedar.preparsePolicySet(name, { staticPolicies }), { label: 'policies', text: '' });
    return { prepared: { name, policies, declaredActions, parameterTypes }, problems };
  } catch (error) {
    return { problems: error instanceof PolicySetProblem ? [...error.problems] : [String(error)] };
  }
}

function checkDefaults(defaults: PolicyDefaults): string[] {
  const problems: string[] = [];
  if (!GROUP_NAME.test(defaults.approverGroup)) {
    problems.push(`defaults: approver group "${defaults.approverGroup}" is not a group name`);
  }
  if (!isTimeout(defaults.timeoutSeconds)) {
    problems.push(
      `defaults: timeout ${defaults.timeoutSeconds} must be whole seconds from 1 to ${MAX_TIMEOUT_SECONDS}`,
    );
  }
  return problems;
}

function isTimeout(seconds: number): boolean {
  return Number.isInteger(seconds) && seconds >= 1 && seconds <= MAX_TIMEOUT_SECONDS;
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
      const policy = readPolicy(text, json, `${label}: policy #${position + 1}`, defaults);
      problems.push(...policy.problems);
      return policy.policy;
    });
  } catch (error) {
    if (error instanceof PolicySetProblem) {
      problems.push(...error.problems);
      return [];
    }
    throw error;
  }
}

function readPolicy(
  text: string,
  json: cedar.PolicyJson,
  where: string,
  defaults: PolicyDefaults,
): { policy: LoadedPolicy; problems: string[] } {
  const annotations = new Map(
    Object.entries(json.annotations ?? {}).map(([name, value]) => [name, value ?? '']),
  );
  const id = annotations.get(PolicyAnnotation.id) ?? '';
  const problems: string[] = [];
  const complain = (problem: string) => problems.push(`${id === '' ? where : `policy "${id}"`}: ${problem}`);
  if (id === '') {
    complain('every policy needs an @id("…") annotation, its name in decisions');
  }
  for (const name of annotations.keys()) {
    if (!KNOWN_ANNOTATIONS.has(name)) {
      complain(
        `unknown annotation @${name} (known: ${[...KNOWN_ANNOTATIONS].map((known) => `@${known}`).join(', ')})`,
      );
    }
  }
  const requirement = APPROVAL_ANNOTATIONS.some((name) => annotations.has(name))
    ? readRequirement(annotations, defaults, complain)
    : undefined;
  if (json.effect === 'forbid' && requirement !== undefined) {
    complain('approval annotations (@approval, @quorum, @timeout, @stepUp) belong on a permit, not a forbid');
  }
  const reason = annotations.get(PolicyAnnotation.reason);
  return {
    policy: {
      id,
      text,
      effect: json.effect,
      ...(reason === undefined ? {} : { reason }),
      ...(requirement === undefined ? {} : { requirement }),
    },
    problems,
  };
}

/** Reads the approval annotations of a permit; a missing one takes its default, a malformed one complains. */
function readRequirement(
  annotations: ReadonlyMap<string, string>,
  defaults: PolicyDefaults,
  complain: (problem: string) => void,
): ApprovalRequirement {
  const approval = annotations.get(PolicyAnnotation.approval);
  const groups =
    approval === undefined ? [defaults.approverGroup] : approval.split(',').map((group) => group.trim());
  if (!groups.every((group) => GROUP_NAME.test(group))) {
    complain(`@approval("${approval}") must be comma-separated group names`);
  }
  const quorumText = annotations.get(PolicyAnnotation.quorum) ?? '1';
  const quorum = Number(quorumText);
  if (!QUORUM.test(quorumText) || quorum > MAX_QUORUM) {
    complain(`@quorum("${quorumText}") must be a whole number from 1 to ${MAX_QUORUM}`);
  }
  const timeoutText = annotations.get(PolicyAnnotation.timeout);
  const timeoutSeconds = timeoutText === undefined ? defaults.timeoutSeconds : parseIsoDuration(timeoutText);
  if (timeoutSeconds === undefined || !isTimeout(timeoutSeconds)) {
    complain(
      `@timeout("${timeoutText}") must be an ISO 8601 duration such as PT30M, PT1H or P1D, at most ${describeDuration(MAX_TIMEOUT_SECONDS)}`,
    );
  }
  const stepUp = annotations.get(PolicyAnnotation.stepUp) ?? 'false';
  if (stepUp !== 'true' && stepUp !== 'false') {
    complain(`@stepUp("${stepUp}") must be "true" or "false"`);
  }
  return { groups, quorum, timeoutSeconds: timeoutSeconds ?? 0, stepUp: stepUp === 'true' };
}

function duplicateIds(policies: readonly LoadedPolicy[]): string[] {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const { id } of policies) {
    if (id !== '' && seen.has(id)) {
      duplicates.add(id);
    }
    seen.add(id);
  }
  return [...duplicates].map((id) => `policy "${id}": @id is used by more than one policy`);
}

/** Cedar reports a type error once per action a policy applies to; reviewers need it once per policy. */
function describeValidationErrors(
  policies: readonly LoadedPolicy[],
  errors: readonly cedar.ValidationError[],
): string[] {
  return policies.flatMap(({ id }) => {
    const [first, ...more] = errors.filter((error) => error.policyId === id);
    if (first === undefined) {
      return [];
    }
    const others = more.length > 0 ? ` (and ${more.length} more)` : '';
    return [`policy "${id}" does not match the schema: ${first.error.message}${others}`];
  });
}

function readSchema(schema: string): Pick<PreparedPolicySet, 'declaredActions' | 'parameterTypes'> {
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
  return { declaredActions: new Set(Object.keys(namespace?.actions ?? {})), parameterTypes };
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

function evaluateSafely(
  prepared: PreparedPolicySet,
  defaults: PolicyDefaults,
  request: PolicyRequest,
): PolicyDecision {
  try {
    return evaluate(prepared, defaults, request);
  } catch (error) {
    return denyDecision([], `Policy evaluation failed, so the request is denied: ${String(error)}`);
  }
}

function evaluate(
  prepared: PreparedPolicySet,
  defaults: PolicyDefaults,
  request: PolicyRequest,
): PolicyDecision {
  const call = buildCall(prepared, request);
  if (typeof call === 'string') {
    return denyDecision([], `The request cannot be evaluated, so it is denied: ${call}.`);
  }
  const answer = cedar.statefulIsAuthorized(call);
  if (answer.type === 'failure') {
    const messages = answer.errors.map((error) => error.message).join('; ');
    return denyDecision([], `The request does not match the policy schema, so it is denied: ${messages}`);
  }
  const { decision, diagnostics } = answer.response;
  if (diagnostics.errors.length > 0) {
    const failures = diagnostics.errors.map(
      (failure) => `policy "${failure.policyId}": ${failure.error.message}`,
    );
    return denyDecision(
      [...new Set(diagnostics.errors.map((failure) => failure.policyId))],
      `A policy failed to evaluate, so the request is denied (a failing policy could have been a forbid): ${failures.join('; ')}`,
    );
  }
  // In policy-set order (files by name, then position), so ids and reasons read the same every time.
  const determiningIds = new Set(diagnostics.reason);
  const determining = [...prepared.policies.values()].filter((policy) => determiningIds.has(policy.id));
  if (decision === 'deny') {
    return determining.length > 0
      ? denyDecision(ids(determining), `Denied by ${name(determining)}${reasons(determining)}.`)
      : byDefault(defaults, request);
  }
  const approvals = determining.filter((policy) => policy.requirement !== undefined);
  return approvals.length > 0 ? requireApproval(approvals) : allow(determining);
}

function buildCall(
  prepared: PreparedPolicySet,
  request: PolicyRequest,
): cedar.StatefulAuthorizationCall | string {
  const action = ACTION_NAME.exec(request.action);
  if (action === null) {
    return `"${request.action}" is not an action of the form <service>:<Operation>`;
  }
  const arn = ARN.exec(request.resource.arn);
  if (arn === null) {
    return `"${request.resource.arn}" is not an ARN`;
  }
  const parameters = normalizeParameters(request.parameters);
  if (typeof parameters === 'string') {
    return parameters;
  }
  const typedParameters = readTypedParameters(parameters, prepared.parameterTypes);
  if (typeof typedParameters === 'string') {
    return typedParameters;
  }
  const classification =
    request.classification === undefined ? undefined : PolicyClassification.safeParse(request.classification);
  if (classification?.success === false) {
    return `the data classification of the resource is malformed (${describeIssues(classification.error).join('; ')})`;
  }
  const tags = request.resourceTags ?? {};
  const environment = Object.entries(tags).find(([key]) => key.toLowerCase() === 'environment')?.[1];
  const [, partition, service, region, account] = arn as unknown as [string, string, string, string, string];
  const agentUid = { type: EntityType.agent, id: request.agent.id };
  const resourceUid = { type: EntityType.resource, id: request.resource.arn };
  const parameterMapUid = { type: EntityType.parameterMap, id: PARAMETER_MAP_ID };
  return {
    principal: agentUid,
    action: {
      type: EntityType.action,
      id: prepared.declaredActions.has(request.action) ? request.action : FALLBACK_ACTION,
    },
    resource: resourceUid,
    context: {
      service: action[1]!,
      operation: action[2]!,
      parameters: typedParameters,
      parameterMap: { __entity: parameterMapUid },
    },
    entities: [
      {
        uid: agentUid,
        attrs: { id: request.agent.id, ...optional('onBehalfOf', request.agent.onBehalfOf) },
        parents: [],
      },
      {
        uid: resourceUid,
        attrs: {
          arn: request.resource.arn,
          partition,
          service,
          region,
          account,
          ...optional('type', request.resource.type),
          ...optional('environment', environment),
          ...optional(
            'classification',
            classification === undefined ? undefined : toCedar(classification.data),
          ),
        },
        parents: [],
        tags: { ...tags },
      },
      {
        uid: parameterMapUid,
        attrs: {},
        parents: [],
        tags: Object.fromEntries(
          [...parameters].map(([key, value]) => [
            key,
            typeof value === 'string' ? value : JSON.stringify(value),
          ]),
        ),
      },
    ],
    preparsedSchemaName: prepared.name,
    preparsedPolicySetId: prepared.name,
    validateRequest: true,
  };
}

/** Only the attributes the schema declares: Cedar refuses an entity with undeclared attributes. */
function toCedar(classification: PolicyClassification): cedar.CedarValueJson {
  const { severity, categories, types } = classification;
  return { categories, types, ...optional('severity', severity) };
}

/** `{ [name]: value }` when value is defined: Cedar has no undefined, an optional attribute is absent. */
function optional(
  name: string,
  value: cedar.CedarValueJson | undefined,
): Record<string, cedar.CedarValueJson> {
  return value === undefined ? {} : { [name]: value };
}

/** Lower-cases the first letter (AWS APIs say `PolicyArn`, SDKs `policyArn`); two spellings of one name are refused. */
function normalizeParameters(parameters: Readonly<Record<string, unknown>>): Map<string, unknown> | string {
  const normalized = new Map<string, unknown>();
  const spelling = new Map<string, string>();
  for (const [name, value] of Object.entries(parameters)) {
    const key = name.charAt(0).toLowerCase() + name.slice(1);
    const earlier = spelling.get(key);
    if (earlier !== undefined) {
      return `parameters "${earlier}" and "${name}" name the same parameter`;
    }
    spelling.set(key, name);
    normalized.set(key, value);
  }
  return normalized;
}

function readTypedParameters(
  parameters: ReadonlyMap<string, unknown>,
  types: ReadonlyMap<string, ParameterType>,
): Record<string, cedar.CedarValueJson> | string {
  const typed: Record<string, cedar.CedarValueJson> = {};
  for (const [name, type] of types) {
    if (!parameters.has(name)) {
      continue;
    }
    const value = parameters.get(name);
    if (!PARAMETER_CHECKS[type](value)) {
      return `parameter "${name}" must be a ${type} for the policies to read it`;
    }
    typed[name] = value as cedar.CedarValueJson;
  }
  return typed;
}

function ids(policies: readonly LoadedPolicy[]): string[] {
  return policies.map((policy) => policy.id);
}

function name(policies: readonly LoadedPolicy[]): string {
  const quoted = policies.map((policy) => `"${policy.id}"`).join(', ');
  return policies.length === 1 ? `policy ${quoted}` : `policies ${quoted}`;
}

function reasons(policies: readonly LoadedPolicy[]): string {
  const given = policies.flatMap((policy) => (policy.reason === undefined ? [] : [policy.reason]));
  return given.length > 0 ? ` (${given.join('; ')})` : '';
}

function allow(policies: readonly LoadedPolicy[]): PolicyDecision {
  return {
    decision: PolicyOutcome.allow,
    groups: [],
    quorum: 0,
    timeoutSeconds: 0,
    stepUp: false,
    policyIds: ids(policies),
    reason: `Allowed by ${name(policies)}${reasons(policies)}.`,
  };
}

/** Several approval policies combine to the strictest of each: more approvers, less time, step-up if any asks. */
function requireApproval(policies: readonly LoadedPolicy[]): PolicyDecision {
  const requirements = policies.map((policy) => policy.requirement!);
  const requirement: ApprovalRequirement = {
    groups: [...new Set(requirements.flatMap((each) => each.groups))],
    quorum: Math.max(...requirements.map((each) => each.quorum)),
    timeoutSeconds: Math.min(...requirements.map((each) => each.timeoutSeconds)),
    stepUp: requirements.some((each) => each.stepUp),
  };
  return approvalDecision(
    requirement,
    ids(policies),
    `Approval required by ${name(policies)}${reasons(policies)}. ${describeRequirement(requirement)}`,
  );
}

function byDefault(defaults: PolicyDefaults, request: PolicyRequest): PolicyDecision {
  const requirement = {
    groups: [defaults.approverGroup],
    quorum: 1,
    timeoutSeconds: defaults.timeoutSeconds,
    stepUp: false,
  };
  return approvalDecision(
    requirement,
    [],
    `No policy applies to ${request.action} on ${request.resource.arn}, so it needs the default approval. ${describeRequirement(requirement)}`,
  );
}

function approvalDecision(
  requirement: ApprovalRequirement,
  policyIds: string[],
  reason: string,
): PolicyDecision {
  return {
    decision: PolicyOutcome.requireApproval,
    groups: [...requirement.groups],
    quorum: requirement.quorum,
    timeoutSeconds: requirement.timeoutSeconds,
    stepUp: requirement.stepUp,
    policyIds,
    reason,
  };
}

function describeRequirement(requirement: ApprovalRequirement): string {
  const approvals = requirement.quorum === 1 ? '1 approval' : `${requirement.quorum} approvals`;
  const stepUp = requirement.stepUp ? ', confirmed with a step-up check' : '';
  return `Needs ${approvals} from ${requirement.groups.join(' or ')} within ${describeDuration(requirement.timeoutSeconds)}${stepUp}.`;
}
