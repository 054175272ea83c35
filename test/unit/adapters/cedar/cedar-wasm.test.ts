/**
 * Cedar's wasm as a bundled function loads it: cedar-wasm.ts bundled with cedar-wasm external, run
 * by a fresh Node beside a copy of the package, as Lambda runs the bundle beside its copy.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, it } from 'vitest';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const PACKAGE = join(REPO_ROOT, 'node_modules/@cedar-policy/cedar-wasm');

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'countersign-cedar-wasm-'));
  await build({
    stdin: {
      contents: `import { isCedarLoaded, loadCedar } from './lambdas/adapters/cedar/cedar-wasm.ts';
import { getCedarVersion } from '@cedar-policy/cedar-wasm/web';
await loadCedar();
console.log(isCedarLoaded(), getCedarVersion());`,
      resolveDir: REPO_ROOT,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    external: ['@cedar-policy/cedar-wasm'],
    outfile: join(dir, 'index.mjs'),
    logLevel: 'silent',
  });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the bundle beside `wasm` as the package's web build wasm; its exit code and output. */
async function runWith(
  wasm: 'the package' | Buffer,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const copy = join(dir, 'node_modules/@cedar-policy/cedar-wasm');
  await rm(copy, { recursive: true, force: true });
  await cp(PACKAGE, copy, { recursive: true });
  if (wasm !== 'the package') await writeFile(join(copy, 'web/cedar_wasm_bg.wasm'), wasm);
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(dir, 'index.mjs')]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

it('loads Cedar from the wasm beside its glue', async () => {
  const { code, stdout } = await runWith('the package');
  expect(code).toBe(0);
  expect(stdout).toMatch(/^true \d+\.\d+\.\d+/);
});

it('fails the init when the wasm does not compile (fail closed)', async () => {
  const { code, stdout, stderr } = await runWith(Buffer.from('\0asm not a module'));
  expect(code).not.toBe(0);
  expect(stdout).toBe('');
  expect(stderr).toContain('CompileError');
});
