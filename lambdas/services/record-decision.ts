/**
 * The workflow's record step: stores how the request ended. The store is the single source of
 * truth: when a decision is already stored (a vote decided first), that earlier decision wins and
 * is returned, whatever the workflow brought.
 */
import { tally } from '../domain/approval.ts';
import { ConflictError, NotFoundError } from '../domain/errors.ts';
import {
  AuditKind,
  Decision,
  type DecisionValue,
  PolicyOutcome,
  type RequestRecord,
  RequestStatus,
} from '../domain/schemas.ts';
import type { Clock, RequestStore } from '../ports/index.ts';
import { recordFact, SYSTEM_ACTOR } from './audit-trail.ts';

export interface RecordDecisionDeps {
  readonly store: RequestStore;
  readonly clock: Clock;
}

export interface RecordDecisionInput {
  readonly requestId: string;
  readonly outcome: { readonly decision: DecisionValue; readonly reason?: string };
}

export interface RecordDecisionResult {
  /** This call stored the decision; false when an earlier one was already stored. */
  readonly applied: boolean;
  readonly record: RequestRecord;
}

/**
 * An approval is only recorded when the facts back it: votes reaching the quorum for APPROVED, a
 * policy ALLOW for AUTO_APPROVED. Anything else is refused, so the workflow's failure path denies.
 */
function assertBacked(record: RequestRecord, decision: DecisionValue): void {
  if (decision === Decision.approved && tally(record).outcome !== Decision.approved) {
    throw new ConflictError('NOT_APPROVED_BY_VOTES', `request ${record.requestId} has no approving quorum`);
  }
  if (decision === Decision.autoApproved && record.policy.decision !== PolicyOutcome.allow) {
    throw new ConflictError('NOT_ALLOWED_BY_POLICY', `policy did not allow request ${record.requestId}`);
  }
}

function defaultReason(record: RequestRecord, decision: DecisionValue): string | undefined {
  if (decision === Decision.policyDenied || decision === Decision.autoApproved) return record.policy.reason;
  if (decision === Decision.expired) return 'no decision was reached before the request expired';
  return undefined;
}

export async function recordDecision(
  deps: RecordDecisionDeps,
  input: RecordDecisionInput,
): Promise<RecordDecisionResult> {
  const { requestId, outcome } = input;
  const record = await deps.store.get(requestId);
  if (record === undefined) throw new NotFoundError(`request ${requestId} does not exist`);

  let result: RecordDecisionResult;
  if (record.status === RequestStatus.pending) {
    assertBacked(record, outcome.decision);
    const reason = outcome.reason ?? defaultReason(record, outcome.decision);
    result = await deps.store.decide(requestId, {
      decision: outcome.decision,
      approvers: outcome.decision === Decision.approved ? tally(record).approvers : [],
      ...(reason === undefined ? {} : { reason }),
      at: deps.clock.now(),
    });
  } else {
    result = { applied: false, record };
  }
  // The workflow has moved past its wait once it records: nothing is left to resume.
  await deps.store.markResumed(requestId, deps.clock.now());
  await recordFact(deps, {
    requestId,
    kind: AuditKind.decided,
    actor: SYSTEM_ACTOR,
    data: {
      decision: result.record.decision,
      approvers: result.record.approvers,
      reason: result.record.reason,
    },
  });
  return result;
}
