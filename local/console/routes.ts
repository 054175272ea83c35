/**
 * Serves the console from the twin: the page, its script (bundled from TypeScript with esbuild on
 * first use, kept in memory) and the twin-only endpoints the page needs: the identities to sign in
 * as (no secrets) and the guided demo.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type DemoAgent, runDemo } from '../demo.ts';

const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));

export interface ConsoleIdentity {
  readonly id: string;
  readonly displayName?: string;
  readonly groups: readonly string[];
}

export interface ConsoleRoutesOptions {
  readonly users: readonly ConsoleIdentity[];
  readonly demo: { readonly endpoint: () => string; readonly busName: string; readonly agent: DemoAgent };
}

export type RouteHandler = (request: IncomingMessage, response: ServerResponse, url: URL) => Promise<boolean>;

function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, {
    'content-type': contentType,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    // The page loads nothing from anywhere else: no CDN, no inline script.
    'content-security-policy':
      "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'",
  });
  response.end(body);
}

async function bundleScript(): Promise<string> {
  const result = await build({
    entryPoints: [here('./app.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    minify: false,
    sourcemap: 'inline',
    logLevel: 'silent',
  });
  const [output] = result.outputFiles;
  if (output === undefined) throw new Error('esbuild produced no console bundle');
  return output.text;
}

export function consoleRoutes(options: ConsoleRoutesOptions): RouteHandler {
  let script: Promise<string> | undefined;
  const identities = JSON.stringify({
    users: options.users.map(({ id, displayName, groups }) => ({ id, displayName, groups })),
  });
  return async (request, response, url) => {
    const method = request.method ?? 'GET';
    if (
      method === 'GET' &&
      (url.pathname === '/' || url.pathname === '/console' || url.pathname === '/console/')
    ) {
      send(response, 200, 'text/html; charset=utf-8', await readFile(here('./index.html'), 'utf8'));
      return true;
    }
    if (method === 'GET' && url.pathname === '/console/styles.css') {
      send(response, 200, 'text/css; charset=utf-8', await readFile(here('./styles.css'), 'utf8'));
      return true;
    }
    if (method === 'GET' && url.pathname === '/console/app.js') {
      script ??= bundleScript();
      send(response, 200, 'text/javascript; charset=utf-8', await script);
      return true;
    }
    if (method === 'GET' && url.pathname === '/local/identities') {
      send(response, 200, 'application/json', identities);
      return true;
    }
    if (method === 'POST' && url.pathname === '/local/demo') {
      const requestIds = await runDemo({
        endpoint: options.demo.endpoint(),
        busName: options.demo.busName,
        agent: options.demo.agent,
      });
      send(response, 202, 'application/json', JSON.stringify({ requestIds }));
      return true;
    }
    return false;
  };
}
