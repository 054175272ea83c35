/**
 * Building blocks of a PolicyDecision that need no policy engine: the services deny with them
 * without loading Cedar (only the evaluate function ships the engine's WebAssembly).
 */
import { type AgentRequestDetail, type PolicyDecision, PolicyOutcome } from './schemas.ts';

/** A DENY decision: nothing to wait for, nobody to ask. */
export function denyDecision(policyIds: string[], reason: string): PolicyDecision {
  return {
    decision: PolicyOutcome.deny,
    groups: [],
    quorum: 0,
    timeoutSeconds: 0,
    stepUp: false,
    policyIds,
    reason,
  };
}

/**
 * What a break-glass request gets: BREAK_GLASS when the policies would ask for approval and every
 * approval policy that applies allows break-glass (the approvers review afterwards); the policies'
 * own DENY when they deny; otherwise a DENY saying break-glass is not permitted, even where the
 * policies would allow (an agent that claims an emergency where none is foreseen is refused), and
 * where Countersign executes the action (an agent that acted at once would run it itself).
 * A request without break-glass keeps its decision.
 */
export function withBreakGlass(
  request: Pick<AgentRequestDetail, 'action' | 'resource' | 'breakGlass'>,
  policy: PolicyDecision,
): PolicyDecision {
  if (request.breakGlass === undefined || policy.decision === PolicyOutcome.deny) return policy;
  if (policy.executor !== undefined) {
    // Break-glass lets the agent act itself at once; what Countersign executes runs only once approved.
    return denyDecision(
      policy.policyIds,
      `break-glass is not permitted for ${request.action} on ${request.resource.arn}: Countersign executes it (@executor("countersign")) once approved, the agent never does`,
    );
  }
  if (policy.decision === PolicyOutcome.requireApproval && policy.breakGlassAllowed === true) {
    return {
      ...policy,
      decision: PolicyOutcome.breakGlass,
      reason: `Break-glass: allowed to run at once and reviewed afterwards by ${policy.groups.join(' or ')}. ${policy.reason}`,
    };
  }
  return denyDecision(
    policy.policyIds,
    `break-glass is not permitted for ${request.action} on ${request.resource.arn}: no policy that applies allows it (@breakGlass("true") on the approval policies)`,
  );
}
