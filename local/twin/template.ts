/**
 * The twin runs what `cdk synth` produced: this module makes sure `cdk.out` is current (synthesizing
 * when a source file is newer), then reads the stack template into a model of the parts the twin
 * runs — buses, rules, the state machine, the functions, the table and the HTTP API routes — with
 * every intrinsic resolved to local names and ARNs.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigurationError } from '../../lambdas/domain/errors.ts';
import { ENV } from '../../lambdas/handlers/environment-names.ts';
import {
  type CfnResource,
  type CfnResources,
  IntrinsicResolver,
  type LocalValueOverrides,
  physicalName,
} from './intrinsics.ts';

/** The metadata key the CDK constructs put on each function: its handler's repo-relative TS path. */
export const ENTRY_METADATA_KEY = 'countersign:entry';
export const DEFAULT_BUS_NAME = 'default';
const SOURCE_PATHS = ['bin', 'lib', 'lambdas', 'policies', 'cdk.json'] as const;

export interface TwinFunction {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  /** Absolute path of the handler module. */
  readonly entry: string;
  /** The exported function name (`handler` unless the template's Handler says otherwise). */
  readonly exportName: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
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
  readonly targets: readonly TwinRuleTarget[];
}

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
}

export type TwinRouteAuthorization =
  | { readonly type: 'NONE' }
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
  readonly httpRoutes: readonly TwinHttpApiRoute[];
}

export interface LoadStackOptions {
  readonly repoRoot: string;
  /** Values the template cannot know, e.g. the twin's URL for the HTTP API endpoint. */
  readonly overrides?: LocalValueOverrides;
}

type Log = (message: string) => void;

async function newestMtime(path: string): Promise<number> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of await readdir(path)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    newest = Math.max(newest, await newestMtime(join(path, entry)));
  }
  return newest;
}

/** Why cdk.out must be (re)synthesized, or undefined when it is current. */
export async function staleReason(repoRoot: string): Promise<string | undefined> {
  const manifest = await newestMtime(join(repoRoot, 'cdk.out', 'manifest.json'));
  if (manifest === 0) return 'cdk.out is missing';
  for (const source of SOURCE_PATHS) {
    if ((await newestMtime(join(repoRoot, source))) > manifest)
      return `${source} changed since the last synth`;
  }
  return undefined;
}

function runSynth(repoRoot: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(join(repoRoot, 'node_modules', '.bin', 'cdk'), ['synth', '--quiet'], {
      cwd: repoRoot,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', (error) => reject(new ConfigurationError('could not run cdk synth', { cause: error })));
    child.on('exit', (code) =>
      code === 0
        ? resolvePromise()
        : reject(new ConfigurationError(`cdk synth failed with exit code ${code}`)),
    );
  });
}

/** Synthesizes the app when cdk.out is missing or older than its sources; says what it does. */
export async function ensureFreshCloudAssembly(repoRoot: string, log: Log): Promise<void> {
  const reason = await staleReason(repoRoot);
  if (reason === undefined) {
    log('cdk.out is up to date');
    return;
  }
  log(`synthesizing the stack (${reason}): cdk synth --quiet`);
  await runSynth(repoRoot);
}

interface ManifestArtifact {
  readonly type?: string;
  readonly properties?: { readonly templateFile?: string };
}

/** The template file of the (single) stack in cdk.out. */
export async function findStackTemplate(repoRoot: string): Promise<string> {
  const outDir = join(repoRoot, 'cdk.out');
  const manifest = JSON.parse(await readFile(join(outDir, 'manifest.json'), 'utf8')) as {
    artifacts?: Record<string, ManifestArtifact>;
  };
  const stacks = Object.values(manifest.artifacts ?? {}).filter(
    (artifact) => artifact.type === 'aws:cloudformation:stack' && artifact.properties?.templateFile,
  );
  if (stacks.length !== 1) {
    throw new ConfigurationError(`expected exactly one stack in cdk.out, found ${stacks.length}`);
  }
  return join(outDir, stacks[0]!.properties!.templateFile!);
}

function ofType(resources: CfnResources, type: string): [string, CfnResource][] {
  return Object.entries(resources).filter(([, resource]) => resource.Type === type);
}

function toFunction(
  logicalId: string,
  resource: CfnResource,
  resolver: IntrinsicResolver,
  repoRoot: string,
): TwinFunction | undefined {
  const entry = resource.Metadata?.[ENTRY_METADATA_KEY];
  // Functions the CDK adds for itself (custom resources, log retention) have no handler of ours.
  if (typeof entry !== 'string') return undefined;
  const properties = resource.Properties ?? {};
  const variables = resolver.resolve(
    (properties.Environment as { Variables?: unknown } | undefined)?.Variables ?? {},
  ) as Record<string, unknown>;
  const environment = Object.fromEntries(
    Object.entries(variables).map(([key, value]) => [key, String(value)]),
  );
  if (environment[ENV.policyDir] !== undefined) {
    // In Lambda the policies are bundled next to the handler; locally they are the repo's own.
    environment[ENV.policyDir] = join(repoRoot, 'policies');
  }
  const handler = typeof properties.Handler === 'string' ? properties.Handler : 'index.handler';
  return {
    logicalId,
    name: physicalName(logicalId, resource),
    arn: resolver.getAtt(logicalId, 'Arn'),
    entry: resolve(repoRoot, entry),
    exportName: handler.slice(handler.lastIndexOf('.') + 1),
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
    enabled: properties.State === undefined || properties.State === 'ENABLED',
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
  return {
    logicalId,
    name: physicalName(logicalId, resource),
    keySchema: list(properties.KeySchema),
    attributeDefinitions: list(properties.AttributeDefinitions),
    globalSecondaryIndexes: list(properties.GlobalSecondaryIndexes),
    localSecondaryIndexes: list(properties.LocalSecondaryIndexes),
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
export async function loadStack(templatePath: string, options: LoadStackOptions): Promise<TwinStack> {
  const template = JSON.parse(await readFile(templatePath, 'utf8')) as { Resources?: CfnResources };
  const resources = template.Resources ?? {};
  const resolver = new IntrinsicResolver(resources, options.overrides);
  const functions = ofType(resources, 'AWS::Lambda::Function')
    .map(([id, resource]) => toFunction(id, resource, resolver, options.repoRoot))
    .filter((fn): fn is TwinFunction => fn !== undefined);
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
    httpRoutes: toHttpRoutes(resources, resolver, functions),
  };
}

/** The function a Task resource or a `lambda:invoke` FunctionName designates (ARN, qualified ARN or name). */
export function findFunction(stack: TwinStack, nameOrArn: string): TwinFunction | undefined {
  const unqualified = nameOrArn.replace(/^(arn:[^:]+:lambda:[^:]*:[^:]*:function:[^:]+):.+$/, '$1');
  return stack.functions.find((fn) => fn.arn === unqualified || fn.name === unqualified);
}
