/**
 * The policy engine as every function that evaluates requests builds it at cold start (Evaluate,
 * the fast decision path, the CloudTrail reconciler): the Cedar policies read from POLICY_DIR and
 * compiled once, the defaults from the environment. A broken policy set is logged at start; the
 * engine, failing closed, then denies everything. Cedar's wasm compiles in the background from the
 * moment this module is imported (cedar-wasm.ts): a handler starts the wiring, builds its clients
 * meanwhile and awaits the wiring last; a wasm that cannot be loaded fails the init.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { type CheckedPolicyEngine, createPolicyEngine } from '../adapters/cedar/cedar-policy-engine.ts';
import { loadCedar } from '../adapters/cedar/cedar-wasm.ts';
import { loadPolicyFiles } from '../adapters/policy-files.ts';
import type { Environment } from './environment.ts';

export async function createPolicyWiring(
  env: Environment<'policyDir' | 'defaultApproverGroup' | 'defaultTimeoutSeconds'>,
  logger: Pick<Logger, 'error'>,
  problemsMessage = 'the policy set is unusable: every request will be denied',
): Promise<CheckedPolicyEngine> {
  const [files] = await Promise.all([loadPolicyFiles(env.policyDir), loadCedar()]);
  const policy = createPolicyEngine({
    ...files,
    defaults: { approverGroup: env.defaultApproverGroup, timeoutSeconds: env.defaultTimeoutSeconds },
  });
  if (policy.problems.length > 0) {
    logger.error(problemsMessage, { problems: policy.problems });
  }
  return policy;
}
