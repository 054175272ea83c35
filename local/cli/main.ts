/**
 * The `countersign` command line. Each subcommand lives in its own module under ./commands and
 * exports `run(args: string[]): Promise<number>` (the exit code); this file only dispatches.
 */
type Command = {
  readonly summary: string;
  readonly load: () => Promise<{ run(args: string[]): Promise<number> }>;
};

export const commands: Record<string, Command> = {
  dev: {
    summary: 'dev [--port 4710] [--data-dir .countersign] [--reset]: run the local twin (= npm start)',
    load: () => import('./commands/dev.ts'),
  },
  request: {
    summary: 'request --agent <id> --action <a> --resource <arn> …: ask as an agent (SigV4 PutEvents)',
    load: () => import('./commands/request.ts'),
  },
  list: {
    summary: 'list [--status PENDING]: requests, newest first',
    load: () => import('./commands/list.ts'),
  },
  show: {
    summary: 'show <id>: one request with its votes, timeline and whether you may vote',
    load: () => import('./commands/show.ts'),
  },
  approve: {
    summary: 'approve <id> --as <user> [--reason …]: vote to approve',
    load: () => import('./commands/approve.ts'),
  },
  deny: {
    summary: 'deny <id> --as <user> --reason …: vote to deny',
    load: () => import('./commands/deny.ts'),
  },
  classification: {
    summary: 'classification show <s3-arn>: what Macie found in a bucket or object (auditors)',
    load: () => import('./commands/classification.ts'),
  },
  calls: {
    summary: 'calls [--status UNAPPROVED]: privileged AWS calls (CloudTrail) reconciled with approvals',
    load: () => import('./commands/calls.ts'),
  },
  simulate: {
    summary: 'simulate cloudtrail <event.json>: replay a recorded CloudTrail event onto the twin',
    load: () => import('./commands/simulate.ts'),
  },
  receipt: {
    summary: 'receipt verify <jws|->: check a decision receipt (signature, issuer, expiry, action hash)',
    load: () => import('./commands/receipt.ts'),
  },
  audit: {
    summary:
      'audit verify [--from <date>] [--to <date>] [--bucket <name>] …: check the audit archive; audit flush: archive now; audit query "<sql>" | audit queries [run <name>]: SQL over it (Athena)',
    load: () => import('./commands/audit.ts'),
  },
  policy: {
    summary: 'policy eval <request.json>: evaluate a request against the Cedar policies',
    load: () => import('./commands/policy.ts'),
  },
  mcp: {
    summary:
      'mcp: the MCP server (stdio) an MCP host starts; COUNTERSIGN_AGENT_ID, COUNTERSIGN_ENDPOINT, AWS_*',
    load: () => import('./commands/mcp.ts'),
  },
  report: {
    summary:
      'report --from <date> --to <date> [--format html|md|csv] [--out file]: the evidence report per control, from the archive',
    load: () => import('./commands/report.ts'),
  },
  demo: {
    summary: 'demo: invoice-bot sends the guided demo requests to a running twin',
    load: () => import('./commands/demo.ts'),
  },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, command]) => `  ${name.padEnd(10)} ${command.summary}`);
  return ['usage: countersign <command> [options]', '', 'commands:', ...lines].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (command === undefined) {
    console.error(
      `countersign: unknown command "${name}" (commands: ${Object.keys(commands).join(', ')}; countersign --help)`,
    );
    return 2;
  }
  const module = await command.load();
  return module.run(rest);
}
