/**
 * Measuring helpers the bench modules share: percentiles, latency samples of several variants taken
 * in alternating blocks (so that whatever else the machine does weighs on each alike) and retaken
 * when the scheduler took the CPU away, and the wall time of a command (for baselines that are
 * programs: `sha256sum`, `node` on an empty module).
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

/** The value at `fraction` (0.5, 0.99) of ascending samples. */
export function percentile(ascending: readonly number[], fraction: number): number {
  if (ascending.length === 0) throw new Error('no samples');
  return ascending[Math.min(ascending.length - 1, Math.floor(ascending.length * fraction))]!;
}

export interface LatencyOptions {
  /** Untimed calls of each variant first (JIT, caches). */
  readonly warmUp: number;
  /** Timed calls of each variant. */
  readonly samples: number;
  /** Calls of one variant before the next variant's turn. @default 250 */
  readonly block?: number;
}

export interface Latencies<Name extends string> {
  /** Each variant's samples in microseconds, ascending. */
  readonly micros: Record<Name, number[]>;
  /** Samples taken again because the process lost the CPU during them. */
  readonly retaken: number;
}

/** Off-CPU time (wall time − the process's CPU time) beyond which a sample measured the machine. */
const PREEMPTED_MICROS = 50;
/** A sample is taken at most this often; the last one counts whatever happened. */
const MAX_TAKES = 10;

/**
 * Times each call of each variant (`call(i)` with i counting up, to cycle through inputs) in
 * microseconds, the variants taking turns block by block. For synchronous calls that keep the CPU:
 * on a shared machine the scheduler hands the CPU to other processes for milliseconds at a time,
 * which would make any p99 the machine's; a sample during which the process was off the CPU for
 * more than 50 µs is taken again (at most 10 times), and how many were is returned.
 */
export function sampleLatencies<Name extends string>(
  variants: Readonly<Record<Name, (i: number) => unknown>>,
  options: LatencyOptions,
): Latencies<Name> {
  const names = Object.keys(variants) as Name[];
  const micros = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<Name, number[]>;
  for (const name of names) {
    for (let i = 0; i < options.warmUp; i += 1) variants[name](i);
  }
  let retaken = 0;
  const take = (call: (i: number) => unknown, i: number): number => {
    for (let attempt = 1; ; attempt += 1) {
      const cpuBefore = process.cpuUsage();
      const start = performance.now();
      call(i);
      const wall = (performance.now() - start) * 1000;
      const cpu = process.cpuUsage(cpuBefore);
      if (wall - (cpu.user + cpu.system) <= PREEMPTED_MICROS || attempt === MAX_TAKES) return wall;
      retaken += 1;
    }
  };
  const block = options.block ?? 250;
  for (let done = 0; done < options.samples; done += block) {
    const count = Math.min(block, options.samples - done);
    for (const name of names) {
      for (let i = done; i < done + count; i += 1) micros[name].push(take(variants[name], i));
    }
  }
  for (const name of names) micros[name].sort((a, b) => a - b);
  return { micros, retaken };
}

/** A program to time: what it runs with, and what it reads. */
export interface TimedCommand {
  readonly command: string;
  readonly args: readonly string[];
  /** Given on stdin. */
  readonly input?: string;
  /** The program's whole environment. @default this process's */
  readonly env?: Readonly<Record<string, string>>;
}

export interface CommandRounds {
  /** Timed runs of each command. */
  readonly rounds: number;
  /** Untimed runs of each command first (page cache, binary loaded). @default 1 */
  readonly warmUps?: number;
}

const TIMER = new URL('./time-commands.mjs', import.meta.url);

/**
 * Wall time of running each command to completion, in milliseconds, each command's ascending: the
 * baseline for a figure that a plain program achieves, or programs compared (a bundle's cold start
 * beside an empty module's). Every command runs once per round, in the order given, so that load
 * weighs on each alike. The programs are started by a small process of their own
 * (time-commands.mjs), not by this one, whose size would add the cost of forking it to each run.
 * A command that fails throws, with its stderr.
 */
export function timeCommands(commands: readonly TimedCommand[], options: CommandRounds): number[][] {
  const result = spawnSync(process.execPath, [fileURLToPath(TIMER)], {
    input: JSON.stringify({ rounds: options.rounds, warmUps: options.warmUps ?? 1, commands }),
    stdio: ['pipe', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error !== undefined || result.status !== 0) {
    throw new Error(`the command timer failed: ${result.error?.message ?? `exit ${result.status}`}`);
  }
  const answer = JSON.parse(result.stdout.toString('utf8')) as { times?: number[][]; error?: string };
  if (answer.times === undefined) throw new Error(answer.error ?? 'the command timer answered nothing');
  return answer.times.map((times) => [...times].sort((a, b) => a - b));
}

/** Wall time of one command run `runs` times (timeCommands with one command). */
export function timeCommand(
  command: string,
  args: readonly string[],
  options: Omit<TimedCommand, 'command' | 'args'> & { readonly runs: number; readonly warmUps?: number },
): number[] {
  const { runs, warmUps, ...rest } = options;
  return timeCommands([{ command, args, ...rest }], {
    rounds: runs,
    ...(warmUps === undefined ? {} : { warmUps }),
  })[0]!;
}
