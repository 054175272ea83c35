/**
 * The whole local twin as `npm start` runs it: the twin runtime serving the synthesized stack, plus
 * what only exists locally — the dev JWT issuer, the chat platforms' stand-ins (Bot Framework
 * issuer, Secrets Manager for the chat credentials), the web console with its guided demo — composed
 * as twin extensions. Tests start exactly this, so what they exercise is what a newcomer runs.
 */

import type { ExtensionAwsService } from '../aws/front/aws-front.ts';
import { DEFAULT_CONFIG_PATH, readLocalConfig } from '../cli/twin-client.ts';
import { type RunningTwin, type StartTwinOptions, startTwin } from '../twin/index.ts';
import type { TwinContext, TwinExtension } from '../twin/server.ts';
import { createChatTwin } from './chat/chat-twin.ts';
import { consoleRoutes } from './console/routes.ts';
import { runDemo } from './demo.ts';
import { devIssuerExtensionFromFile } from './dev-issuer.ts';

export type StartLocalTwinOptions = Omit<StartTwinOptions, 'extend' | 'directoryPath'> & {
  /** @default countersign.local.json at the repository root */
  readonly directoryPath?: string;
  /** The agent that sends the guided demo's requests. @default 'invoice-bot' */
  readonly demoAgent?: string;
  /**
   * One more extension, composed after the local ones (e.g. a POLICY_DIR override in tests).
   * @default nothing more
   */
  readonly extend?: StartTwinOptions['extend'];
};

/**
 * Routes in order; one JWT authorizer at most; environments and AWS services merged (a clash is a
 * bug, so it throws).
 */
export function combineExtensions(extensions: readonly TwinExtension[]): TwinExtension {
  const authorizers = extensions.flatMap((extension) =>
    extension.jwtAuthorizer ? [extension.jwtAuthorizer] : [],
  );
  if (authorizers.length > 1) throw new Error('two twin extensions both provide the JWT authorizer');
  const environment: Record<string, string> = {};
  for (const extension of extensions) {
    for (const [name, value] of Object.entries(extension.environment ?? {})) {
      if (name in environment && environment[name] !== value) {
        throw new Error(`twin extensions disagree on the environment variable ${name}`);
      }
      environment[name] = value;
    }
  }
  const awsServices: Record<string, ExtensionAwsService> = {};
  for (const extension of extensions) {
    for (const [prefix, service] of Object.entries(extension.awsServices ?? {})) {
      if (prefix in awsServices) throw new Error(`two twin extensions both serve the AWS target ${prefix}.*`);
      awsServices[prefix] = service;
    }
  }
  return {
    routes: extensions.flatMap((extension) => extension.routes ?? []),
    ...(authorizers[0] ? { jwtAuthorizer: authorizers[0] } : {}),
    environment,
    awsServices,
  };
}

export async function startLocalTwin(options: StartLocalTwinOptions): Promise<RunningTwin> {
  const directoryPath = options.directoryPath ?? DEFAULT_CONFIG_PATH;
  const config = await readLocalConfig(directoryPath);
  const demoAgentId = options.demoAgent ?? 'invoice-bot';
  const demoAgent = config.agents.find((agent) => agent.id === demoAgentId);
  const extend = async (context: TwinContext): Promise<TwinExtension> => {
    // The Countersign bus: the stack's one custom bus (the default bus always exists too).
    const busName = context.stack.eventBuses.find((name) => name !== 'default');
    return combineExtensions([
      await devIssuerExtensionFromFile(context, directoryPath),
      (await createChatTwin(context, directoryPath)).extension,
      {
        routes: consoleRoutes({
          users: config.users,
          runDemo: async () => {
            if (demoAgent === undefined)
              throw new Error(`the directory has no agent "${demoAgentId}" for the demo`);
            if (busName === undefined) throw new Error('the stack has no Countersign event bus');
            return runDemo({ endpoint: context.url, busName, agent: demoAgent });
          },
        }),
      },
      (await options.extend?.(context)) ?? {},
    ]);
  };
  return startTwin({ ...options, directoryPath, extend });
}
