/**
 * The local twin: one process, one port, running the synthesized stack. This module only wires
 * the parts together — data dir and lock, template, DynamoDB, the handlers, the event bus, Step
 * Functions, the AWS front, the sinks and the HTTP routes — and owns the node:http server.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENV } from '../../lambdas/handlers/environment-names.ts';
import {
  fromApiGatewayResult,
  type JwtAuthorizerContext,
  matchRoute,
  type RoutePattern,
  toApiGatewayEvent,
} from '../aws/apigateway/http-api.ts';
import { startLocalDynamo } from '../aws/dynamodb/dynalite-server.ts';
import { LocalEventBus, type TargetDelivery } from '../aws/events/event-bus.ts';
import { LocalScheduler } from '../aws/events/schedule.ts';
import {
  type AwsFrontServices,
  CORE_TARGET_PREFIXES,
  type ExtensionAwsService,
  handleAwsRequest,
  isAwsProtocolRequest,
} from '../aws/front/aws-front.ts';
import {
  type AwsCredentials,
  createKeyRing,
  loadOrCreateOperatorCredentials,
  OPERATOR_CREDENTIALS_FILE,
  readAgentKeys,
} from '../aws/front/credentials.ts';
import { LocalLambdaRuntime } from '../aws/lambda/runtime.ts';
import { ExecutionStore } from '../aws/states/execution-store.ts';
import { LocalStepFunctions } from '../aws/states/step-functions.ts';
import { OUTBOX_FILE, Outbox } from '../product/chat/outbox.ts';
import {
  jsonResponse,
  RequestTooLargeError,
  readRequest,
  type TwinRequest,
  type TwinResponse,
  writeResponse,
} from './http.ts';
import { LOCAL_REGION } from './intrinsics.ts';
import { acquireDataDirLock, LOCK_FILE } from './lock.ts';
import {
  ensureFreshCloudAssembly,
  findStackTemplate,
  loadStack,
  type TwinFunction,
  type TwinHttpApiRoute,
  type TwinStack,
} from './template.ts';

export const DEFAULT_PORT = 4710;
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A route served by code in the twin rather than by a stack function (e.g. `/local/token`). */
export interface TwinRoute extends RoutePattern {
  handle(request: TwinRequest, pathParameters: Record<string, string>): Promise<TwinResponse>;
}

/** Verifies a bearer token for a JWT-authorized route, as the HTTP API authorizer would. */
export type JwtAuthorizer = (
  token: string,
  route: TwinHttpApiRoute,
) => Promise<JwtAuthorizerContext | undefined> | JwtAuthorizerContext | undefined;

/** What extensions (the REST API, the dev issuer, the console) get to build their routes. */
export interface TwinContext {
  readonly url: string;
  readonly dataDir: string;
  readonly repoRoot: string;
  readonly stack: TwinStack;
  readonly operatorCredentials: AwsCredentials;
  /** Invokes a stack function with any event (e.g. an API Gateway v2 event), as Lambda would. */
  invokeFunction(nameOrArn: string, event: unknown): Promise<unknown>;
  /** Serves a request with a template HTTP API route's function (API Gateway v2 event, version 2.0). */
  invokeHttpRoute(request: TwinRequest, authorizer?: JwtAuthorizerContext): Promise<TwinResponse>;
}

export interface TwinExtension {
  /** Routes tried before the template's HTTP API routes. */
  readonly routes?: readonly TwinRoute[];
  /** Replaces the JWT authorizer of the template's JWT routes (without one they answer 401). */
  readonly jwtAuthorizer?: JwtAuthorizer;
  /** Extra environment for every function, over the template's values (e.g. JWT_ISSUER). */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * AWS JSON-protocol services the core does not serve, by `X-Amz-Target` prefix (e.g.
   * `secretsmanager`); the AWS front checks the SigV4 signature before handing a request over.
   */
  readonly awsServices?: Readonly<Record<string, ExtensionAwsService>>;
}

