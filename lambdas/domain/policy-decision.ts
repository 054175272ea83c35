/**
 * Building blocks of a PolicyDecision that need no policy engine: the services deny with them
 * without loading Cedar (only the evaluate function ships the engine's WebAssembly).
 */
import { type PolicyDecision, PolicyOutcome } from './schemas.ts';

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
