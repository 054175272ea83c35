/**
 * The twin runs what `cdk synth` produced: this module makes sure `cdk.out` is current (synthesizing
 * when a source file is newer), then reads the stack template into a model of the parts the twin
 * runs — buses, rules, the state machine, the functions, the table and its stream, the stream's
 * event source mappings and the HTTP API routes — with
 * every intrinsic resolved to local names and ARNs.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ConfigurationError } from '../../../lambdas/domain/errors.ts';
import {
  type CfnResource,
  type CfnResources,
  IntrinsicResolver,
  type LocalValueOverrides,
  physicalName,
} from './intrinsics.ts';

/** The CDK's metadata on a resource with an asset: the asset's directory in the cloud assembly. */
export const ASSET_PATH_METADATA_KEY = 'aws:asset:path';
export const DEFAULT_BUS_NAME = 'default';

export interface TwinFunction {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  /**
   * Absolute path of the function's code: its bundled asset in the cloud assembly; undefined when
   * the template does not say where (no `aws:asset:path`), and then the function cannot run here.
   */
  readonly codeDir: string | undefined;
  /** The template's Handler, `<module>.<export>` (e.g. `index.handler`). */
  readonly handler: string;
  /** The template's variables, intrinsics resolved. */
  readonly environment: Readonly<Record<string, string>>;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
}

/** Any resource of the template, for the services that read their own types (secrets, keys, buckets). */
export interface TwinResource {
  readonly logicalId: string;
  readonly type: string;
  readonly name: string;
  readonly arn: string;
  /** The properties with every intrinsic resolved (resolved when asked: a type nobody runs may use any). */
  properties(): Record<string, unknown>;
}

export interface TwinRuleTarget {
  readonly id: string;
  readonly arn: string;
  readonly input?: string;
  readonly inputPath?: string;
}

export interface TwinRule {
  readonly logicalId: string;
  readonly name: string;
  readonly eventBusName: string;
  /** The event pattern; undefined for a scheduled rule. */
  readonly pattern: unknown;
  /** `rate(…)` / `cron(…)` of a scheduled rule (run on a timer by the twin). */
  readonly scheduleExpression?: string;
  readonly enabled: boolean;
  /**
   * State `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`: also matches CloudTrail's read-only
   * management events (GetSecretValue …), which an `ENABLED` rule never receives.
   */
  readonly allManagementEvents?: boolean;
  readonly targets: readonly TwinRuleTarget[];
}

const ALL_MANAGEMENT_EVENTS_STATE = 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';

export interface TwinStateMachine {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly definition: Record<string, unknown>;
}

export interface TwinTable {
  readonly logicalId: string;
  readonly name: string;
  readonly keySchema: unknown[];
  readonly attributeDefinitions: unknown[];
  readonly globalSecondaryIndexes: unknown[];
  readonly localSecondaryIndexes: unknown[];
  /** The table's stream (StreamSpecification), when it has one: what its records carry, and its ARN. */
  readonly stream?: { readonly viewType: string; readonly arn: string };
}

/** An `AWS::Lambda::EventSourceMapping` of a stream: how Lambda polls it for a function. */
export interface TwinEventSourceMapping {
  readonly logicalId: string;
  readonly functionName: string;
  readonly eventSourceArn: string;
  readonly batchSize: number;
  readonly maximumBatchingWindowSeconds: number;
  readonly startingPosition: string;
  readonly enabled: boolean;
  /** The patterns of FilterCriteria (a record passes when any matches; none: every record). */
  readonly filterPatterns: readonly unknown[];
  readonly reportBatchItemFailures: boolean;
  readonly bisectBatchOnFunctionError: boolean;
  /** -1: until the record expires. */
  readonly maximumRetryAttempts: number;
  /** -1: until the record expires. */
  readonly maximumRecordAgeSeconds: number;
  readonly onFailureDestination?: string;
}

export type TwinRouteAuthorization =
  | { readonly type: 'NONE' }
  | { readonly type: 'AWS_IAM' }
  | { readonly type: 'JWT'; readonly issuer: string; readonly audience: readonly string[] };

