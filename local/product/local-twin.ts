/**
 * The whole local twin as `npm start` runs it: the twin running this repository's stack, composed
 * with what only exists locally — Countersign's rules (agents' permissions, the bus policy, the
 * directory), the dev JWT issuer, the chat platforms' stand-ins, the web console with its guided
 * demo. Tests start exactly this, so what they exercise is what a newcomer runs.
 */
import { fileURLToPath } from 'node:url';
import { StaticDirectory } from '../../lambdas/adapters/static-directory.ts';
import {
  combineExtensions,
  type RunningTwin,
  type StartTwinOptions,
  startTwin,
  type TwinContext,
  type TwinExtension,
} from '../twin/index.ts';
import { twinTemplate } from './assembly.ts';
import { auditArchiveExtension } from './audit.ts';
import { createChatTwin } from './chat/chat-twin.ts';
import { DEFAULT_CONFIG_PATH, type LocalConfig, publicDirectory, readLocalConfig } from './config.ts';
import { consoleRoutes } from './console/routes.ts';
import { runDemo } from './demo.ts';
import { devIssuerExtension } from './dev-issuer.ts';
import { countersignRules } from './rules.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type StartLocalTwinOptions = Omit<StartTwinOptions, 'extend' | 'templatePath' | 'agents'> & {
  /** @default countersign.local.json at the repository root */
  readonly directoryPath?: string;
  /** A template to run instead of the repository's (tests); skips synthesis. */
  readonly templatePath?: string;
  /** The agent that sends the guided demo's requests. @default 'invoice-bot' */
  readonly demoAgent?: string;
  /** One more extension, composed after the local ones (e.g. a POLICY_DIR override in tests). @default nothing more */
  readonly extend?: StartTwinOptions['extend'];
};

/**
 * Countersign's parts of the twin that need no browser or identity provider: rules, chat stand-ins
 * and the audit archive's doors.
 */
export async function countersignExtensions(
  twin: TwinContext,
  config: LocalConfig,
): Promise<TwinExtension[]> {
  return [
    countersignRules(config, twin),
    (await createChatTwin(twin, config)).extension,
    auditArchiveExtension(twin),
  ];
}

export async function startLocalTwin(options: StartLocalTwinOptions): Promise<RunningTwin> {
  const config = await readLocalConfig(options.directoryPath ?? DEFAULT_CONFIG_PATH);
  const repoRoot = options.repoRoot ?? REPO_ROOT;
  const demoAgentId = options.demoAgent ?? 'invoice-bot';
  const demoAgent = config.agents.find((agent) => agent.id === demoAgentId);
  const extend = async (context: TwinContext): Promise<TwinExtension> => {
    // The Countersign bus: the stack's one custom bus (the default bus always exists too).
    const busName = context.stack.eventBuses.find((name) => name !== 'default');
    const directory = new StaticDirectory(publicDirectory(config));
    return combineExtensions([
      ...(await countersignExtensions(context, config)),
      await devIssuerExtension(context, directory),
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
  const { directoryPath: _path, demoAgent: _demo, templatePath, ...twinOptions } = options;
  return startTwin({
    ...twinOptions,
    repoRoot,
    templatePath: templatePath ?? ((log) => twinTemplate(repoRoot, config, log)),
    agents: config.agents,
    extend,
  });
}
