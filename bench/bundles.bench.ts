/**
 * The handlers as Lambda loads them. Size: every handler the stack has (every optional part on),
 * bundled in-process exactly as HandlerFunction bundles it (lib/handler-bundle.ts), with the three
 * packages that weigh most in it. Cold init: each function of the twin's cloud assembly (the bundles
 * `cdk deploy` would upload) imported by a fresh Node process with its template environment, beside
 * the same process importing an empty ES module (`coldInitBaselineMs`), runs alternating so that
 * load weighs on both alike, every process started by a small one of its own (timeCommands), not
 * by this one; the median of each. Goals (issue 15): ≤ 500 KB, ≤ 150 ms.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { HANDLER_BUNDLE_BUDGET_KB, handlerBuildOptions } from '../lib/handler-bundle.ts';
import { REPO_ROOT } from '../lib/handler-function.ts';
import { loadStack, type TwinFunction } from '../local/aws/cloudformation/template.ts';
import { lambdaEnvironment } from '../local/aws/lambda/environment.ts';
import { twinTemplate } from '../local/product/assembly.ts';
import { readLocalConfig } from '../local/product/config.ts';
import { buildCountersignStack, TEST_FULL_CONTEXT } from '../test/infra/build-stack.ts';
import { handlersOf } from '../test/infra/handlers-of.ts';
import type { BenchOptions, Figure } from './figures.ts';
import { percentile, timeCommands } from './measure.ts';

const COLD_INIT_GOAL_MS = 150;
const RUNS = { full: 11, quick: 1 } as const;

/** `lambdas/handlers/slack-interactions.ts` → `SlackInteractions`. */
function pascalName(path: string): string {
  const base = path.replace(/^.*\//, '').replace(/\.[^.]+$/, '');
  return base.replace(/(^|[-_.\s]+)(\w)/g, (_, __, letter: string) => letter.toUpperCase());
}

/** The packages (or our folders) that weigh most in a bundle, with their bytes in it. */
function largestInputs(metafile: Metafile, count: number): string {
  const output = Object.values(metafile.outputs)[0];
  const weights = new Map<string, number>();
  for (const [path, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const owner =
      /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? path.split('/').slice(0, 2).join('/');
    weights.set(owner, (weights.get(owner) ?? 0) + bytesInOutput);
  }
  return [...weights]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([owner, bytes]) => `${owner} ${Math.round(bytes / 1024)} KB`)
    .join(', ');
}

async function measureBundles(): Promise<Figure[]> {
  const handlers = handlersOf(buildCountersignStack(TEST_FULL_CONTEXT).stack);
  const figures: Figure[] = [];
  for (const { entry, externalModules } of handlers) {
    const result = await build(handlerBuildOptions(REPO_ROOT, entry, externalModules));
    const bytes = result.outputFiles?.[0]?.contents.byteLength ?? 0;
    figures.push({
      name: `bundle${pascalName(entry)}Kb`,
      value: Math.round(bytes / 1024),
      unit: 'KB',
      goal: { atMost: HANDLER_BUNDLE_BUDGET_KB },
      note: result.metafile === undefined ? '' : largestInputs(result.metafile, 3),
    });
  }
  const largest = figures.reduce((max, figure) => (figure.value > max.value ? figure : max));
  return [
    {
      name: 'bundleMaxKb',
      value: largest.value,
      unit: 'KB',
      goal: { atMost: HANDLER_BUNDLE_BUDGET_KB },
      note: largest.name,
    },
    ...figures,
  ];
}

/** A fresh Node process that imports `moduleUrl` and exits: Lambda's init phase, and Node's start. */
function importArgs(moduleUrl: string): string[] {
  return ['--input-type=module', '-e', `await import(${JSON.stringify(moduleUrl)});`];
}

function functionEnvironment(fn: TwinFunction): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    ...lambdaEnvironment(fn, fn.environment, {
      // Nothing listens there: an init that called out would fail, and so the bench.
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDBENCHCOLDINIT', secretAccessKey: 'bench' },
    }),
  };
}

async function measureColdInits(runs: number): Promise<Figure[]> {
  const config = await readLocalConfig();
  const stack = await loadStack(await twinTemplate(REPO_ROOT, config, () => undefined));
  const functions = stack.functions.filter((fn) => fn.codeDir !== undefined);
  const dir = await mkdtemp(join(tmpdir(), 'countersign-cold-init-'));
  try {
    const empty = join(dir, 'empty.mjs');
    await writeFile(empty, '');
    const emptyArgs = importArgs(pathToFileURL(empty).href);
    // Each function's start beside an empty module's, with the same environment, in turn.
    const commands = functions.flatMap((fn) => {
      const env = functionEnvironment(fn);
      const moduleUrl = pathToFileURL(join(fn.codeDir!, fn.handler.replace(/\.[^.]+$/, '.mjs'))).href;
      return [
        { command: process.execPath, args: emptyArgs, env },
        { command: process.execPath, args: importArgs(moduleUrl), env },
      ];
    });
    const times = timeCommands(commands, { rounds: runs });
    const baseline = times.filter((_, index) => index % 2 === 0).flat();
    const median = (values: number[]) =>
      Math.round(
        percentile(
          [...values].sort((a, b) => a - b),
          0.5,
        ),
      );
    const coldInitBaseline = { name: 'coldInitBaselineMs', value: median(baseline) };
    const figures: Figure[] = functions.map((fn, index) => ({
      name: `coldInit${fn.logicalId.replace(/Function[0-9A-F]{8}$/, '')}Ms`,
      value: median(times[2 * index + 1]!),
      unit: 'ms',
      baseline: coldInitBaseline,
      goal: { atMost: COLD_INIT_GOAL_MS },
    }));
    const slowest = figures.reduce((max, figure) => (figure.value > max.value ? figure : max));
    return [{ ...slowest, name: 'coldInitMaxMs', note: slowest.name }, ...figures];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function measure({ quick }: BenchOptions): Promise<Figure[]> {
  return [...(await measureBundles()), ...(await measureColdInits(RUNS[quick ? 'quick' : 'full']))];
}
