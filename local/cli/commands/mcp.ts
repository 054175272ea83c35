/**
 * `countersign mcp`: Countersign's MCP server on stdin/stdout, for an MCP host to start (see the
 * README for the host configuration). It runs until the host closes the connection; stdout carries
 * only the protocol.
 */
import { serveMcpOverStdio } from '../../../agent/mcp.ts';

export async function run(args: string[]): Promise<number> {
  if (args.length > 0) {
    console.error(
      'usage: countersign mcp   (configured by COUNTERSIGN_AGENT_ID, COUNTERSIGN_ENDPOINT, AWS_*)',
    );
    return 2;
  }
  try {
    const server = await serveMcpOverStdio();
    // The host ends the session by closing our stdin (or the transport).
    await new Promise<void>((resolve) => {
      server.server.onclose = resolve;
      process.stdin.once('end', resolve);
    });
    await server.close();
    return 0;
  } catch (error) {
    console.error(`countersign mcp: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
