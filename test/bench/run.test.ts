/**
 * The bench as a tool: `npm run bench -- --quick --json` runs every bench module, prints one table
 * and writes bench-results.json. This proves the runner and each module work; it asserts no
 * timing (speed targets are the bench's, not the tests').
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Figure } from '../../bench/figures.ts';
import { percentile, sampleLatencies, timeCommand, timeCommands } from '../../bench/measure.ts';
import { measureInChild } from '../../bench/measure-in-child.ts';
import { formatTable, meetsGoal, resultsObject } from '../../bench/report.ts';

const RUN = fileURLToPath(new URL('../../bench/run.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

function bench(args: string[], cwd: string) {
  return promisify(execFile)(process.execPath, ['--import', TSX, RUN, ...args], {
    cwd,
    maxBuffer: 16 * 1024 * 1024,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

describe('npm run bench -- --quick --json', () => {
  let dir: string;
  let run: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'countersign-bench-test-'));
    run = await bench(['--quick', '--json'], dir);
  }, 300_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs every bench and prints one table, nothing else', () => {
    expect(run.stderr).not.toMatch(/bench \S+ failed/);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^BENCH\s+FIGURE\s+VALUE\s+BASELINE\s+VALUE\s+RATIO\s+GOAL$/);
    expect(new Set(lines.slice(1).map((line) => line.split(/\s+/)[0]))).toEqual(
      new Set([
        'bundles',
        'policy',
        'event-pattern',
        'twin',
        'macie',
        'agent',
        'audit',
        'duckdb',
        'load',
        'cost',
      ]),
    );
    expect(run.stdout).toMatch(/policyP99Micros\s+[\d,]+ µs\s+policyBareP99Micros\s+[\d,]+ µs\s+[\d.]+×/);
  });

  it('writes bench-results.json: the contract names, baselines by their own names, numbers only', async () => {
    const results = JSON.parse(await readFile(join(dir, 'bench-results.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    for (const name of [
      'bundleMaxKb',
      'bundleApiKb',
      'coldInitMaxMs',
      'coldInitBaselineMs',
      'loadErrorRate',
      'loadP99Ms',
      'loadIdleP99Ms',
      'loadRssSlopeMbPerMinute',
      'costUsdPer1000Approvals',
      'costStepFunctionsStateTransitionsCentsPer1000Approvals',
      'policyP99Micros',
      'policyBareP99Micros',
      'twinDecidedPerSecond',
      'twinDynalitePutItemsPerSecond',
      'twinRequestToPendingP99Ms',
      'twinDynalitePutItemP99Ms',
      'macieScanCsvMBps',
      'macieReadCsvMBps',
      'macieScanJsonPeakRssGrowthMb',
      'agentAllowP99Ms',
      'agentEventBridgeP50Ms',
      'verifyMBps',
      'sha256sumMBps',
      'duckdbQuery1MRecordsMs',
      'gunzipLineCount1MRecordsMs',
    ]) {
      expect(results, name).toHaveProperty(name);
    }
    expect(Object.values(results).every((value) => typeof value === 'number' && Number.isFinite(value))).toBe(
      true,
    );
  });

  it('runs only the benches named, and refuses a name it does not know', async () => {
    const policy = await bench(['--quick', 'policy'], dir);
    expect(policy.code).toBe(0);
    expect(policy.stdout).toContain('policyP99Micros');
    expect(policy.stdout).not.toContain('twin');
    const unknown = await bench(['nope'], dir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(
      'no bench "nope" (benches: bundles, policy, event-pattern, twin, macie, agent, audit, duckdb, load, cost)',
    );
  }, 60_000);
});

describe('each bench module in a process of its own', () => {
  let dir: string;
  /** A bench module whose `measure` is the body given, written where the child can import it. */
  async function benchModule(name: string, measureBody: string): Promise<URL> {
    const file = join(dir, `${name}.bench.mjs`);
    await writeFile(file, `export async function measure(options) {\n${measureBody}\n}\n`);
    return pathToFileURL(file);
  }
  const measure = (module: URL) => measureInChild(module, { quick: true }, ['--import', TSX]);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'countersign-bench-child-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('measures each module in a fresh process and takes its figures from the channel, not stdout', async () => {
    const reportsPid = await benchModule(
      'pid',
      `console.log(JSON.stringify({ outcome: 'measured', figures: [{ name: 'fromStdout', value: 1, unit: '' }] }));
       return [{ name: 'pid', value: process.pid, unit: '', note: String(options.quick) }];`,
    );
    const first = await measure(reportsPid);
    const second = await measure(reportsPid);
    expect(first).toEqual([{ name: 'pid', value: expect.any(Number), unit: '', note: 'true' }]);
    expect(new Set([first[0]!.value, second[0]!.value, process.pid]).size).toBe(3);
  });

  it("fails with the module's own stack when it throws", async () => {
    const throws = await benchModule('throws', `throw new Error('no twin today');`);
    await expect(measure(throws)).rejects.toThrow(
      /^Error: no twin today\n\s+at .*measure \(.*throws\.bench\.mjs:2/,
    );
  });

  it('fails a module whose process ends without figures, naming its exit code', async () => {
    const exits = await benchModule('exits', `process.exit(3);`);
    await expect(measure(exits)).rejects.toThrow('its process exited with code 3 without reporting figures');
  });

  it('refuses figures that are not numbers', async () => {
    const notANumber = await benchModule('nan', `return [{ name: 'fastness', value: NaN, unit: '/s' }];`);
    await expect(measure(notANumber)).rejects.toThrow(/reported no valid figures:.*figures\[0\]\.value/s);
  });
});

