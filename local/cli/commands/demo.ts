/**
 * `countersign demo`: invoice-bot sends the guided demo's requests to a running twin, through
 * SigV4-signed PutEvents with its own keys, exactly like an agent would.
 */
import { parseArgs } from 'node:util';
import { readLocalConfig } from '../../product/config.ts';
import { DEMO_REQUESTS, runDemo } from '../../product/demo.ts';

const DEFAULT_URL = 'http://127.0.0.1:4710';

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      url: { type: 'string' },
      agent: { type: 'string', default: 'invoice-bot' },
      bus: { type: 'string', default: 'countersign' },
      config: { type: 'string', default: 'countersign.local.json' },
      json: { type: 'boolean', default: false },
    },
  });
  const url = values.url ?? process.env.COUNTERSIGN_URL ?? DEFAULT_URL;
  const directory = await readLocalConfig(values.config);
  const agent = directory.agents.find((candidate) => candidate.id === values.agent);
  if (agent === undefined) {
    console.error(`countersign demo: no agent "${values.agent}" in ${values.config}`);
    return 2;
  }
  try {
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
    return 0;
  } catch (error) {
    console.error(`countersign demo: ${(error as Error).message}`);
    return 1;
  }
}
