/**
 * `npm run bench [-- [--json] [--quick] [<bench>…]]`: runs the bench modules (all, or those named)
 * one after another, each in a process of its own (bench/measure-in-child.ts says why), and prints
 * one table: every figure beside its same-run baseline, the ratio and the goal (✓/✗).
 * `--json` also writes bench-results.json (a flat object of numbers) in the current directory;
 * `--quick` takes few samples (the smoke test's mode). A module that fails is reported on stderr
 * and makes the exit code 1; a missed goal is a ✗ in the table. To add a figure: bench/README.md.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { measureInChild } from './measure-in-child.ts';
import { formatTable, type MeasuredFigure, resultsObject } from './report.ts';

const RESULTS_FILE = 'bench-results.json';
const USAGE = 'usage: npm run bench [-- [--json] [--quick] [<bench>…]]';

/** Every bench module (`bench/<name>.bench.ts`), in the order the table lists them. */
const BENCHES: readonly string[] = [
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
  for (const name of options.benches) {
    try {
      const module = new URL(`./${name}.bench.ts`, import.meta.url);
      const measured = await measureInChild(module, { quick: options.quick });
      figures.push(...measured.map((figure) => ({ ...figure, bench: name })));
    } catch (error) {
      failed = true;
      // The message is the child's own stack when the module threw; this process's adds nothing.
      console.error(`bench ${name} failed: ${(error as Error).message}`);
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
  const unknown = positionals.filter((name) => !BENCHES.includes(name));
  if (unknown.length > 0) {
    throw new Error(
      `no bench ${unknown.map((name) => `"${name}"`).join(', ')} (benches: ${BENCHES.join(', ')})`,
    );
  }
  const benches = positionals.length === 0 ? BENCHES : BENCHES.filter((name) => positionals.includes(name));
  return { json: values.json, quick: values.quick, benches };
}

process.exitCode = await main();