export interface StartTwinOptions {
  /** @default 4710; 0 picks a free port */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  readonly dataDir: string;
  /** Wipes the data dir first. */
  readonly reset?: boolean;
  /** @default the repository this file is in */
  readonly repoRoot?: string;
  /** A template to run instead of cdk.out's (tests); skips synthesis. */
  readonly templatePath?: string;
  /** @default `<repoRoot>/countersign.local.json` */
  readonly directoryPath?: string;
  /** Builds routes and settings that need the running twin (called once, before it serves). */
  readonly extend?: (twin: TwinContext) => TwinExtension | Promise<TwinExtension>;
  /** @default console.log */
  readonly log?: (line: string) => void;
}

export interface RunningTwin {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** The endpoint for AWS SDK clients (same as url). */
  readonly endpoint: string;
  readonly region: string;
  readonly dataDir: string;
  readonly operatorCredentials: AwsCredentials;
  readonly stack: TwinStack;
  readonly stepFunctions: LocalStepFunctions;
  /**
   * Runs a scheduled rule of the template now (by name or logical id) instead of waiting for its
   * timer, and waits for its targets: e.g. the reminder run, in a test or a demo.
   */
  runScheduledRule(nameOrLogicalId: string): Promise<void>;
  stop(): Promise<void>;
}

async function resetDataDir(dataDir: string): Promise<void> {
  for (const entry of await readdir(dataDir)) {
    if (entry !== LOCK_FILE) await rm(join(dataDir, entry), { recursive: true, force: true });
  }
}

/** The directory for the handlers, without the agents' secrets (as DIRECTORY_JSON carries it in AWS). */
async function publicDirectoryJson(directoryPath: string): Promise<string> {
  const document = JSON.parse(await readFile(directoryPath, 'utf8')) as {
    users?: unknown[];
    agents?: { id: string; onBehalfOf?: string }[];
  };
  return JSON.stringify({
    users: document.users ?? [],
    agents: (document.agents ?? []).map(({ id, onBehalfOf }) => ({
      id,
      ...(onBehalfOf ? { onBehalfOf } : {}),
    })),
  });
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolvePromise((server.address() as AddressInfo).port);
    });
  });
}

function bearerToken(request: TwinRequest): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  return match?.[1];
}

const UNAUTHORIZED = jsonResponse(401, { message: 'Unauthorized' }, { 'www-authenticate': 'Bearer' });
const NOT_FOUND = jsonResponse(404, { message: 'Not Found' });