export interface TwinHttpApiRoute {
  readonly routeKey: string;
  /** Upper-case method, or `ANY`. */
  readonly method: string;
  /** Path template, e.g. `/api/requests/{id}` or `/slack/{proxy+}`; `$default` matches anything. */
  readonly path: string;
  readonly functionLogicalId: string;
  readonly authorization: TwinRouteAuthorization;
}

export interface TwinStack {
  readonly templatePath: string;
  readonly eventBuses: readonly string[];
  readonly rules: readonly TwinRule[];
  readonly stateMachines: readonly TwinStateMachine[];
  readonly functions: readonly TwinFunction[];
  readonly tables: readonly TwinTable[];
  readonly eventSourceMappings: readonly TwinEventSourceMapping[];
  readonly httpRoutes: readonly TwinHttpApiRoute[];
  readonly resources: readonly TwinResource[];
}

export interface LoadStackOptions {
  /** Values the template cannot know, e.g. the twin's URL for the HTTP API endpoint. */
  readonly overrides?: LocalValueOverrides;
}

function ofType(resources: CfnResources, type: string): [string, CfnResource][] {
  return Object.entries(resources).filter(([, resource]) => resource.Type === type);
}

function toFunction(
  logicalId: string,
  resource: CfnResource,
  resolver: IntrinsicResolver,
  assemblyDir: string,
): TwinFunction {
  const assetPath = resource.Metadata?.[ASSET_PATH_METADATA_KEY];
  const properties = resource.Properties ?? {};
  const variables = resolver.resolve(
    (properties.Environment as { Variables?: unknown } | undefined)?.Variables ?? {},
  ) as Record<string, unknown>;
  const environment = Object.fromEntries(
    Object.entries(variables).map(([key, value]) => [key, String(value)]),
  );
  return {
    logicalId,
    name: physicalName(logicalId, resource),
    arn: resolver.getAtt(logicalId, 'Arn'),
    codeDir: typeof assetPath === 'string' ? resolve(assemblyDir, assetPath) : undefined,
    handler: typeof properties.Handler === 'string' ? properties.Handler : 'index.handler',
    environment,
    timeoutSeconds: typeof properties.Timeout === 'number' ? properties.Timeout : 3,
    memorySize: typeof properties.MemorySize === 'number' ? properties.MemorySize : 128,
  };
}

function toRule(logicalId: string, resource: CfnResource, resolver: IntrinsicResolver): TwinRule {
  const properties = resolver.resolve(resource.Properties ?? {}) as Record<string, unknown>;
  const targets = ((properties.Targets as Record<string, unknown>[] | undefined) ?? []).map((target) => {
    if (target.InputTransformer !== undefined) {
      throw new ConfigurationError(`rule ${logicalId}: the twin does not support InputTransformer targets`);
    }
    return {
      id: String(target.Id),
      arn: String(target.Arn),
      ...(typeof target.Input === 'string' ? { input: target.Input } : {}),
      ...(typeof target.InputPath === 'string' ? { inputPath: target.InputPath } : {}),
    };
  });
  return {
    logicalId,
    name: physicalName(logicalId, resource),
    eventBusName: typeof properties.EventBusName === 'string' ? properties.EventBusName : DEFAULT_BUS_NAME,
    pattern: properties.EventPattern,
    ...(typeof properties.ScheduleExpression === 'string'
      ? { scheduleExpression: properties.ScheduleExpression }
      : {}),
    enabled:
      properties.State === undefined ||
      properties.State === 'ENABLED' ||
      properties.State === ALL_MANAGEMENT_EVENTS_STATE,
    allManagementEvents: properties.State === ALL_MANAGEMENT_EVENTS_STATE,
    targets,
  };
}

