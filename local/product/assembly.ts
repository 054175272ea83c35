/**
 * The cloud assembly the twin runs: this repository's app, synthesized into a directory of the
 * twin's own (`cdk.out.twin`) with the twin's context, so cdk.json holds production defaults only
 * and a plain `cdk synth` / `cdk deploy` never carries the twin's loopback issuer or demo channels.
 * The values only have to switch the parts on (the REST API, Slack, Teams, console links): at run
 * time the twin gives the functions its real URLs.
 */
import { join } from 'node:path';
import { ensureFreshCloudAssembly } from '../aws/cloudformation/assembly.ts';
import type { LocalConfig } from './config.ts';
import { DEV_AUDIENCE, DEV_ISSUER_PATH } from './dev-issuer.ts';

export const TWIN_ASSEMBLY_DIR = 'cdk.out.twin';
/** What the assembly is made from: a newer file in any of these means a new synth. */
const SOURCES = ['bin', 'lib', 'lambdas', 'policies', 'cdk.json', 'package.json', 'package-lock.json'];
/** Bot Connector's public service URL: a placeholder the twin replaces with its own sink. */
const TEAMS_SERVICE_URL = 'https://smba.trafficmanager.net/teams/';
/** A loopback origin: the stack accepts http only on loopback, and warns that AWS cannot reach it. */
const LOOPBACK_ORIGIN = 'http://127.0.0.1';

/** The `countersign:*` context the twin synthesizes with. */
export function twinContext(config: Pick<LocalConfig, 'slack' | 'teams'>): Record<string, string> {
  return {
    'countersign:jwtIssuer': `${LOOPBACK_ORIGIN}${DEV_ISSUER_PATH}`,
    'countersign:jwtAudience': DEV_AUDIENCE,
    'countersign:consoleUrl': LOOPBACK_ORIGIN,
    // Classify before approve against the twin's own Macie, polled every second (its jobs take ms).
    'countersign:macie': 'true',
    'countersign:classificationPollSeconds': '1',
    'countersign:classificationTimeoutSeconds': '120',
    ...(config.slack === undefined ? {} : { 'countersign:slackChannelId': config.slack.channel }),
    ...(config.teams === undefined
      ? {}
      : {
          'countersign:teamsConversationId': config.teams.conversationId,
          'countersign:teamsServiceUrl': TEAMS_SERVICE_URL,
        }),
  };
}

/** Synthesizes the twin's assembly when stale and returns its template. */
export function twinTemplate(
  repoRoot: string,
  config: Pick<LocalConfig, 'slack' | 'teams'>,
  log: (line: string) => void,
): Promise<string> {
  return ensureFreshCloudAssembly({
    appDir: repoRoot,
    outDir: join(repoRoot, TWIN_ASSEMBLY_DIR),
    context: twinContext(config),
    sources: SOURCES,
    log,
  });
}
