/**
 * `countersign demo`: invoice-bot sends the guided demo's requests to a running twin, through
 * SigV4-signed PutEvents with its own keys, exactly like an agent would.
 */
import { readLocalConfig } from '../../product/config.ts';
import { DEMO_REQUESTS, runDemo } from '../../product/demo.ts';
import { ExitCode, parseCommandLine, runCommand, UsageError } from '../output.ts';

const DEFAULT_URL = 'http://127.0.0.1:4710';
const USAGE =
  'countersign demo [--url <twin>] [--agent invoice-bot] [--bus countersign] [--config countersign.local.json] [--json]';

export async function run(args: string[]): Promise<number> {
  return runCommand('demo', USAGE, args, async () => {
    const { values, positionals } = parseCommandLine({
      args,
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        agent: { type: 'string', default: 'invoice-bot' },
        bus: { type: 'string', default: 'countersign' },
        config: { type: 'string', default: 'countersign.local.json' },
        json: { type: 'boolean', default: false },
      },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const url = values.url ?? process.env.COUNTERSIGN_URL ?? DEFAULT_URL;
    const directory = await readLocalConfig(values.config);
    const agent = directory.agents.find((candidate) => candidate.id === values.agent);
    if (agent === undefined) throw new UsageError(`no agent "${values.agent}" in ${values.config}`);
    const requestIds = await runDemo({ endpoint: url, busName: values.bus, agent });
    if (values.json) {
      console.log(JSON.stringify({ requestIds }));
    } else {
      console.log(`${agent.id} sent ${requestIds.length} requests to ${url}:`);
      requestIds.forEach((id, index) => {
        const request = DEMO_REQUESTS[index];
        console.log(`  ${id.padEnd(36)} ${request?.action ?? ''}`);
      });
      console.log(`\nOpen ${url}/ and sign in as carol, erin, alice, bob or dave to review them.`);
    }
    return ExitCode.ok;
  });
}
