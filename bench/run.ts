/**
 * `npm run bench`: runs every benchmark module present in bench/ and prints one table of figures.
 * Each module exports one `bench…(): Promise<Record<string, number>>`; those not written yet are
 * skipped, so the runner never needs to change when one is added to the list below.
 */
import { existsSync } from 'node:fs';
import '../local/aws/states/polyfills.ts';

interface BenchModule {
  readonly name: string;
  readonly file: string;
  readonly exportName: string;
}

const MODULES: readonly BenchModule[] = [
  { name: 'policy', file: './policy.bench.ts', exportName: 'benchPolicy' },
  { name: 'event pattern', file: './event-pattern.bench.ts', exportName: 'benchEventPattern' },
  { name: 'twin', file: './twin.bench.ts', exportName: 'benchTwin' },
];

type Bench = () => Promise<Record<string, number>>;

async function load(module: BenchModule): Promise<Bench | undefined> {
  const url = new URL(module.file, import.meta.url);
  if (!existsSync(url)) return undefined;
  const loaded = (await import(url.href)) as Record<string, unknown>;
  const bench = loaded[module.exportName];
  if (typeof bench !== 'function') throw new Error(`${module.file} does not export ${module.exportName}()`);
  return bench as Bench;
}

function table(rows: readonly (readonly [string, string, string])[]): string {
  const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map(
      ([bench, metric, value]) =>
        `${bench.padEnd(widths[0]!)}  ${metric.padEnd(widths[1]!)}  ${value.padStart(widths[2]!)}`,
    )
    .join('\n');
}

async function main(): Promise<number> {
  const rows: [string, string, string][] = [['BENCHMARK', 'METRIC', 'VALUE']];
  let failed = false;
  for (const module of MODULES) {
    const bench = await load(module);
    if (bench === undefined) {
      console.error(`skipping ${module.name}: ${module.file} is not there`);
      continue;
    }
    console.error(`running ${module.name}…`);
    try {
      for (const [metric, value] of Object.entries(await bench()))
        rows.push([module.name, metric, value.toLocaleString('en-US')]);
    } catch (error) {
      failed = true;
      console.error(`${module.name} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  console.log(table(rows));
  return failed ? 1 : 0;
}

process.exitCode = await main();
