/**
 * Which way imports may point, as docs/ARCHITECTURE.md states it, and the check: every relative
 * import of a source file under agent/, lambdas/, lib/, local/ and bin/ is resolved to the layer it lands in
 * and compared with what the importing layer may reach; the domain may import only pure packages.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import ts from 'typescript';

export const CHECKED_ROOTS = ['agent', 'lambdas', 'lib', 'local', 'bin'] as const;
const SOURCE = /\.(ts|mts|mjs|js)$/;

/** The layer a repository path belongs to (services of the twin each their own layer). */
export function layerOf(path: string): string | undefined {
  if (path === 'lambdas/openapi.ts') return 'lambdas/http';
  const lambdas = /^lambdas\/(domain|ports|services|adapters|http|handlers|middleware)\//.exec(path);
  if (lambdas !== null) return `lambdas/${lambdas[1]}`;
  if (/^(agent|lib|bin)\//.test(path)) return path.split('/')[0];
  const aws = /^local\/aws\/(?:([^/]+)\/)?/.exec(path);
  if (aws !== null) {
    if (aws[1] === undefined) return 'local/aws/shared';
    return ['front', 'cloudformation'].includes(aws[1])
      ? `local/aws/${aws[1]}`
      : `local/aws/service:${aws[1]}`;
  }
  const local = /^local\/(twin|product|cli)\//.exec(path);
  return local === null ? undefined : `local/${local[1]}`;
}

const AWS_CORE = ['local/aws/front', 'local/aws/cloudformation', 'local/aws/shared'];
const LAMBDAS = ['domain', 'ports', 'services', 'adapters', 'http', 'handlers', 'middleware'].map(
  (layer) => `lambdas/${layer}`,
);

/** Layer → the layers it may import (its own always). `local/aws/service:*` stands for every service. */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  'lambdas/domain': [],
  'lambdas/ports': ['lambdas/domain'],
  'lambdas/services': ['lambdas/domain', 'lambdas/ports'],
  'lambdas/adapters': ['lambdas/domain', 'lambdas/ports'],
  'lambdas/http': ['lambdas/domain', 'lambdas/ports', 'lambdas/services'],
  'lambdas/middleware': ['lambdas/domain', 'lambdas/ports', 'lambdas/adapters'],
  'lambdas/handlers': LAMBDAS,
  // The agent SDK ships to agents: the shared contracts only, never the server or the twin.
  agent: ['lambdas/domain'],
  lib: ['lambdas/domain'],
  bin: ['lib', 'local/cli'],
  'local/aws/shared': ['lambdas/domain'],
  'local/aws/cloudformation': ['local/aws/shared', 'lambdas/domain'],
  'local/aws/front': ['local/aws/cloudformation', 'local/aws/shared', 'lambdas/domain'],
  'local/aws/service': [...AWS_CORE, 'lambdas/domain'],
  'local/twin': [...AWS_CORE, 'local/aws/service:*', 'lambdas/domain'],
  'local/product': ['local/twin', ...AWS_CORE, 'local/aws/service:*', ...LAMBDAS],
  'local/cli': ['agent', 'local/product', 'local/twin', ...LAMBDAS],
};

/** Files of lambdas/ that lib/ may import beside the domain: the names it shares with the handlers. */
const LIB_SHARED_NAMES: ReadonlySet<string> = new Set([
  'lambdas/handlers/environment-names.ts',
  'lambdas/adapters/dynamodb/table-layout.ts',
]);

/** The only packages the domain may import: pure, no I/O. */
const DOMAIN_PACKAGES: ReadonlySet<string> = new Set([
  'zod/mini',
  'zod/locales',
  'canonicalize',
  'jose',
  'node:crypto',
]);

/**
 * The one module through which what a handler bundles imports zod: `zod/mini`, with English messages
 * set before any schema parses. zod's classic API would be ~100 KB of every bundle (issue 15).
 */
const ZOD_MODULE = 'lambdas/domain/zod.ts';

function importsZodElsewhere(file: string, fromLayer: string, specifier: string): boolean {
  const bundled = fromLayer.startsWith('lambdas/') || fromLayer === 'agent';
  return bundled && file !== ZOD_MODULE && (specifier === 'zod' || specifier.startsWith('zod/'));
}

function allowedTargets(layer: string): readonly string[] {
  return ALLOWED[layer.startsWith('local/aws/service:') ? 'local/aws/service' : layer] ?? [];
}

function mayImport(fromLayer: string, target: string, targetLayer: string): boolean {
  if (targetLayer === fromLayer) return true;
  if (fromLayer === 'lib' && LIB_SHARED_NAMES.has(target)) return true;
  return allowedTargets(fromLayer).some(
    (allowed) =>
      allowed === targetLayer ||
      (allowed === 'local/aws/service:*' && targetLayer.startsWith('local/aws/service:')),
  );
}

export interface ImportOf {
  /** Repository path of the importing file. */
  readonly file: string;
  /** The specifier as written. */
  readonly specifier: string;
}

/** Every import, export-from and dynamic import of a source text. */
export function importsOf(file: string, text: string): ImportOf[] {
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map(({ fileName }) => ({ file, specifier: fileName }));
}

/** What is wrong with one import, or undefined when it points the right way. */
export function violationOf({ file, specifier }: ImportOf): string | undefined {
  const fromLayer = layerOf(file);
  if (fromLayer === undefined) return undefined;
  if (!specifier.startsWith('.')) {
    if (importsZodElsewhere(file, fromLayer, specifier)) {
      return `${file} imports the package '${specifier}': agent/ and lambdas/ import zod as \`import * as z\` from ${ZOD_MODULE}`;
    }
    if (fromLayer === 'lambdas/domain' && !DOMAIN_PACKAGES.has(specifier)) {
      return `${file} imports the package '${specifier}': lambdas/domain may import only ${[...DOMAIN_PACKAGES].join(', ')}`;
    }
    return undefined;
  }
  const target = normalize(join(dirname(file), specifier));
  const targetLayer = layerOf(target) ?? target.split('/')[0]!;
  if (mayImport(fromLayer, target, targetLayer)) return undefined;
  const allowed = [fromLayer, ...allowedTargets(fromLayer)];
  const extra = fromLayer === 'lib' ? ` and the shared names ${[...LIB_SHARED_NAMES].join(', ')}` : '';
  return `${file} imports '${specifier}' (${targetLayer}): ${fromLayer} may import only ${allowed.join(', ')}${extra}`;
}

function sourceFiles(repoRoot: string, directory: string): string[] {
  return readdirSync(join(repoRoot, directory), { withFileTypes: true }).flatMap((entry) => {
    const path = `${directory}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(repoRoot, path);
    return SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every wrong-way import under the checked roots of the repository. */
export function checkRepository(repoRoot: string): { files: number; violations: string[] } {
  const files = CHECKED_ROOTS.flatMap((root) => sourceFiles(repoRoot, root));
  const violations = files.flatMap((file) =>
    importsOf(file, readFileSync(join(repoRoot, file), 'utf8')).flatMap((found) => violationOf(found) ?? []),
  );
  return { files: files.length, violations };
}

export const REPO_ROOT = relative(process.cwd(), join(import.meta.dirname, '..', '..')) || '.';
