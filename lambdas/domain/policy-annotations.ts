/**
 * What a policy's annotations mean, whatever engine evaluates it. `@id` names the policy,
 * `@reason` says why; on a `permit`, `@approval("group,…")`, `@quorum("2")`, `@timeout("PT1H")` and
 * `@stepUp("true")` make it an approval requirement, each missing one taking its default;
 * `@approvalValidFor("PT15M")` on any permit says how long its decision may be acted on (the signed
 * receipt's expiry); `@breakGlass("true")` on an approval permit lets an agent in an emergency act
 * at once and be reviewed afterwards by the approvers; `@executor("countersign")` on a permit says
 * Countersign runs the action itself once approved (and permits a request that asks for it). Any
 * other annotation is a problem: a typo must not weaken a policy.
 */
import { describeDuration, parseIsoDuration } from './iso-duration.ts';
import { EXECUTOR } from './schemas.ts';

export interface PolicyDefaults {
  /** Who approves when no policy applies. */
  readonly approverGroup: string;
  /** How long they have, and the timeout of an approval policy that sets none. */
  readonly timeoutSeconds: number;
}

/** The annotations Countersign reads. */
export const PolicyAnnotation = {
  id: 'id',
  reason: 'reason',
  approval: 'approval',
  quorum: 'quorum',
  timeout: 'timeout',
  stepUp: 'stepUp',
  /** On a permit: how long the decision may be acted on (the receipt's expiry); shortest wins. */
  approvalValidFor: 'approvalValidFor',
  /** On an approval permit: a break-glass request may run at once, reviewed by the approvers afterwards. */
  breakGlass: 'breakGlass',
  /** On a permit: `countersign` runs the approved action itself (a built-in executor). */
  executor: 'executor',
} as const;
const APPROVAL_ANNOTATIONS = [
  PolicyAnnotation.approval,
  PolicyAnnotation.quorum,
  PolicyAnnotation.timeout,
  PolicyAnnotation.stepUp,
] as const;
const KNOWN_ANNOTATIONS: ReadonlySet<string> = new Set(Object.values(PolicyAnnotation));

/** A Step Functions execution, and so a wait for reviewers, lasts at most one year. */
export const MAX_TIMEOUT_SECONDS = 365 * 86_400;
const MAX_QUORUM = 100;
const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$/;
const QUORUM = /^[1-9][0-9]*$/;

export interface ApprovalRequirement {
  readonly groups: readonly string[];
  readonly quorum: number;
  readonly timeoutSeconds: number;
  readonly stepUp: boolean;
}

/** A policy as its annotations and effect describe it. */
export interface PolicyRule {
  readonly id: string;
  readonly effect: 'permit' | 'forbid';
  readonly reason?: string;
  /** Present on a permit that needs approval. */
  readonly requirement?: ApprovalRequirement;
  /** `@approvalValidFor`, in seconds. */
  readonly approvalValidForSeconds?: number;
  /** `@breakGlass("true")`: only ever on a permit that requires approval. */
  readonly breakGlass?: true;
  /** `@executor`: who runs the approved action instead of the agent. */
  readonly executor?: typeof EXECUTOR;
}

export function isTimeout(seconds: number): boolean {
  return Number.isInteger(seconds) && seconds >= 1 && seconds <= MAX_TIMEOUT_SECONDS;
}

export function checkDefaults(defaults: PolicyDefaults): string[] {
  const problems: string[] = [];
  if (!GROUP_NAME.test(defaults.approverGroup)) {
    problems.push(`defaults: approver group "${defaults.approverGroup}" is not a group name`);
  }
  if (!isTimeout(defaults.timeoutSeconds)) {
    problems.push(
      `defaults: timeout ${defaults.timeoutSeconds} must be whole seconds from 1 to ${MAX_TIMEOUT_SECONDS}`,
    );
  }
  return problems;
}

/** Reads the approval annotations of a permit; a missing one takes its default, a malformed one complains. */
function readRequirement(
  annotations: ReadonlyMap<string, string>,
  defaults: PolicyDefaults,
  complain: (problem: string) => void,
): ApprovalRequirement {
  const approval = annotations.get(PolicyAnnotation.approval);
  const groups =
    approval === undefined ? [defaults.approverGroup] : approval.split(',').map((group) => group.trim());
  if (!groups.every((group) => GROUP_NAME.test(group))) {
    complain(`@approval("${approval}") must be comma-separated group names`);
  }
  const quorumText = annotations.get(PolicyAnnotation.quorum) ?? '1';
  const quorum = Number(quorumText);
  if (!QUORUM.test(quorumText) || quorum > MAX_QUORUM) {
    complain(`@quorum("${quorumText}") must be a whole number from 1 to ${MAX_QUORUM}`);
  }
  const timeoutText = annotations.get(PolicyAnnotation.timeout);
  const timeoutSeconds = timeoutText === undefined ? defaults.timeoutSeconds : parseIsoDuration(timeoutText);
  if (timeoutSeconds === undefined || !isTimeout(timeoutSeconds)) {
    complain(
      `@timeout("${timeoutText}") must be an ISO 8601 duration such as PT30M, PT1H or P1D, at most ${describeDuration(MAX_TIMEOUT_SECONDS)}`,
    );
  }
  const stepUp = annotations.get(PolicyAnnotation.stepUp) ?? 'false';
  if (stepUp !== 'true' && stepUp !== 'false') {
    complain(`@stepUp("${stepUp}") must be "true" or "false"`);
  }
  return { groups, quorum, timeoutSeconds: timeoutSeconds ?? 0, stepUp: stepUp === 'true' };
}

