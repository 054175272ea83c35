/**
 * Build step, not a Lambda handler: `node --import tsx lambdas/handlers/prepare-policies.ts <dir>`
 * writes the prepared form of the policy directory `<dir>` into it (lambdas/adapters/policy-files.ts),
 * so a function's cold start does not parse and validate the policies. HandlerFunction runs it on
 * the copy of the policies in each bundle that evaluates them; policies that cannot be used fail
 * the build (exit code 1, every problem named) instead of denying every request once deployed.
 */
import { writePreparedPolicyFile } from '../adapters/policy-files.ts';

const [dir, ...rest] = process.argv.slice(2);
if (dir === undefined || rest.length > 0) {
  console.error('usage: prepare-policies <policy directory>');
  process.exitCode = 2;
} else {
  try {
    await writePreparedPolicyFile(dir);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  }
}
