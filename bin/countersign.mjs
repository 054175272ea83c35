#!/usr/bin/env node
// Entry of the `countersign` CLI. The project is TypeScript run through tsx, so the CLI works
// straight from a clone (`npx countersign …`) with no build step.
import { register } from 'tsx/esm/api';

// The AWS SDK prints a multi-line notice about its future Node 22 floor before a command's output on
// Node 20, which this CLI supports; whoever wants the notice sets the variable to anything else.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

register();
const { main } = await import('../local/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