function toStateMachine(
  logicalId: string,
  resource: CfnResource,
  resolver: IntrinsicResolver,
): TwinStateMachine {
  const properties = resource.Properties ?? {};
  const substitutions = resolver.resolve(properties.DefinitionSubstitutions ?? {}) as Record<string, unknown>;
  let text: string;
  if (properties.DefinitionString !== undefined) {
    text = String(resolver.resolve(properties.DefinitionString));
  } else if (properties.Definition !== undefined) {
    text = JSON.stringify(resolver.resolve(properties.Definition));
  } else {
    throw new ConfigurationError(`state machine ${logicalId} has no definition`);
  }
  text = text.replace(/\$\{([^}]+)\}/g, (match, name: string) =>
    name in substitutions ? String(substitutions[name]) : match,
  );
  return {
    logicalId,
    name: physicalName(logicalId, resource),
    arn: resolver.getAtt(logicalId, 'Arn'),
    definition: JSON.parse(text) as Record<string, unknown>,
  };
}

function toTable(logicalId: string, resource: CfnResource, resolver: IntrinsicResolver): TwinTable {
  const properties = resolver.resolve(resource.Properties ?? {}) as Record<string, unknown>;
  const list = (value: unknown) => (Array.isArray(value) ? value : []);
  const viewType = (properties.StreamSpecification as { StreamViewType?: unknown } | undefined)
    ?.StreamViewType;
  return {
    logicalId,
    name: physicalName(logicalId, resource),
    keySchema: list(properties.KeySchema),
    attributeDefinitions: list(properties.AttributeDefinitions),
    globalSecondaryIndexes: list(properties.GlobalSecondaryIndexes),
    localSecondaryIndexes: list(properties.LocalSecondaryIndexes),
    ...(typeof viewType === 'string'
      ? { stream: { viewType, arn: resolver.getAtt(logicalId, 'StreamArn') } }
      : {}),
  };
}

function toEventSourceMapping(
  logicalId: string,
  resource: CfnResource,
  resolver: IntrinsicResolver,
): TwinEventSourceMapping {
  const properties = resolver.resolve(resource.Properties ?? {}) as Record<string, unknown>;
  const number = (value: unknown, fallback: number) => (typeof value === 'number' ? value : fallback);
  const filters =
    (properties.FilterCriteria as { Filters?: { Pattern?: unknown }[] } | undefined)?.Filters ?? [];
  const destination = (properties.DestinationConfig as { OnFailure?: { Destination?: unknown } } | undefined)
    ?.OnFailure?.Destination;
  const responseTypes = Array.isArray(properties.FunctionResponseTypes)
    ? properties.FunctionResponseTypes
    : [];
  return {
    logicalId,
    functionName: String(properties.FunctionName),
    eventSourceArn: String(properties.EventSourceArn),
    // Lambda's defaults for a stream source.
    batchSize: number(properties.BatchSize, 100),
    maximumBatchingWindowSeconds: number(properties.MaximumBatchingWindowInSeconds, 0),
    startingPosition:
      typeof properties.StartingPosition === 'string' ? properties.StartingPosition : 'LATEST',
    enabled: properties.Enabled !== false,
    filterPatterns: filters.map((filter) =>
      typeof filter.Pattern === 'string' ? JSON.parse(filter.Pattern) : filter.Pattern,
    ),
    reportBatchItemFailures: responseTypes.includes('ReportBatchItemFailures'),
    bisectBatchOnFunctionError: properties.BisectBatchOnFunctionError === true,
    maximumRetryAttempts: number(properties.MaximumRetryAttempts, -1),
    maximumRecordAgeSeconds: number(properties.MaximumRecordAgeInSeconds, -1),
    ...(typeof destination === 'string' ? { onFailureDestination: destination } : {}),
  };
}

/** The logical id of the function behind an integration URI (a function ARN, possibly in an invoke URI). */
function functionOfUri(uri: string, functions: readonly TwinFunction[]): string | undefined {
  return functions.find(
    (fn) => uri === fn.arn || uri.includes(`${fn.arn}/invocations`) || uri.endsWith(`:${fn.name}`),
  )?.logicalId;
}

