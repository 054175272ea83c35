/**
 * The PolicyEngine on Cedar: Cedar decides which policies apply (its `diagnostics.reason`), the
 * domain's rule makes the decision of them (strictest wins, lambdas/domain/policy-combining.ts).
 * Anything that goes wrong — a policy set that does not parse or validate, a request that does not
 * fit the schema, an evaluation error in any policy — is a DENY that says why. Never ALLOW by accident.
 * Each request is asked as the lean call (lean-call.ts) when the schema check covers it, else as
 * the validated call; decisions are never cached.
 */
import * as cedar from '@cedar-policy/cedar-wasm/web';
import type { PolicyDefaults } from '../../domain/policy-annotations.ts';
import { combineDecision } from '../../domain/policy-combining.ts';
import { denyDecision } from '../../domain/policy-decision.ts';
import type { PolicyDecision } from '../../domain/schemas.ts';
import type { PolicyEngine, PolicyRequest } from '../../ports/index.ts';
import { requestParts, validatedCall } from './authorization-call.ts';
import { leanCall } from './lean-call.ts';
import { type PolicySetOptions, type PreparedPolicySet, preparePolicySet } from './policy-set.ts';

export interface CheckedPolicyEngine extends PolicyEngine {
  /** Why the policy set cannot be used; empty when it is valid. Non-empty means every request is denied. */
  readonly problems: readonly string[];
}

function evaluate(
  prepared: PreparedPolicySet,
  defaults: PolicyDefaults,
  request: PolicyRequest,
): PolicyDecision {
  const parts = requestParts(prepared, request);
  if (typeof parts === 'string') {
    return denyDecision([], `The request cannot be evaluated, so it is denied: ${parts}.`);
  }
  let call = leanCall(prepared.lean, request, parts);
  if (call === undefined) {
    prepared.preparse();
    call = validatedCall(prepared, parts);
  }
  const answer = cedar.statefulIsAuthorized(call);
  if (answer.type === 'failure') {
    const messages = answer.errors.map((error) => error.message).join('; ');
    return denyDecision([], `The request does not match the policy schema, so it is denied: ${messages}`);
  }
  const { decision, diagnostics } = answer.response;
  if (diagnostics.errors.length > 0) {
    const failures = diagnostics.errors.map(
      (failure) => `policy "${failure.policyId}": ${failure.error.message}`,
    );
    return denyDecision(
      [...new Set(diagnostics.errors.map((failure) => failure.policyId))],
      `A policy failed to evaluate, so the request is denied (a failing policy could have been a forbid): ${failures.join('; ')}`,
    );
  }
  // In policy-set order (files by name, then position), so ids and reasons read the same every time.
  const determiningIds = new Set(diagnostics.reason);
  const determining = [...prepared.rules.values()].filter((rule) => determiningIds.has(rule.id));
  return combineDecision(decision === 'allow' ? 'permit' : 'deny', determining, defaults, {
    action: request.action,
    resourceArn: request.resource.arn,
  });
}

export function createPolicyEngine(options: PolicySetOptions): CheckedPolicyEngine {
  const { prepared, problems } = preparePolicySet(options);
  return {
    problems,
    actionGroups: (action) => prepared?.actionGroups.get(action) ?? [],
    evaluate: (request) => {
      if (prepared === undefined) {
        return denyDecision(
          [],
          `The policy set is invalid, so every request is denied: ${problems.join('; ')}`,
        );
      }
      try {
        return evaluate(prepared, options.defaults, request);
      } catch (error) {
        return denyDecision([], `Policy evaluation failed, so the request is denied: ${String(error)}`);
      }
    },
  };
}
