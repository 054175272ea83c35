/**
 * Every handler the stack has (with every optional part on) bundled as HandlerFunction bundles it
 * (lib/handler-bundle.ts), in-process: none may grow past its ceiling (its size when last brought
 * down, plus ~3 KB). Sizes, not timings; the bench (`npm run bench -- bundles`) prints each bundle's
 * size, its largest inputs and its cold start.
 */
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { HANDLER_BUNDLE_CEILINGS_KB, handlerBuildOptions } from '../../lib/handler-bundle.ts';
import { REPO_ROOT } from '../../lib/handler-function.ts';
import { buildCountersignStack, TEST_FULL_CONTEXT } from './build-stack.ts';
import { handlersOf } from './handlers-of.ts';

const handlers = handlersOf(buildCountersignStack(TEST_FULL_CONTEXT).stack);

/**
 * The modules in a handler's bundle it may import() on demand (the check below): the event-stream
 * stand-in, which reaches nothing of the SDK; and in classification jobs alone, what its Macie
 * client's cross-account role (lambdas/adapters/macie-client.ts, `fromTemporaryCredentials`) loads
 * so: STS and the credential providers.
 */
const LAZY_IMPORTS_ALLOWED = ['lambdas/adapters/no-event-streams.ts'];
const LAZY_IMPORTS_OF: Readonly<Record<string, readonly string[]>> = {
  'lambdas/handlers/classification-jobs.ts': [
    'lambdas/adapters/lambda-credentials.ts',
    'node_modules/@aws-sdk/core/dist-es/submodules/client/index.js',
    'node_modules/@aws-sdk/credential-provider-env/dist-es/index.js',
    'node_modules/@aws-sdk/credential-providers/dist-es/loadSts.js',
    'node_modules/@aws-sdk/nested-clients/dist-es/submodules/sts/index.js',
  ],
};

describe('handler bundles', () => {
  it('finds every handler of the stack, each with its ceiling and no ceiling without a handler', () => {
    expect(handlers.length).toBeGreaterThanOrEqual(10);
    expect(Object.keys(HANDLER_BUNDLE_CEILINGS_KB).sort()).toEqual(handlers.map(({ entry }) => entry).sort());
  });

  it.each(handlers)(
    '$entry stays within its budget',
    async ({ entry, externalModules }) => {
      const result = await build(handlerBuildOptions(REPO_ROOT, entry, externalModules));
      const bytes = result.outputFiles?.[0]?.contents.byteLength ?? 0;
      const budget = HANDLER_BUNDLE_CEILINGS_KB[entry];
      expect(budget, `${entry} has no ceiling in lib/handler-bundle.ts`).toBeDefined();
      expect(bytes).toBeGreaterThan(10 * 1024);
      expect(bytes / 1024, `${entry}: ${Math.round(bytes / 1024)} KB`).toBeLessThanOrEqual(budget ?? 0);
      // The SDK's credential chain is the environment link alone (lambdas/adapters/lambda-credentials.ts).
      const output = Object.values(result.metafile?.outputs ?? {})[0];
      const bundled = Object.entries(output?.inputs ?? {}).filter(
        ([, { bytesInOutput }]) => bytesInOutput > 0,
      );
      expect(bundled.map(([path]) => path).join('\n')).not.toMatch(/credential-provider-(sso|ini|process)/);
      // Nor the SDK's event-stream codec (lambdas/adapters/no-event-streams.ts).
      expect(bundled.map(([path]) => path).join('\n')).not.toMatch(/submodules\/event-streams\//);
      // A dynamic import() of a module in the bundle makes esbuild wrap it, and every module it reaches,
      // in closures parsed twice at start, even where the importer itself is shaken out (the SDK's
      // core, ~270 modules, was, through the Macie client's STS); only the event-stream stand-in,
      // which reaches nothing of the SDK, and STS where the Macie client needs it.
      const inOutput = output?.inputs ?? {};
      const dynamicallyImported = Object.values(result.metafile?.inputs ?? {}).flatMap(({ imports }) =>
        imports
          .filter(({ kind, path }) => kind === 'dynamic-import' && path in inOutput)
          .map(({ path }) => path),
      );
      const allowed = [...LAZY_IMPORTS_ALLOWED, ...(LAZY_IMPORTS_OF[entry] ?? [])];
      expect(dynamicallyImported.filter((path) => !allowed.includes(path))).toEqual([]);
    },
    60_000,
  );
});