function readApprovalValidFor(
  annotations: ReadonlyMap<string, string>,
  effect: PolicyRule['effect'],
  complain: (problem: string) => void,
): number | undefined {
  const text = annotations.get(PolicyAnnotation.approvalValidFor);
  if (text === undefined) return undefined;
  if (effect === 'forbid') {
    complain('@approvalValidFor belongs on a permit: a denial is never acted on');
    return undefined;
  }
  const seconds = parseIsoDuration(text);
  if (seconds === undefined || !isTimeout(seconds)) {
    complain(
      `@approvalValidFor("${text}") must be an ISO 8601 duration such as PT15M or PT1H, at most ${describeDuration(MAX_TIMEOUT_SECONDS)}`,
    );
    return undefined;
  }
  return seconds;
}

function readBreakGlass(
  annotations: ReadonlyMap<string, string>,
  requirement: ApprovalRequirement | undefined,
  complain: (problem: string) => void,
): boolean {
  const text = annotations.get(PolicyAnnotation.breakGlass);
  if (text === undefined) return false;
  if (text !== 'true' && text !== 'false') {
    complain(`@breakGlass("${text}") must be "true" or "false"`);
    return false;
  }
  if (requirement === undefined) {
    // A forbid never lets anything run; an allow needs no emergency door.
    complain(
      '@breakGlass belongs on a permit that requires approval (@approval …): it lets the wait for approvers be skipped, and only they review afterwards',
    );
    return false;
  }
  return text === 'true';
}

function readExecutor(
  annotations: ReadonlyMap<string, string>,
  effect: PolicyRule['effect'],
  complain: (problem: string) => void,
): typeof EXECUTOR | undefined {
  const executor = annotations.get(PolicyAnnotation.executor);
  if (executor === undefined) return undefined;
  if (effect === 'forbid') {
    complain('@executor belongs on a permit: a denied action is never run');
    return undefined;
  }
  if (executor !== EXECUTOR) {
    complain(`@executor("${executor}") must be @executor("${EXECUTOR}"), the only executor`);
    return undefined;
  }
  return EXECUTOR;
}

/**
 * The rule a policy's annotations and effect make, and what is wrong with them (`where` names the
 * policy in problems until its @id is known).
 */
export function readPolicyRule(
  annotations: ReadonlyMap<string, string>,
  effect: PolicyRule['effect'],
  where: string,
  defaults: PolicyDefaults,
): { rule: PolicyRule; problems: string[] } {
  const id = annotations.get(PolicyAnnotation.id) ?? '';
  const problems: string[] = [];
  const complain = (problem: string) => problems.push(`${id === '' ? where : `policy "${id}"`}: ${problem}`);
  if (id === '') {
    complain('every policy needs an @id("…") annotation, its name in decisions');
  }
  for (const name of annotations.keys()) {
    if (!KNOWN_ANNOTATIONS.has(name)) {
      complain(
        `unknown annotation @${name} (known: ${[...KNOWN_ANNOTATIONS].map((known) => `@${known}`).join(', ')})`,
      );
    }
  }
  const requirement = APPROVAL_ANNOTATIONS.some((name) => annotations.has(name))
    ? readRequirement(annotations, defaults, complain)
    : undefined;
  if (effect === 'forbid' && requirement !== undefined) {
    complain('approval annotations (@approval, @quorum, @timeout, @stepUp) belong on a permit, not a forbid');
  }
  const reason = annotations.get(PolicyAnnotation.reason);
  const approvalValidForSeconds = readApprovalValidFor(annotations, effect, complain);
  const breakGlass = readBreakGlass(annotations, effect === 'permit' ? requirement : undefined, complain);
  const executor = readExecutor(annotations, effect, complain);
  return {
    rule: {
      id,
      effect,
      ...(reason === undefined ? {} : { reason }),
      ...(requirement === undefined ? {} : { requirement }),
      ...(approvalValidForSeconds === undefined ? {} : { approvalValidForSeconds }),
      ...(breakGlass ? { breakGlass: true as const } : {}),
      ...(executor === undefined ? {} : { executor }),
    },
    problems,
  };
}

/** Each @id names one policy: a repeated one is a problem, named once. */
export function duplicateIds(rules: readonly PolicyRule[]): string[] {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const { id } of rules) {
    if (id !== '' && seen.has(id)) {
      duplicates.add(id);
    }
    seen.add(id);
  }
  return [...duplicates].map((id) => `policy "${id}": @id is used by more than one policy`);
}
