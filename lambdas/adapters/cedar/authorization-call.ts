/**
 * A PolicyRequest as Cedar sees it, following the model in policies/README.md: the agent is the
 * principal, the action is the schema's action of that name (or `aws:Operation`), the resource
 * carries its ARN's parts, environment tag and classification, and the parameters reach the
 * policies twice: as typed context attributes where the schema's `Parameters` declares them, and
 * all of them as tags of the `ParameterMap` entity. A request that cannot be expressed comes back
 * as the reason it cannot (and is then denied).
 *
 * `requestParts` builds the parts once; `validatedCall` assembles them into the call that names
 * the schema, so Cedar checks everything against it (the reference: lean-call.ts sends less of
 * the same parts where a check has shown the schema accepts them).
 */
import type * as cedar from '@cedar-policy/cedar-wasm/web';
import { RequestClassification } from '../../domain/classification.ts';
import { describeIssues } from '../../domain/schemas.ts';
import type { PolicyRequest } from '../../ports/index.ts';

/** Entity types the engine builds; the schema must declare them (see policies/countersign.cedarschema). */
export const EntityType = {
  agent: 'Agent',
  resource: 'Resource',
  parameterMap: 'ParameterMap',
  action: 'Action',
} as const;
/** The Cedar action of every operation the schema does not declare by name. */
export const FALLBACK_ACTION = 'aws:Operation';

export const PARAMETER_CHECKS = {
  String: (value: unknown) => typeof value === 'string',
  Long: (value: unknown) => Number.isSafeInteger(value),
  Bool: (value: unknown) => typeof value === 'boolean',
} as const;
export type ParameterType = keyof typeof PARAMETER_CHECKS;

/** What building a request needs to know of the prepared policy set. */
export interface RequestModel {
  /** The name of the preparsed schema and policy set in cedar-wasm's cache. */
  readonly name: string;
  readonly declaredActions: ReadonlySet<string>;
  /** Attribute name → Cedar primitive type of the schema's `Parameters` record. */
  readonly parameterTypes: ReadonlyMap<string, ParameterType>;
}

/** A request as Cedar's principal, action, resource, context and the entities they name. */
export interface RequestParts {
  readonly principal: cedar.EntityJson;
  /** The schema's action of the request (its id is the declared operation or FALLBACK_ACTION). */
  readonly action: cedar.TypeAndId;
  readonly resource: cedar.EntityJson;
  /** Every parameter as a string tag; the context refers to it. */
  readonly parameterMap: cedar.EntityJson;
  readonly context: Record<string, cedar.CedarValueJson>;
}

const PARAMETER_MAP_ID = 'parameters';
const ACTION_NAME = /^([a-z0-9-]+):([A-Za-z0-9]+)$/;
const ARN = /^arn:([^:]+):([^:]+):([^:]*):([^:]*):(.+)$/;

/**
 * Only the attributes the schema declares (Cedar refuses an entity with undeclared attributes);
 * a null severity (nothing sensitive, or not classified) is an absent one.
 */
function toCedar(classification: RequestClassification): cedar.CedarValueJson {
  const { status, severity, categories, types } = classification;
  return { status, categories, types, ...optional('severity', severity ?? undefined) };
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

function parameterTags(parameters: ReadonlyMap<string, unknown>): Record<string, cedar.CedarValueJson> {
  const tags: Record<string, cedar.CedarValueJson> = {};
  for (const [key, value] of parameters) {
    tags[key] = typeof value === 'string' ? value : (JSON.stringify(value) as string);
  }
  return tags;
}

/** Whether a request's action can name the schema's action `name` (groups cannot). */
export function isOperationName(name: string): boolean {
  return ACTION_NAME.test(name);
}

export function requestParts(model: RequestModel, request: PolicyRequest): RequestParts | string {
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
  const typedParameters = readTypedParameters(parameters, model.parameterTypes);
  if (typeof typedParameters === 'string') {
    return typedParameters;
  }
  const classification =
    request.classification === undefined
      ? undefined
      : RequestClassification.safeParse(request.classification);
  if (classification?.success === false) {
    return `the data classification of the resource is malformed (${describeIssues(classification.error).join('; ')})`;
  }
  const tags = request.resourceTags ?? {};
  const environment = Object.entries(tags).find(([key]) => key.toLowerCase() === 'environment')?.[1];
  const [, partition, service, region, account] = arn as unknown as [string, string, string, string, string];
  const parameterMapUid = { type: EntityType.parameterMap, id: PARAMETER_MAP_ID };
  return {
    principal: {
      uid: { type: EntityType.agent, id: request.agent.id },
      attrs: { id: request.agent.id, ...optional('onBehalfOf', request.agent.onBehalfOf) },
      parents: [],
    },
    action: {
      type: EntityType.action,
      id: model.declaredActions.has(request.action) ? request.action : FALLBACK_ACTION,
    },
    resource: {
      uid: { type: EntityType.resource, id: request.resource.arn },
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
    parameterMap: { uid: parameterMapUid, attrs: {}, parents: [], tags: parameterTags(parameters) },
    context: {
      service: action[1]!,
      operation: action[2]!,
      parameters: typedParameters,
      parameterMap: { __entity: parameterMapUid },
      // Only when asked: a schema without `execute` then still evaluates every other request.
      ...(request.execute === true ? { execute: true } : {}),
    },
  };
}

/** The whole request, checked by Cedar against the preparsed schema and evaluated by every policy. */
export function validatedCall(model: RequestModel, parts: RequestParts): cedar.StatefulAuthorizationCall {
  return {
    principal: parts.principal.uid,
    action: parts.action,
    resource: parts.resource.uid,
    context: parts.context,
    entities: [parts.principal, parts.resource, parts.parameterMap],
    preparsedSchemaName: model.name,
    preparsedPolicySetId: model.name,
    validateRequest: true,
  };
}