describe('the table', () => {
  const figure = (value: number, goal: Figure['goal'], baseline = 100): Figure => ({
    name: 'xP99Micros',
    value,
    unit: 'µs',
    baseline: { name: 'xBareP99Micros', value: baseline },
    goal,
  });

  it('holds a goal only when every bound holds, ratios against the baseline', () => {
    expect(meetsGoal(figure(150, { atMost: 200, ratioAtMost: 1.5 }))).toBe(true);
    expect(meetsGoal(figure(151, { atMost: 200, ratioAtMost: 1.5 }))).toBe(false);
    expect(meetsGoal(figure(250, { atMost: 200, ratioAtMost: 5 }))).toBe(false);
    expect(meetsGoal(figure(60, { atLeast: 60 }))).toBe(true);
    expect(meetsGoal(figure(50, { ratioAtLeast: 0.6 }))).toBe(false);
    expect(meetsGoal({ name: 'x', value: 1, unit: '', goal: { ratioAtMost: 2 } })).toBe(false);
    expect(meetsGoal({ name: 'x', value: 1, unit: '' })).toBeUndefined();
  });

  it('prints value, baseline, ratio, goal and mark in one row per figure', () => {
    const table = formatTable([
      { ...figure(146, { atMost: 200, ratioAtMost: 1.5 }, 338), bench: 'policy' },
      { name: 'twinDecidedPerSecond', value: 14, unit: '/s', goal: { atLeast: 60 }, bench: 'twin' },
      {
        name: 'bundleApiKb',
        value: 543,
        unit: 'KB',
        goal: { atMost: 500 },
        note: 'zod 101 KB',
        bench: 'bundles',
      },
    ]);
    expect(table.split('\n')).toEqual([
      'BENCH    FIGURE                 VALUE  BASELINE         VALUE  RATIO  GOAL',
      'policy   xP99Micros            146 µs  xBareP99Micros  338 µs  0.43×  ≤ 200 µs, ≤ 1.5×  ✓',
      'twin     twinDecidedPerSecond   14 /s                                 ≥ 60 /s           ✗',
      'bundles  bundleApiKb           543 KB                                 ≤ 500 KB          ✗  zod 101 KB',
    ]);
  });

  it('writes figures and baselines by name', () => {
    expect(resultsObject([figure(146, undefined, 338)])).toEqual({ xP99Micros: 146, xBareP99Micros: 338 });
  });
});

describe('measuring helpers', () => {
  it('samples each variant as often as asked, ascending', () => {
    const calls = { a: 0, b: 0 };
    const { micros, retaken } = sampleLatencies(
      { a: () => (calls.a += 1), b: () => (calls.b += 1) },
      { warmUp: 3, samples: 7, block: 2 },
    );
    expect(micros.a).toHaveLength(7);
    expect(calls.a + calls.b).toBe(2 * (3 + 7) + retaken);
    expect(micros.b).toEqual([...micros.b].sort((x, y) => x - y));
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(3);
    expect(percentile([1, 2, 3, 4], 0.99)).toBe(4);
  });

  it('times a command to completion, and says why one fails', () => {
    expect(timeCommand(process.execPath, ['-e', ''], { runs: 2, warmUps: 0 })).toHaveLength(2);
    expect(() => timeCommand(process.execPath, ['-e', 'process.exit(3)'], { runs: 1 })).toThrow(/exit 3/);
    const echoed = timeCommand(process.execPath, ['-e', 'process.stdin.resume()'], { runs: 1, input: 'x' });
    expect(echoed).toHaveLength(1);
  });

  it('times commands run by run, in the order given, each with its own environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'countersign-time-commands-'));
    try {
      const log = join(dir, 'runs.log');
      const append = (name: string) => ({
        command: process.execPath,
        args: ['-e', `require('node:fs').appendFileSync(${JSON.stringify(log)}, process.env.NAME + '\\n')`],
        env: { NAME: name },
      });
      const times = timeCommands([append('a'), append('b')], { rounds: 2, warmUps: 1 });
      expect(times.map((each) => each.length)).toEqual([2, 2]);
      expect(times[0]).toEqual([...times[0]!].sort((x, y) => x - y));
      expect(readFileSync(log, 'utf8').split('\n').filter(Boolean)).toEqual(['a', 'a', 'b', 'b', 'a', 'b']);
      expect(() =>
        timeCommands([append('a'), { command: process.execPath, args: ['-e', 'process.exit(4)'] }], {
          rounds: 1,
        }),
      ).toThrow(/exit 4/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
