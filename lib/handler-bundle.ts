/**
 * How every handler is bundled: one definition that HandlerFunction hands to the CDK's esbuild
 * bundling and that the bundle-budget test and the bench hand to esbuild itself, so what they
 * measure is what Lambda loads.
 */
import type { BuildOptions } from 'esbuild';

/** Each handler's bundle, minified, the Cedar wasm (an external module) aside (issue 15). */
export const HANDLER_BUNDLE_BUDGET_KB = 500;

/**
 * Every handler's ceiling, by entry: its size when last brought down plus ~3 KB, so that a bundle
 * that grows fails test/infra/handler-bundles.test.ts and whoever grows it decides (and says here)
 * whether it is worth it. What every bundle carries: the SDK's client core (`@smithy/core` ~100 KB;
 * its event-stream codec is replaced: HANDLER_ALIASES), zod's
 * core with its `zod/mini` API and English messages (~40 KB; the REST API's OpenAPI document adds
 * `z.toJSONSchema`, ~20 KB), each SDK client's schemas and error classes (all of them: their schema
 * objects have computed keys, which esbuild cannot prove pure, so nothing of them is shaken),
 * Powertools' logger and metrics (~30 KB).
 */
export const HANDLER_BUNDLE_CEILINGS_KB: Readonly<Record<string, number>> = {
  // Stores and answers; its follow-up publishes: no EventBridge client since the outbox (471 KB before).
  'lambdas/handlers/agent-decisions.ts': 420,
  // The fast path's follow-up: DynamoDB and EventBridge, no Cedar, KMS or Step Functions.
  'lambdas/handlers/announce-fast-decisions.ts': 330,
  'lambdas/handlers/api.ts': 461,
  'lambdas/handlers/archive-audit-records.ts': 453,
  'lambdas/handlers/classification-findings.ts': 273,
  'lambdas/handlers/classification-jobs.ts': 395,
  'lambdas/handlers/evaluate.ts': 359,
  // The executor function, the one that runs approved actions: the S3 client (~100 KB, with S3's
  // checksums and XML protocol) beside DynamoDB for the claim; STS's AssumeRole and IAM's
  // AttachRolePolicy are Query calls signed with the SDK's signer (adapters/aws-query.ts), not their
  // clients (517 KB with them, 472.5 KB without).
  'lambdas/handlers/execute-action.ts': 451,
  // The workflow's Finish step: DynamoDB, KMS and EventBridge to record, sign and publish; it invokes
  // the executor function (a signed Lambda Invoke) rather than carrying its clients (768 KB before),
  // and keeps no Powertools idempotency records (~413 KB with them).
  'lambdas/handlers/finish.ts': 377,
  'lambdas/handlers/public-keys.ts': 291,
  'lambdas/handlers/reconcile-privileged-calls.ts': 386,
  'lambdas/handlers/request-approval.ts': 375,
  'lambdas/handlers/send-reminders.ts': 389,
  'lambdas/handlers/slack-interactions.ts': 408,
  'lambdas/handlers/teams-messages.ts': 417,
  // The S3 client (~100 KB) and the KMS signer: the largest.
  'lambdas/handlers/write-audit-digest.ts': 475,
};

/** The Lambda runtime the handlers run on (Node.js 24); esbuild compiles for it. */
export const HANDLER_TARGET = 'node24';

/** ESM bundles still meet CommonJS dependencies that call `require`; give them one. */
export const CREATE_REQUIRE_BANNER =
  "import { createRequire as __countersignCreateRequire } from 'node:module'; const require = __countersignCreateRequire(import.meta.url);";

/** Prefer packages' ES module builds: esbuild can drop what a handler does not use from those. */
export const HANDLER_MAIN_FIELDS = ['module', 'main'] as const;

/**
 * Modules replaced in every bundle, by repo-relative path: the AWS SDK's default credential chain
 * becomes the environment link alone, the only one Lambda (and the twin's sandbox) ever answers
 * (lambdas/adapters/lambda-credentials.ts says why); the SDK's event-stream codec, which no handler
 * uses, one that refuses (lambdas/adapters/no-event-streams.ts says what it cost at every start).
 */
export const HANDLER_ALIASES: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': './lambdas/adapters/lambda-credentials.ts',
  '@smithy/core/event-streams': './lambdas/adapters/no-event-streams.ts',
};

/**
 * The esbuild options HandlerFunction's bundling amounts to, for building a handler in-process
 * (`absWorkingDir` is the repository root: aliases and entries are relative to it). Source maps are
 * left out: they are separate files Lambda never loads (HandlerFunction).
 */
export function handlerBuildOptions(
  repoRoot: string,
  entry: string,
  externalModules: readonly string[] = [],
): BuildOptions {
  return {
    absWorkingDir: repoRoot,
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: HANDLER_TARGET,
    format: 'esm',
    mainFields: [...HANDLER_MAIN_FIELDS],
    banner: { js: CREATE_REQUIRE_BANNER },
    minify: true,
    alias: { ...HANDLER_ALIASES },
    external: [...externalModules],
    outfile: 'index.mjs',
    write: false,
    metafile: true,
    logLevel: 'silent',
  };
}
