/**
 * The policy engine as every function that evaluates requests builds it at cold start (Evaluate
 * and the fast decision path): the Cedar policies read from POLICY_DIR and compiled once, the
 * defaults from the environment. A broken policy set is logged at start; the engine, failing
 * closed, then denies everything.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { type CheckedPolicyEngine, createPolicyEngine } from '../adapters/cedar/cedar-policy-engine.ts';
import { loadPolicyFiles } from '../adapters/policy-files.ts';
import type { Environment } from './environment.ts';

export async function createPolicyWiring(
  env: Environment<'policyDir' | 'defaultApproverGroup' | 'defaultTimeoutSeconds'>,
  logger: Pick<Logger, 'error'>,
): Promise<CheckedPolicyEngine> {
  const policy = createPolicyEngine({
    ...(await loadPolicyFiles(env.policyDir)),
    defaults: { approverGroup: env.defaultApproverGroup, timeoutSeconds: env.defaultTimeoutSeconds },
  });
  if (policy.problems.length > 0) {
    logger.error('the policy set is unusable: every request will be denied', { problems: policy.problems });
  }
  return policy;
}
