/**
 * The cloud assembly the twin runs: `cdk synth` into a directory of the twin's own, with the
 * context the composition gives, re-run when a source is newer than the assembly or the context
 * changed. One synth at a time per assembly (a lock beside it), so test files starting twins in
 * parallel never read half an assembly; the others wait and then find it fresh.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ConfigurationError } from '../../../lambdas/domain/errors.ts';
import { readJsonFile, releasePidLock, tryPidLock } from '../files.ts';

/** Written after each successful synth: the context it was made with. */
const CONTEXT_FILE = 'twin-synth-context.json';
const LOCK_POLL_MS = 250;

export interface CloudAssemblyOptions {
  /** Where `cdk synth` runs (the directory of cdk.json). */
  readonly appDir: string;
  /** The assembly's directory (`cdk synth --output`). */
  readonly outDir: string;
  /** `--context` values, over cdk.json's. */
  readonly context: Readonly<Record<string, string>>;
  /** Paths under appDir the assembly is made from: a newer file in any of them means a new synth. */
  readonly sources: readonly string[];
  readonly log: (line: string) => void;
}

async function newestMtime(path: string): Promise<number> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of await readdir(path)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    newest = Math.max(newest, await newestMtime(join(path, entry)));
  }
  return newest;
}

/** Why the assembly must be (re)synthesized, or undefined when it is current. */
export async function staleReason(options: Omit<CloudAssemblyOptions, 'log'>): Promise<string | undefined> {
  const manifest = await newestMtime(join(options.outDir, 'manifest.json'));
  if (manifest === 0) return `${options.outDir} is missing`;
  const recorded = await readJsonFile(join(options.outDir, CONTEXT_FILE));
  if (JSON.stringify(recorded) !== JSON.stringify(options.context)) return 'the synth context changed';
  for (const source of options.sources) {
    if ((await newestMtime(join(options.appDir, source))) > manifest)
      return `${source} changed since the last synth`;
  }
  return undefined;
}

function runSynth(options: CloudAssemblyOptions): Promise<void> {
  const context = Object.entries(options.context).flatMap(([key, value]) => ['--context', `${key}=${value}`]);
  return new Promise((resolve, reject) => {
    const child = spawn(
      join(options.appDir, 'node_modules', '.bin', 'cdk'),
      ['synth', '--quiet', '--output', options.outDir, ...context],
      // Its progress goes to stderr: stdout belongs to whoever runs the twin (the bench's table).
      { cwd: options.appDir, stdio: ['ignore', process.stderr, 'inherit'] },
    );
    child.on('error', (error) => reject(new ConfigurationError('could not run cdk synth', { cause: error })));
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new ConfigurationError(`cdk synth failed with exit code ${code}`)),
    );
  });
}

async function synthesizeIfStale(options: CloudAssemblyOptions): Promise<void> {
  const reason = await staleReason(options);
  if (reason === undefined) {
    options.log(`the cloud assembly in ${options.outDir} is up to date`);
    return;
  }
  options.log(`synthesizing the stack (${reason}) into ${options.outDir}`);
  await runSynth(options);
  await writeFile(join(options.outDir, CONTEXT_FILE), `${JSON.stringify(options.context)}\n`);
}

/** Makes sure the assembly is current (synthesizing under a lock when not) and returns its stack template. */
export async function ensureFreshCloudAssembly(options: CloudAssemblyOptions): Promise<string> {
  const lock = `${options.outDir}.lock`;
  await mkdir(dirname(lock), { recursive: true });
  let waited = false;
  while (!(await tryPidLock(lock))) {
    if (!waited) options.log(`waiting for another synth into ${options.outDir}`);
    waited = true;
    await delay(LOCK_POLL_MS);
  }
  try {
    await synthesizeIfStale(options);
  } finally {
    await releasePidLock(lock);
  }
  return findStackTemplate(options.outDir);
}

interface ManifestArtifact {
  readonly type?: string;
  readonly properties?: { readonly templateFile?: string };
}

/** The template file of the (single) stack in a cloud assembly. */
export async function findStackTemplate(outDir: string): Promise<string> {
  const manifest = JSON.parse(await readFile(join(outDir, 'manifest.json'), 'utf8')) as {
    artifacts?: Record<string, ManifestArtifact>;
  };
  const stacks = Object.values(manifest.artifacts ?? {}).filter(
    (artifact) => artifact.type === 'aws:cloudformation:stack' && artifact.properties?.templateFile,
  );
  if (stacks.length !== 1) {
    throw new ConfigurationError(`expected exactly one stack in ${outDir}, found ${stacks.length}`);
  }
  return join(outDir, stacks[0]!.properties!.templateFile!);
}