export async function startTwin(options: StartTwinOptions): Promise<RunningTwin> {
  const log = options.log ?? ((line: string) => console.log(line));
  const host = options.host ?? '127.0.0.1';
  const repoRoot = options.repoRoot ?? REPO_ROOT;
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });
  const lock = await acquireDataDirLock(dataDir, log);
  const cleanups: (() => Promise<void>)[] = [() => lock.release()];
  const unwind = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    if (options.reset === true) {
      log(`resetting ${dataDir}`);
      await resetDataDir(dataDir);
    }
    const operator = await loadOrCreateOperatorCredentials(join(dataDir, OPERATOR_CREDENTIALS_FILE));
    const directoryPath = options.directoryPath ?? join(repoRoot, 'countersign.local.json');
    const keys = createKeyRing(operator.credentials, await readAgentKeys(directoryPath));

    // Listen first: the port (0 = any) is part of the local values the template resolves to.
    let app: ((request: TwinRequest) => Promise<TwinResponse>) | undefined;
    const server = createServer((message, response) => {
      readRequest(message)
        .then((request) =>
          app === undefined ? jsonResponse(503, { message: 'The twin is starting' }) : app(request),
        )
        .then((result) => writeResponse(response, result))
        .catch((error: unknown) => {
          const tooLarge = error instanceof RequestTooLargeError;
          if (!tooLarge) log(`request failed: ${(error as Error).stack ?? String(error)}`);
          writeResponse(
            response,
            jsonResponse(tooLarge ? 413 : 500, {
              message: tooLarge ? 'Request Too Large' : 'Internal Server Error',
            }),
          );
        });
    });
    const port = await listen(server, options.port ?? DEFAULT_PORT, host);
    cleanups.push(
      () =>
        new Promise<void>((resolveClose) => {
          server.closeAllConnections();
          server.close(() => resolveClose());
        }),
    );
    const url = `http://${host}:${port}`;

    let templatePath = options.templatePath;
    if (templatePath === undefined) {
      await ensureFreshCloudAssembly(repoRoot, log);
      templatePath = await findStackTemplate(repoRoot);
    }
    const stack = await loadStack(templatePath, {
      repoRoot,
      overrides: {
        getAtt: (_id, resource, attribute) =>
          resource.Type === 'AWS::ApiGatewayV2::Api' && attribute === 'ApiEndpoint' ? url : undefined,
      },
    });

    const dynamo = await startLocalDynamo({ path: join(dataDir, 'dynamodb'), tables: stack.tables, log });
    cleanups.push(() => dynamo.stop());

    // In-process handlers find the local services the way deployed ones find AWS: through the SDK's
    // standard environment variables.
    Object.assign(process.env, {
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: operator.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: operator.credentials.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SFN: url,
      AWS_ENDPOINT_URL_EVENTBRIDGE: url,
    });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;

    const directoryJson = await publicDirectoryJson(directoryPath);
    let extension: TwinExtension = {};
    // The twin's directory is countersign.local.json: a template synthesized for Identity Center
    // still resolves people locally, never against a real identity store.
    const functionEnvironment = (fn: TwinFunction): Record<string, string> => {
      const { [ENV.identityStoreId]: _identityStore, ...environment } = fn.environment;
      return {
        ...environment,
        ...(fn.environment[ENV.directoryJson] !== undefined || _identityStore !== undefined
          ? { [ENV.directoryJson]: directoryJson }
          : {}),
        ...(fn.environment[ENV.consoleUrl] !== undefined ? { [ENV.consoleUrl]: url } : {}),
        ...extension.environment,
      };
    };
    const lambdas = new LocalLambdaRuntime(stack, functionEnvironment);
    cleanups.push(() => lambdas.drain());

    let stepFunctions: LocalStepFunctions | undefined;
    const deliver: TargetDelivery = async (target, input) => {
      if (stack.stateMachines.some((machine) => machine.arn === target.arn)) {
        await stepFunctions!.startExecution({ stateMachineArn: target.arn, input: JSON.stringify(input) });
      } else if (stack.functions.some((fn) => fn.arn === target.arn)) {
        await lambdas.invoke(target.arn, input);
      } else {
        log(`no local target for ${target.arn}; event dropped`);
      }
    };
    const eventBus = new LocalEventBus({ buses: stack.eventBuses, rules: stack.rules, log, deliver });
    const scheduler = new LocalScheduler({ rules: stack.rules, deliver, log });
    stepFunctions = await LocalStepFunctions.open({
      stateMachines: stack.stateMachines,
      store: new ExecutionStore(join(dataDir, 'executions')),
      log,
      integrations: {
        invokeLambda: (name, payload) => lambdas.invoke(name, payload),
        putEvents: async (entries) => eventBus.putEvents(entries, { kind: 'operator' }),
      },
    });
    const running = stepFunctions;
    cleanups.push(() => running.close());
    cleanups.push(() => eventBus.settled());

    const outbox = new Outbox(join(dataDir, OUTBOX_FILE), JSON.parse(directoryJson).users);

    const invokeHttpRoute = async (request: TwinRequest, authorizer?: JwtAuthorizerContext) => {
      const match = matchRoute(stack.httpRoutes, request.method, request.path);
      if (match === undefined) return NOT_FOUND;
      const fn = stack.functions.find((candidate) => candidate.logicalId === match.route.functionLogicalId)!;
      try {
        return fromApiGatewayResult(
          await lambdas.invoke(fn.arn, toApiGatewayEvent(request, match, authorizer)),
        );
      } catch (error) {
        log(`function ${fn.name} failed on ${match.route.routeKey}: ${(error as Error).message}`);
        return jsonResponse(500, { message: 'Internal Server Error' });
      }
    };
    const context: TwinContext = {
      url,
      dataDir,
      repoRoot,
      stack,
      operatorCredentials: operator.credentials,
      invokeFunction: (name, event) => lambdas.invoke(name, event),
      invokeHttpRoute,
    };
    extension = (await options.extend?.(context)) ?? {};
    const extensionRoutes = extension.routes ?? [];
    const taken = Object.keys(extension.awsServices ?? {}).filter((prefix) =>
      CORE_TARGET_PREFIXES.includes(prefix),
    );
    if (taken.length > 0) throw new Error(`a twin extension may not serve the core's ${taken.join(', ')}`);
    const awsFront: AwsFrontServices = {
      keys,
      eventBus,
      stepFunctions,
      dynamoEndpoint: dynamo.endpoint,
      extensions: extension.awsServices ?? {},
      log,
    };

    const serveTemplateRoute = async (request: TwinRequest): Promise<TwinResponse> => {
      const match = matchRoute(stack.httpRoutes, request.method, request.path);
      if (match === undefined) return NOT_FOUND;
      if (match.route.authorization.type !== 'JWT') return invokeHttpRoute(request);
      const token = bearerToken(request);
      const claims = token === undefined ? undefined : await extension.jwtAuthorizer?.(token, match.route);
      return claims === undefined ? UNAUTHORIZED : invokeHttpRoute(request, claims);
    };

    await lambdas.loadAll();
    const resumed = stepFunctions.resumeRunning();
    if (resumed.length > 0) log(`re-driving ${resumed.length} unfinished execution(s)`);

    app = async (request) => {
      if (isAwsProtocolRequest(request)) return handleAwsRequest(request, awsFront);
      const sink = await outbox.handle(request);
      if (sink !== undefined) return sink;
      const own = matchRoute(extensionRoutes, request.method, request.path);
      if (own !== undefined) return own.route.handle(request, own.pathParameters);
      return serveTemplateRoute(request);
    };

    // Scheduled rules run once the twin serves (their targets may call back into it).
    scheduler.start();
    cleanups.push(() => scheduler.stop());
    if (scheduler.rules.length > 0) {
      log(
        `scheduled rules: ${scheduler.rules.map((rule) => `${rule.name} ${rule.scheduleExpression}`).join(', ')}`,
      );
    }

    if (operator.created) log(`generated the operator key for this data dir (${OPERATOR_CREDENTIALS_FILE})`);
    log(
      `operator access key: ${operator.credentials.accessKeyId} (secret in ${join(dataDir, OPERATOR_CREDENTIALS_FILE)})`,
    );
    log(`twin listening on ${url} (AWS endpoint ${url}, region ${LOCAL_REGION}, data dir ${dataDir})`);

    let stopping: Promise<void> | undefined;
    return {
      url,
      endpoint: url,
      region: LOCAL_REGION,
      dataDir,
      operatorCredentials: operator.credentials,
      stack,
      stepFunctions,
      runScheduledRule: (nameOrLogicalId) => scheduler.runNow(nameOrLogicalId),
      stop: () => {
        stopping ??= unwind();
        return stopping;
      },
    };
  } catch (error) {
    await unwind();
    throw error;
  }
}

/** Stops the twin cleanly on Ctrl-C or SIGTERM, then exits. */
export function stopOnSignals(twin: RunningTwin, log: (line: string) => void = console.log): void {
  const shutdown = (signal: string) => {
    log(`${signal}: stopping the twin`);
    twin.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log(`shutdown failed: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}
