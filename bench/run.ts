/**
 * `npm run bench`: runs every benchmark module present in bench/ and prints one table of figures,
 * nothing else (a failing module is reported on stderr). `npm run bench -- --json` also writes the
 * figures to bench-results.json as one flat object of numbers, for tools. Each module exports one
 * `bench…(): Promise<Record<string, number>>`; those not written yet are skipped, so the runner never
 * needs to change when one is added to the list below.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import '../local/aws/states/polyfills.ts';

const RESULTS_FILE = 'bench-results.json';

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
  let json: boolean;
  try {
    json = parseArgs({ options: { json: { type: 'boolean', default: false } } }).values.json;
  } catch (error) {
    console.error(`bench: ${(error as Error).message.split('. ')[0]} (usage: npm run bench [-- --json])`);
    return 2;
  }
  const rows: [string, string, string][] = [['BENCHMARK', 'METRIC', 'VALUE']];
  const figures: Record<string, number> = {};
  let failed = false;
  for (const module of MODULES) {
    const bench = await load(module);
    if (bench === undefined) continue;
    try {
      for (const [metric, value] of Object.entries(await bench())) {
        rows.push([module.name, metric, value.toLocaleString('en-US')]);
        figures[metric] = value;
      }
    } catch (error) {
      failed = true;
      console.error(`${module.name} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  console.log(table(rows));
  if (json) await writeFile(RESULTS_FILE, `${JSON.stringify(figures, null, 2)}\n`);
  return failed ? 1 : 0;
}

process.exitCode = await main();
