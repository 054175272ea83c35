/**
 * How every handler is bundled: one definition that HandlerFunction hands to the CDK's esbuild
 * bundling and that the bundle-budget test and the bench hand to esbuild itself, so what they
 * measure is what Lambda loads.
 */
import type { BuildOptions } from 'esbuild';

/** Each handler's bundle, minified, the Cedar wasm (an external module) aside (issue 15). */
export const HANDLER_BUNDLE_BUDGET_KB = 500;

/**
 * Handlers not yet within HANDLER_BUNDLE_BUDGET_KB, by entry: the ceiling each may not grow past
 * until it is brought down (the bench shows them against 500 KB). What keeps them over is used:
 * zod's classic API (~100 KB in every handler; `zod/mini` would be ~20), `@slack/web-api` with its
 * queue and retry packages (~60 KB; CommonJS, nothing shaken) and, for Slack's interactions, the
 * Lambda client (~70 KB of its schemas and errors) that defers a vote past Slack's 3 s.
 */
export const OVER_BUDGET_CEILINGS_KB: Readonly<Record<string, number>> = {
  // The fast decision path: the policy engine's adapters and the workflow's clients (SFN, KMS, events),
  // and the audit record schemas every writer of the trail validates against.
  // And reading the policy set prepared at build time (its schema and digest, ~2 KB).
  'lambdas/handlers/agent-decisions.ts': 531,
  'lambdas/handlers/api.ts': 590,
  // The archiver: the S3 client (~100 KB) and the archive's line and object formats.
  'lambdas/handlers/archive-audit-records.ts': 540,
  // The workflow's Finish step: the executor's S3 (~100 KB), IAM and STS clients, for the actions it
  // runs, beside KMS and EventBridge, which sign and publish the decision. The executor is imported
  // when an action first runs (most requests run none), which esbuild bundles less tightly (827 KB,
  // 698 KB with a static import) but evaluates only then.
  'lambdas/handlers/finish.ts': 830,
  'lambdas/handlers/request-approval.ts': 522,
  // CloudTrail reconciliation (issue 12): the event and privileged-call schemas, the after-the-fact
  // review's Slack and Teams alerts, and the policy engine's adapters to find a call's reviewers.
  // The REST API, the chat handlers and the reminder run carry the review's schemas and messages too.
  // Reading the policy set prepared at build time adds ~2 KB, as in the fast decision path.
  'lambdas/handlers/reconcile-privileged-calls.ts': 531,
  // The reminder run settles stored votes too (reliability): the SFN client to resume workflows.
  'lambdas/handlers/send-reminders.ts': 536,
  'lambdas/handlers/slack-interactions.ts': 640,
  'lambdas/handlers/teams-messages.ts': 564,
  // The digester: the S3 client (~100 KB) and the KMS signer.
  'lambdas/handlers/write-audit-digest.ts': 560,
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
 * (lambdas/adapters/lambda-credentials.ts says why).
 */
export const HANDLER_ALIASES: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': './lambdas/adapters/lambda-credentials.ts',
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
