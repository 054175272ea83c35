/**
 * The reference implementations tests compare the twin with (moto_server, the AWS CLI), found on
 * PATH at test time. A machine without them runs the twin's half and says once what it did not
 * run; with COUNTERSIGN_REQUIRE_ORACLES=1 (CI) a missing oracle fails the run instead.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

export const REQUIRE_ORACLES_ENV = 'COUNTERSIGN_REQUIRE_ORACLES';

export interface OracleCheck {
  readonly available: boolean;
  /** Why it is missing (for the one line the test prints). */
  readonly reason?: string;
}

/** Whether `command <probe>` runs; throws when oracles are required and it does not. */
export function checkOracle(
  command: string,
  skipped: string,
  probe: string | readonly string[] = '--help',
): OracleCheck {
  const result = spawnSync(command, [probe].flat(), { encoding: 'utf8', timeout: 30_000 });
  if (result.error === undefined && result.status === 0) return { available: true };
  const reason = `${command} is not available (${result.error?.message ?? `exit ${result.status}`})`;
  if (process.env[REQUIRE_ORACLES_ENV] === '1') {
    throw new Error(`${REQUIRE_ORACLES_ENV}=1 but ${reason}: ${skipped} cannot run`);
  }
  process.stdout.write(`not run: ${skipped}, because ${reason}\n`);
  return { available: false, reason };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export interface RunningMoto {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** Starts `moto_server` on 127.0.0.1 and a free port, and waits until it answers. */
export async function startMoto(): Promise<RunningMoto> {
  const port = await freePort();
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited at start: ${output}`);
    const ready = await fetch(`${endpoint}/moto-api/`).then(
      () => true,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`moto_server did not answer within 60 s: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    endpoint,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
