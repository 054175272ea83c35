/**
 * `npm run bench [-- [--json] [--quick] [<bench>…]]`: runs the bench modules (all, or those named)
 * and prints one table: every figure beside its same-run baseline, the ratio and the goal (✓/✗).
 * `--json` also writes bench-results.json (a flat object of numbers) in the current directory;
 * `--quick` takes few samples (the smoke test's mode). A module that fails is reported on stderr
 * and makes the exit code 1; a missed goal is a ✗ in the table. To add a figure: bench/README.md.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import '../local/aws/states/polyfills.ts';
import type { BenchModule } from './figures.ts';
import { formatTable, type MeasuredFigure, resultsObject } from './report.ts';

// The AWS SDK's notice about its future Node 22 floor would interleave with the table on Node 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const RESULTS_FILE = 'bench-results.json';
const USAGE = 'usage: npm run bench [-- [--json] [--quick] [<bench>…]]';

/** Every bench module, in the order the table lists them; loaded only when selected. */
const BENCHES: readonly { readonly name: string; readonly load: () => Promise<BenchModule> }[] = [
  { name: 'bundles', load: () => import('./bundles.bench.ts') },
  { name: 'policy', load: () => import('./policy.bench.ts') },
  { name: 'event-pattern', load: () => import('./event-pattern.bench.ts') },
  { name: 'twin', load: () => import('./twin.bench.ts') },
  { name: 'macie', load: () => import('./macie.bench.ts') },
  { name: 'agent', load: () => import('./agent.bench.ts') },
  { name: 'audit', load: () => import('./audit.bench.ts') },
  { name: 'duckdb', load: () => import('./duckdb.bench.ts') },
  { name: 'load', load: () => import('./load.bench.ts') },
  { name: 'cost', load: () => import('./cost.bench.ts') },
];

async function main(): Promise<number> {
  let options: ReturnType<typeof parseCommandLine>;
  try {
    options = parseCommandLine();
  } catch (error) {
    console.error(`bench: ${(error as Error).message.split('. ')[0]}\n${USAGE}`);
    return 2;
  }
  const figures: MeasuredFigure[] = [];
  let failed = false;
  for (const { name, load } of options.benches) {
    try {
      const measured = await (await load()).measure({ quick: options.quick });
      figures.push(...measured.map((figure) => ({ ...figure, bench: name })));
    } catch (error) {
      failed = true;
      console.error(
        `bench ${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : error}`,
      );
    }
  }
  console.log(formatTable(figures));
  if (options.json) await writeFile(RESULTS_FILE, `${JSON.stringify(resultsObject(figures), null, 2)}\n`);
  return failed ? 1 : 0;
}

function parseCommandLine() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, quick: { type: 'boolean', default: false } },
  });
  const unknown = positionals.filter((name) => !BENCHES.some((bench) => bench.name === name));
  if (unknown.length > 0) {
    throw new Error(
      `no bench ${unknown.map((name) => `"${name}"`).join(', ')} (benches: ${BENCHES.map(({ name }) => name).join(', ')})`,
    );
  }
  const benches =
    positionals.length === 0 ? BENCHES : BENCHES.filter(({ name }) => positionals.includes(name));
  return { json: values.json, quick: values.quick, benches };
}

process.exitCode = await main();
