// @ts-check
/**
 * Times programs run to completion, from a process of its own: `bench/measure.ts` starts this small
 * process once and it starts each program. Started by the bench process itself, every program
 * would first pay for forking it: copying the page tables of a process that holds a synthesized
 * stack and the bundles (about 500 MB) added 10–18 ms to each run here, the baseline's too, which is
 * none of the program's own time. Plain JavaScript, no imports but Node's: it stays small.
 *
 * stdin: `{ rounds, warmUps, commands: [{ command, args, env?, input? }] }`; every command runs once
 * per round, in the order given (so that load weighs on each alike), after `warmUps` untimed runs of
 * each in the first round. stdout: `{ times }`, each command's milliseconds in run order, or
 * `{ error }` naming the first command that failed and why.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** @typedef {{ command: string, args: string[], env?: Record<string, string>, input?: string }} Command */

/** @param {Command} command */
function run(command) {
  const start = performance.now();
  const result = spawnSync(command.command, command.args, {
    input: command.input,
    ...(command.env === undefined ? {} : { env: command.env }),
    stdio: [command.input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'],
    maxBuffer: 1024 * 1024,
  });
  const elapsed = performance.now() - start;
  if (result.error !== undefined || result.status !== 0) {
    const why = result.error?.message ?? `exit ${result.status}: ${result.stderr.toString().trim()}`;
    throw new Error(`${command.command} ${command.args.join(' ')} failed: ${why}`);
  }
  return elapsed;
}

/** @type {{ rounds: number, warmUps: number, commands: Command[] }} */
const { rounds, warmUps, commands } = JSON.parse(readFileSync(0, 'utf8'));
try {
  /** @type {number[][]} */
  const times = commands.map(() => []);
  for (let round = 0; round < rounds; round += 1) {
    commands.forEach((command, index) => {
      if (round === 0) for (let i = 0; i < warmUps; i += 1) run(command);
      times[index]?.push(run(command));
    });
  }
  process.stdout.write(JSON.stringify({ times }));
} catch (error) {
  process.stdout.write(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }));
}
