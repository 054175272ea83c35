/**
 * `countersign mcp`: Countersign's MCP server on stdin/stdout, for an MCP host to start (see the
 * README for the host configuration). It runs until the host closes the connection; stdout carries
 * only the protocol. Configured by the environment: COUNTERSIGN_AGENT_ID (required),
 * COUNTERSIGN_ENDPOINT, AWS_REGION and the standard AWS credentials. Exit 0 when the host hangs up,
 * 1 when it cannot start (no agent id), 2 on bad usage.
 */
import { serveMcpOverStdio } from '../../../agent/mcp.ts';
import { ExitCode, parseCommandLine, runCommand } from '../output.ts';

const USAGE =
  'countersign mcp   (environment: COUNTERSIGN_AGENT_ID, COUNTERSIGN_ENDPOINT, AWS_REGION, AWS credentials)';

export async function run(args: string[]): Promise<number> {
  return runCommand('mcp', USAGE, args, async () => {
    parseCommandLine({ args, allowPositionals: false, options: {} });
    const server = await serveMcpOverStdio();
    // The host ends the session by closing our stdin (or the transport).
    await new Promise<void>((resolve) => {
      server.server.onclose = resolve;
      process.stdin.once('end', resolve);
    });
    await server.close();
    return ExitCode.ok;
  });
}
