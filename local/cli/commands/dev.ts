/**
 * `countersign dev` (= `npm start`): runs the local twin in the foreground, prints where everything
 * is and who the demo identities are, and shuts down cleanly on Ctrl-C.
 */
import { resolve } from 'node:path';
import { DEFAULT_CONFIG_PATH, type LocalConfig, readLocalConfig } from '../../product/config.ts';
import { startLocalTwin } from '../../product/local-twin.ts';
import { DEFAULT_PORT, ExposedBindError, type RunningTwin } from '../../twin/index.ts';
import { ExitCode, parseCommandLine, renderTable, runCommand, UsageError } from '../output.ts';

const USAGE =
  'countersign dev [--port <port>] [--host <address> --insecure-expose] [--data-dir <dir>] [--reset] [--fault-injection]';

export function parsePort(value: string | undefined): number {
  if (value === undefined) return DEFAULT_PORT;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) throw new UsageError(`not a port number: ${value}`);
  return port;
}

/** The banner: the URLs to open or point clients at, the identities to use, and a first step. */
export function describeTwin(
  twin: Pick<RunningTwin, 'url' | 'endpoint' | 'region' | 'dataDir'>,
  config: LocalConfig,
): string {
  const users = renderTable(config.users, [
    { header: '  USER', value: (user) => `  ${user.id}` },
    {
      header: 'GROUPS',
      value: (user) => (user.groups.length > 0 ? user.groups.join(', ') : '(none: cannot approve)'),
    },
    { header: 'EMAIL', value: (user) => user.email ?? '' },
  ]);
  const agents = renderTable(config.agents, [
    { header: '  AGENT', value: (agent) => `  ${agent.id}` },
    { header: 'OWNER', value: (agent) => agent.owner },
    { header: 'ACCESS KEY', value: (agent) => agent.accessKeyId },
  ]);
  return [
    '',
    `Countersign twin running (data in ${twin.dataDir})`,
    '',
    `  Console            ${twin.url}/`,
    `  REST API           ${twin.url}/api  (OpenAPI: ${twin.url}/api/openapi.json)`,
    `  AWS SDK endpoint   ${twin.endpoint}  (region ${twin.region}; EventBridge, Step Functions)`,
    `  Slack callback     ${twin.url}/slack/interactions`,
    `  Teams callback     ${twin.url}/teams/messages`,
    `  Chat outbox        ${twin.url}/local/outbox`,
    '',
    'Demo identities (countersign.local.json):',
    users,
    agents,
    '',
    'Get a token:   curl -s -X POST ' +
      `${twin.url}/local/token -H 'content-type: application/json' -d '{"user":"carol"}'`,
    'Ask as agent:  npx countersign request --agent invoice-bot --action iam:AttachRolePolicy \\',
    '                 --resource arn:aws:iam::123456789012:role/x --param policyArn=arn:aws:iam::aws:policy/ReadOnlyAccess \\',
    '                 --justification "read access for the export"',
    'Review:        npx countersign list --status PENDING; npx countersign approve <id> --as carol',
    `Guided demo:   open ${twin.url}/, sign in and press "Run the demo" (or: npx countersign demo)`,
    '',
    'Ctrl-C stops the twin; pending approvals survive a restart.',
  ].join('\n');
}

function untilSignal(): Promise<string> {
  return new Promise((resolveSignal) => {
    const stop = (signal: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolveSignal(signal);
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
  });
}

export async function run(args: string[]): Promise<number> {
  return runCommand('dev', USAGE, args, async () => {
    const { values, positionals } = parseCommandLine({
      args,
      allowPositionals: true,
      options: {
        port: { type: 'string' },
        host: { type: 'string', default: '127.0.0.1' },
        'data-dir': { type: 'string', default: '.countersign' },
        reset: { type: 'boolean', default: false },
        'insecure-expose': { type: 'boolean', default: false },
        'fault-injection': { type: 'boolean', default: false },
      },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const port = parsePort(values.port ?? process.env.COUNTERSIGN_PORT);
    const config = await readLocalConfig(DEFAULT_CONFIG_PATH);
    // The same composition the tests start: twin runtime, dev issuer, console, demo and chat sinks.
    const twin = await startLocalTwin({
      port,
      host: values.host,
      insecureExpose: values['insecure-expose'],
      dataDir: resolve(values['data-dir']),
      reset: values.reset,
      faultInjection: values['fault-injection'],
      directoryPath: DEFAULT_CONFIG_PATH,
    }).catch((error: unknown) => {
      // Exposing the twin is a choice made on the command line: refusing it is a usage error.
      throw error instanceof ExposedBindError ? new UsageError(error.message, { cause: error }) : error;
    });
    console.log(describeTwin(twin, config));
    const signal = await untilSignal();
    // The handlers are removed by now, so a second Ctrl-C ends the process at once.
    console.log(`\n${signal}: stopping the twin (Ctrl-C again to force)`);
    await twin.stop();
    return ExitCode.ok;
  });
}
