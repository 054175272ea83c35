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
    },
    60_000,
  );
});
