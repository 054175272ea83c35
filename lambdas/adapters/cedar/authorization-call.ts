/**
 * A PolicyRequest as a Cedar authorization call, following the model in policies/README.md: the
 * agent is the principal, the action is the schema's action of that name (or `aws:Operation`), the
 * resource carries its ARN's parts, environment tag and classification, and the parameters reach
 * the policies twice: as typed context attributes where the schema's `Parameters` declares them,
 * and all of them as tags of the `ParameterMap` entity. A request that cannot be expressed comes
 * back as the reason it cannot (and is then denied).
 */
import type * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { PolicyClassification } from '../../domain/policy-facts.ts';
import { describeIssues } from '../../domain/schemas.ts';
import type { PolicyRequest } from '../../ports/index.ts';
import {
  FALLBACK_ACTION,
  PARAMETER_CHECKS,
  type ParameterType,
  type PreparedPolicySet,
} from './policy-set.ts';

/** Entity types the engine builds; the schema must declare them (see policies/countersign.cedarschema). */
export const EntityType = {
  agent: 'Agent',
  resource: 'Resource',
  parameterMap: 'ParameterMap',
  action: 'Action',
} as const;
const PARAMETER_MAP_ID = 'parameters';
const ACTION_NAME = /^([a-z0-9-]+):([A-Za-z0-9]+)$/;
const ARN = /^arn:([^:]+):([^:]+):([^:]*):([^:]*):(.+)$/;

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

export function authorizationCall(
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
