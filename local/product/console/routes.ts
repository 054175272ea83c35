/**
 * Serves the console from the twin: the page, its script (bundled from TypeScript with esbuild on
 * first use, kept in memory) and the twin-only endpoints the page needs: the identities to sign in
 * as (ids, names and groups, never secrets) and the guided demo.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { jsonResponse, type TwinResponse, type TwinRoute } from '../../twin/index.ts';

const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));

export interface ConsoleIdentity {
  readonly id: string;
  readonly displayName?: string;
  readonly groups: readonly string[];
}

export interface ConsoleRoutesOptions {
  readonly users: readonly ConsoleIdentity[];
  /** Sends the guided demo's requests; returns their ids. */
  readonly runDemo: () => Promise<string[]>;
}

/** The page loads nothing from anywhere else: no CDN, no inline script. */
const PAGE_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'",
} as const;

function asset(contentType: string, body: string): TwinResponse {
  return { statusCode: 200, headers: { ...PAGE_HEADERS, 'content-type': contentType }, body };
}

async function bundleScript(): Promise<string> {
  const result = await build({
    entryPoints: [here('./app.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    sourcemap: 'inline',
    logLevel: 'silent',
  });
  const [output] = result.outputFiles;
  if (output === undefined) throw new Error('esbuild produced no console bundle');
  return output.text;
}

export function consoleRoutes(options: ConsoleRoutesOptions): TwinRoute[] {
  let script: Promise<string> | undefined;
  const page = async () => asset('text/html; charset=utf-8', await readFile(here('./index.html'), 'utf8'));
  const identities = {
    users: options.users.map(({ id, displayName, groups }) => ({ id, displayName, groups })),
  };
  return [
    { method: 'GET', path: '/', handle: page },
    { method: 'GET', path: '/console', handle: page },
    {
      method: 'GET',
      path: '/console/styles.css',
      handle: async () => asset('text/css; charset=utf-8', await readFile(here('./styles.css'), 'utf8')),
    },
    {
      method: 'GET',
      path: '/console/app.js',
      handle: async () => {
        script ??= bundleScript();
        return asset('text/javascript; charset=utf-8', await script);
      },
    },
    { method: 'GET', path: '/local/identities', handle: async () => jsonResponse(200, identities) },
    {
      method: 'POST',
      path: '/local/demo',
      handle: async () => jsonResponse(202, { requestIds: await options.runDemo() }),
    },
  ];
}