function toHttpRoutes(
  resources: CfnResources,
  resolver: IntrinsicResolver,
  functions: readonly TwinFunction[],
): TwinHttpApiRoute[] {
  return ofType(resources, 'AWS::ApiGatewayV2::Route').map(([logicalId, resource]) => {
    const properties = resource.Properties ?? {};
    const routeKey = String(properties.RouteKey);
    const target = String(resolver.resolve(properties.Target ?? ''));
    const integrationId = target.replace(/^integrations\//, '');
    const integration = resources[integrationId];
    const uri = String(resolver.resolve(integration?.Properties?.IntegrationUri ?? ''));
    const functionLogicalId = functionOfUri(uri, functions);
    if (functionLogicalId === undefined) {
      throw new ConfigurationError(`route ${logicalId} (${routeKey}) does not integrate a function of ours`);
    }
    const [method, path] = routeKey === '$default' ? ['ANY', '$default'] : routeKey.split(' ');
    return {
      routeKey,
      method: String(method),
      path: String(path),
      functionLogicalId,
      authorization: routeAuthorization(properties, resources, resolver),
    };
  });
}

function routeAuthorization(
  route: Record<string, unknown>,
  resources: CfnResources,
  resolver: IntrinsicResolver,
): TwinRouteAuthorization {
  if (route.AuthorizationType === 'AWS_IAM') return { type: 'AWS_IAM' };
  if (route.AuthorizationType !== 'JWT') return { type: 'NONE' };
  const authorizerId = String(resolver.resolve(route.AuthorizerId));
  const authorizer = resources[authorizerId];
  const config = resolver.resolve(authorizer?.Properties?.JwtConfiguration ?? {}) as {
    Issuer?: string;
    Audience?: string[];
  };
  return { type: 'JWT', issuer: String(config.Issuer ?? ''), audience: config.Audience ?? [] };
}

/** Reads a CloudFormation template into the twin's model. */
export async function loadStack(templatePath: string, options: LoadStackOptions = {}): Promise<TwinStack> {
  const template = JSON.parse(await readFile(templatePath, 'utf8')) as { Resources?: CfnResources };
  const resources = template.Resources ?? {};
  const resolver = new IntrinsicResolver(resources, options.overrides);
  const functions = ofType(resources, 'AWS::Lambda::Function').map(([id, resource]) =>
    toFunction(id, resource, resolver, dirname(templatePath)),
  );
  return {
    templatePath,
    eventBuses: [
      DEFAULT_BUS_NAME,
      ...ofType(resources, 'AWS::Events::EventBus').map(([id, resource]) => physicalName(id, resource)),
    ],
    rules: ofType(resources, 'AWS::Events::Rule').map(([id, resource]) => toRule(id, resource, resolver)),
    stateMachines: ofType(resources, 'AWS::StepFunctions::StateMachine').map(([id, resource]) =>
      toStateMachine(id, resource, resolver),
    ),
    functions,
    tables: ofType(resources, 'AWS::DynamoDB::Table').map(([id, resource]) =>
      toTable(id, resource, resolver),
    ),
    eventSourceMappings: ofType(resources, 'AWS::Lambda::EventSourceMapping').map(([id, resource]) =>
      toEventSourceMapping(id, resource, resolver),
    ),
    httpRoutes: toHttpRoutes(resources, resolver, functions),
    resources: Object.entries(resources).map(([logicalId, resource]) => ({
      logicalId,
      type: resource.Type,
      name: physicalName(logicalId, resource),
      arn: resolver.getAtt(logicalId, 'Arn'),
      properties: () => resolver.resolve(resource.Properties ?? {}) as Record<string, unknown>,
    })),
  };
}

/** The function a Task resource or a `lambda:invoke` FunctionName designates (ARN, qualified ARN or name). */
export function findFunction(stack: TwinStack, nameOrArn: string): TwinFunction | undefined {
  const unqualified = nameOrArn.replace(/^(arn:[^:]+:lambda:[^:]*:[^:]*:function:[^:]+):.+$/, '$1');
  return stack.functions.find((fn) => fn.arn === unqualified || fn.name === unqualified);
}
