/**
 * `countersign simulate cloudtrail <event.json|->`: replays a recorded `AWS API Call via CloudTrail`
 * event (as EventBridge delivers it) onto the twin's default bus, where the stack's rule hands it
 * to the reconciliation, as if the call had just been made. Replaying the same event again is a
 * redelivery: it is recorded once. Exit codes: 0 replayed, 1 the twin refused it or is not
 * running, 2 bad usage or not a CloudTrail event.
 */
import { readFile } from 'node:fs/promises';
import { CloudTrailEvent } from '../../../lambdas/domain/cloudtrail-event.ts';
import { describeIssues } from '../../../lambdas/domain/schemas.ts';
import { ExitCode, parseCommandLine, printJson, runCommand, UsageError } from '../output.ts';
import { TwinClient, twinUrl } from '../twin-client.ts';

const USAGE = 'countersign simulate cloudtrail <event.json|-> [--json] [--url <twin>]';

async function readEvent(path: string): Promise<unknown> {
  let text: string;
  try {
    text = path === '-' ? await readStdin() : await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${path} is not JSON`, { cause: error });
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

export async function run(args: string[]): Promise<number> {
  return runCommand('simulate', USAGE, args, async () => {
    const { values, positionals } = parseCommandLine({
      args,
      allowPositionals: true,
      options: { json: { type: 'boolean', default: false }, url: { type: 'string' } },
    });
    const [kind, path, ...extra] = positionals;
    if (kind !== 'cloudtrail') throw new UsageError('the only simulation is `cloudtrail <event.json>`');
    if (path === undefined || extra.length > 0)
      throw new UsageError('give exactly one event file (or - for stdin)');
    const parsed = CloudTrailEvent.safeParse(await readEvent(path));
    if (!parsed.success) {
      throw new UsageError(
        `not an "AWS API Call via CloudTrail" event: ${describeIssues(parsed.error).join('; ')}`,
      );
    }
    const event = parsed.data;
    const client = new TwinClient(twinUrl(values.url));
    await client.replayAwsEvent(event);
    const { eventID, eventName, eventSource } = event.detail;
    if (values.json) printJson({ replayed: { eventId: eventID, eventName, eventSource } });
    else console.log(`replayed ${eventSource} ${eventName} (eventID ${eventID}); see: countersign calls`);
    return ExitCode.ok;
  });
}
