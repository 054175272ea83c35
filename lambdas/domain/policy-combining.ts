/**
 * The strictest determining policy wins. Given the policies that determined an engine's answer:
 *  - any `forbid`                                → DENY
 *  - any `permit` with an approval requirement   → REQUIRE_APPROVAL, combined over all of them:
 *    groups = union (in policy order), quorum = max, timeout = min, stepUp = any, and break-glass
 *    allowed only when every one of them allows it
 *  - only `permit`s without one                  → ALLOW
 *  - nothing applies                             → REQUIRE_APPROVAL from the default group, quorum 1
 * and how long an ALLOW or REQUIRE_APPROVAL decision may be acted on: the shortest
 * `@approvalValidFor` of the determining permits (the default when none sets one), and whether
 * Countersign runs it: when any determining permit says `@executor("countersign")`.
 */
import { describeDuration } from './iso-duration.ts';
import type { ApprovalRequirement, PolicyDefaults, PolicyRule } from './policy-annotations.ts';
import { denyDecision } from './policy-decision.ts';
import { type PolicyDecision, PolicyOutcome } from './schemas.ts';

function ids(policies: readonly PolicyRule[]): string[] {
  return policies.map((policy) => policy.id);
}

function name(policies: readonly PolicyRule[]): string {
  const quoted = policies.map((policy) => `"${policy.id}"`).join(', ');
  return policies.length === 1 ? `policy ${quoted}` : `policies ${quoted}`;
}

function reasons(policies: readonly PolicyRule[]): string {
  const given = policies.flatMap((policy) => (policy.reason === undefined ? [] : [policy.reason]));
  return given.length > 0 ? ` (${given.join('; ')})` : '';
}

function describeRequirement(requirement: ApprovalRequirement): string {
  const approvals = requirement.quorum === 1 ? '1 approval' : `${requirement.quorum} approvals`;
  const stepUp = requirement.stepUp ? ', confirmed with a step-up check' : '';
  return `Needs ${approvals} from ${requirement.groups.join(' or ')} within ${describeDuration(requirement.timeoutSeconds)}${stepUp}.`;
}

function approvalDecision(
  requirement: ApprovalRequirement,
  policyIds: string[],
  reason: string,
): PolicyDecision {
  return {
    decision: PolicyOutcome.requireApproval,
    groups: [...requirement.groups],
    quorum: requirement.quorum,
    timeoutSeconds: requirement.timeoutSeconds,
    stepUp: requirement.stepUp,
    policyIds,
    reason,
  };
}

function allow(policies: readonly PolicyRule[]): PolicyDecision {
  return {
    decision: PolicyOutcome.allow,
    groups: [],
    quorum: 0,
    timeoutSeconds: 0,
    stepUp: false,
    policyIds: ids(policies),
    reason: `Allowed by ${name(policies)}${reasons(policies)}.`,
  };
}

/** Several approval policies combine to the strictest of each: more approvers, less time, step-up if any asks. */
function requireApproval(policies: readonly PolicyRule[]): PolicyDecision {
  const requirements = policies.map((policy) => policy.requirement!);
  const requirement: ApprovalRequirement = {
    groups: [...new Set(requirements.flatMap((each) => each.groups))],
    quorum: Math.max(...requirements.map((each) => each.quorum)),
    timeoutSeconds: Math.min(...requirements.map((each) => each.timeoutSeconds)),
    stepUp: requirements.some((each) => each.stepUp),
  };
  const decision = approvalDecision(
    requirement,
    ids(policies),
    `Approval required by ${name(policies)}${reasons(policies)}. ${describeRequirement(requirement)}`,
  );
  // Strictest wins here too: one approval policy without the door keeps it shut.
  return policies.every((policy) => policy.breakGlass === true)
    ? { ...decision, breakGlassAllowed: true }
    : decision;
}

function byDefault(defaults: PolicyDefaults, about: DecisionSubject): PolicyDecision {
  const requirement = {
    groups: [defaults.approverGroup],
    quorum: 1,
    timeoutSeconds: defaults.timeoutSeconds,
    stepUp: false,
  };
  return approvalDecision(
    requirement,
    [],
    `No policy applies to ${about.action} on ${about.resourceArn}, so it needs the default approval. ${describeRequirement(requirement)}`,
  );
}

/** What the decision is about, for the reason of the default. */
export interface DecisionSubject {
  readonly action: string;
  readonly resourceArn: string;
}

/**
 * The decision of the policies that determined the engine's answer (`permit` when some permit
 * applied and no forbid did; `deny` otherwise), listed in policy-set order.
 */
export function combineDecision(
  answer: 'permit' | 'deny',
  determining: readonly PolicyRule[],
  defaults: PolicyDefaults,
  about: DecisionSubject,
): PolicyDecision {
  if (answer === 'deny') {
    return determining.length > 0
      ? denyDecision(ids(determining), `Denied by ${name(determining)}${reasons(determining)}.`)
      : byDefault(defaults, about);
  }
  const approvals = determining.filter((policy) => policy.requirement !== undefined);
  const decided = approvals.length > 0 ? requireApproval(approvals) : allow(determining);
  const executor = determining.find((policy) => policy.executor !== undefined)?.executor;
  return { ...decided, ...approvalValidity(determining), ...(executor === undefined ? {} : { executor }) };
}

/** The shortest validity the determining permits set, if any sets one: the strictest wins. */
function approvalValidity(policies: readonly PolicyRule[]): { approvalValidForSeconds?: number } {
  const given = policies.flatMap((policy) =>
    policy.approvalValidForSeconds === undefined ? [] : [policy.approvalValidForSeconds],
  );
  return given.length === 0 ? {} : { approvalValidForSeconds: Math.min(...given) };
}
