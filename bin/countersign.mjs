#!/usr/bin/env node
// Entry of the `countersign` CLI. The project is TypeScript run through tsx, so the CLI works
// straight from a clone (`npx countersign …`) with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../local/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
