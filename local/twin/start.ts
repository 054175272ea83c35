/**
 * The local twin: one process, one port, running a synthesized stack as AWS would. startTwin only
 * composes: the data dir and its lock, the port, the template, the AWS services and their front,
 * the HTTP API, and what the product's extension adds.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOCAL_REGION } from '../aws/cloudformation/intrinsics.ts';
import { type LoadStackOptions, loadStack, type TwinStack } from '../aws/cloudformation/template.ts';
import { FaultInjector } from '../aws/faults/injector.ts';
import {
  type AgentKey,
  type AwsCredentials,
  createKeyRing,
  loadOrCreateOperatorCredentials,
  OPERATOR_CREDENTIALS_FILE,
} from '../aws/front/credentials.ts';
import type { LocalStepFunctions } from '../aws/states/step-functions.ts';
import type { UsageMeter } from '../aws/usage.ts';
import { startAwsServices } from './aws-services.ts';
import type { TwinContext, TwinExtension } from './extension.ts';
import { acquireDataDirLock, LOCK_FILE } from './lock.ts';
import { startTwinServer } from './server.ts';

export const DEFAULT_PORT = 4710;
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface StartTwinOptions {
  /** @default 4710; 0 picks a free port */
  readonly port?: number;
  /** @default '127.0.0.1'; anything but loopback needs `insecureExpose` */
  readonly host?: string;
  /** Serve on a non-loopback `host` (no TLS, demo identities): only when asked for explicitly. */
  readonly insecureExpose?: boolean;
  readonly dataDir: string;
  /** Wipes the data dir first. */
  readonly reset?: boolean;
  /** @default the repository this file is in */
  readonly repoRoot?: string;
  /** The template to run; give the URL-independent part of a cloud assembly (see local/product). */
  readonly templatePath: string | ((log: (line: string) => void) => Promise<string>);
  /** The agents' IAM users: each key may call what `authorize` allows an agent. @default none */
  readonly agents?: readonly AgentKey[];
  /** Builds what the product adds, once the twin knows its URL and stack (called once, before it serves). */
  readonly extend?: (twin: TwinContext) => TwinExtension | Promise<TwinExtension>;
  /** @default console.log */
  readonly log?: (line: string) => void;
  /** Counts what the twin's AWS serves, as AWS bills it (the bench's cost model). */
  readonly meter?: UsageMeter;
  /**
   * Lets the operator (from this machine) make chosen AWS calls and chat calls fail as the real
   * services fail, through `CountersignTwinFaults.*` on the front: for tests and rehearsals only.
   * @default false
   */
  readonly faultInjection?: boolean;
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
  /** The faults it injects, when started with `faultInjection`. */
  readonly faults?: FaultInjector;
  /**
   * Runs a scheduled rule of the template now (by name or logical id) instead of waiting for its
   * timer, and waits for its targets: e.g. the reminder run, in a test or a demo.
   */
  runScheduledRule(nameOrLogicalId: string): Promise<void>;
  /** Delivers every stream record written so far to its event source mappings' functions, and waits. */
  drainEventSourceMappings(): Promise<void>;
  /** The functions' heaps in use, each after a full collection, in bytes (LambdaRuntime). */
  functionsHeapAfterCollection(): Promise<number>;
  stop(): Promise<void>;
}

async function resetDataDir(dataDir: string): Promise<void> {
  for (const entry of await readdir(dataDir)) {
    if (entry !== LOCK_FILE) await rm(join(dataDir, entry), { recursive: true, force: true });
  }
}

/** The HTTP API's endpoint is the twin itself: the template cannot know it. */
function apiEndpointAt(url: string): LoadStackOptions {
  return {
    overrides: {
      getAtt: (_id, resource, attribute) =>
        resource.Type === 'AWS::ApiGatewayV2::Api' && attribute === 'ApiEndpoint' ? url : undefined,
    },
  };
}

export async function startTwin(options: StartTwinOptions): Promise<RunningTwin> {
  const log = options.log ?? ((line: string) => console.log(line));
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
    // Listen first: the port (0 = any) is part of the local values the template resolves to.
    const server = await startTwinServer({ ...options, port: options.port ?? DEFAULT_PORT, log });
    cleanups.push(() => server.close());
    const { url } = server;
    const templatePath =
      typeof options.templatePath === 'string' ? options.templatePath : await options.templatePath(log);
    const stack = await loadStack(templatePath, apiEndpointAt(url));
    let extension: TwinExtension = {};
    const faults = options.faultInjection === true ? new FaultInjector({ log }) : undefined;
    const aws = await startAwsServices({
      stack,
      dataDir,
      endpoint: url,
      credentials: operator.credentials,
      extension: () => extension,
      log,
      meter: options.meter,
      ...(faults === undefined ? {} : { faults }),
    });
    cleanups.push(() => aws.stop());
    extension =
      (await options.extend?.({
        url,
        dataDir,
        repoRoot: options.repoRoot ?? REPO_ROOT,
        stack,
        operatorCredentials: operator.credentials,
        ...(faults === undefined ? {} : { faults }),
        invokeFunction: (name, event) => aws.lambda.invoke(name, event),
        invokeHttpRoute: (request, authorizer) =>
          aws.invokeHttpRoute(request, authorizer === undefined ? undefined : { jwt: authorizer }),
        drainEventSourceMappings: () => aws.drainEventSourceMappings(),
      })) ?? {};
    server.serve(await aws.serve(createKeyRing(operator.credentials, options.agents ?? [])));
    await aws.start();

    if (faults !== undefined)
      log('fault injection is on: the operator may make calls fail (CountersignTwinFaults.*)');
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
      stepFunctions: aws.stepFunctions,
      ...(faults === undefined ? {} : { faults }),
      runScheduledRule: (nameOrLogicalId) => aws.scheduler.runNow(nameOrLogicalId),
      drainEventSourceMappings: () => aws.drainEventSourceMappings(),
      functionsHeapAfterCollection: () => aws.lambda.heapAfterCollection(),
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
