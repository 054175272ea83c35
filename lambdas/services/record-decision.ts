/**
 * The workflow's record step: stores how the request ended. The store is the single source of
 * truth: when a decision is already stored (a vote decided first), that earlier decision wins and
 * is returned, whatever the workflow brought.
 */

import { countersignExecutes } from '../domain/action-run.ts';
import {
  type DecisionMade,
  decidedRecord,
  decisionByVotes,
  tally,
  terminalStatusFor,
} from '../domain/approval.ts';
import { AuditKind } from '../domain/audit-record.ts';
import { ConflictError, ForeignExecutionError, NotFoundError, ValidationError } from '../domain/errors.ts';
import { denyDecision } from '../domain/policy-decision.ts';
import { reconcilableGrantOf } from '../domain/privileged-calls.ts';
import { receiptClaimsFor } from '../domain/receipt.ts';
import {
  AgentRequestEvent,
  Decision,
  type DecisionValue,
  deliveredRequestIdOf,
  describeIssues,
  PolicyOutcome,
  type RequestRecord,
  RequestStatus,
  UNIDENTIFIED_REASON,
} from '../domain/schemas.ts';
import { settleAll } from '../domain/settle-all.ts';
import type { AuditReservation, Clock, ReceiptSigner, RequestStore, WaitState } from '../ports/index.ts';
import { recordFact, recordFacts } from './audit-trail.ts';
import { decidedFact, signedFact } from './decision-facts.ts';
import { newRequestRecord, recordIntake } from './request-record.ts';

export interface RecordDecisionDeps {
  readonly store: RequestStore;
  readonly clock: Clock;
  /** Signs the receipt of a decision this step makes and publishes next, stored with it. */
  readonly signer: ReceiptSigner;
  /** The privileged actions watched, as CloudTrail names them (PublishDecisionDeps). */
  readonly watchedActions: ReadonlySet<string>;
}

export interface RecordDecisionInput {
  readonly requestId: string;
  readonly outcome: { readonly decision: DecisionValue; readonly reason?: string };
  /**
   * Passed along only when the evaluate step failed: the EventBridge event as the rule delivered
   * it (untrusted), so a request Evaluate never stored can be stored, denied.
   */
  readonly event?: unknown;
  /** The execution recording; a stored request owned by another execution is never decided by it. */
  readonly executionArn: string;
}

export interface RecordDecisionResult {
  /** This call stored the decision; false when an earlier one was already stored. */
  readonly applied: boolean;
  readonly record: RequestRecord;
  /** Where the workflow stood, when the decision's write read it (undefined: not read). */
  readonly waitState?: WaitState;
  /**
   * The numbers of facts to come that this call took, when it decided and nothing runs before the
   * decision is published (countersignExecutes): PUBLISHED's alone when the decision was stored with
   * its receipt and SIGNED is recorded (a decision this step made), SIGNED's and PUBLISHED's
   * otherwise. The publish step records them under these, with no numbering write of its own.
   */
  readonly reserved?: readonly AuditReservation[];
}

/** A decision stored, or found stored, by the record step (before its facts are recorded). */
type StoredDecision = Omit<RecordDecisionResult, 'reserved'>;

/**
 * The request a record step decides: the one it names, or, after a failed evaluation (which may
 * never have named it), the one its event names. An event that names none is refused.
 */
export function requestToRecord(input: { readonly requestId: string } | { readonly event: unknown }): string {
  if ('requestId' in input) return input.requestId;
  const requestId = deliveredRequestIdOf(input.event);
  if (requestId === undefined) {
    throw new ValidationError('the event names no request', [UNIDENTIFIED_REASON]);
  }
  return requestId;
}

/**
 * An approval is only recorded when the facts back it: votes reaching the quorum for APPROVED, a
 * policy ALLOW for AUTO_APPROVED, a policy BREAK_GLASS for BREAK_GLASS. Anything else is refused,
 * so the workflow's failure path denies.
 */
function assertBacked(record: RequestRecord, decision: DecisionValue): void {
  if (decision === Decision.approved && tally(record).outcome !== Decision.approved) {
    throw new ConflictError('NOT_APPROVED_BY_VOTES', `request ${record.requestId} has no approving quorum`);
  }
  if (decision === Decision.autoApproved && record.policy.decision !== PolicyOutcome.allow) {
    throw new ConflictError('NOT_ALLOWED_BY_POLICY', `policy did not allow request ${record.requestId}`);
  }
  if (decision === Decision.breakGlass && record.policy.decision !== PolicyOutcome.breakGlass) {
    throw new ConflictError(
      'BREAK_GLASS_NOT_ALLOWED',
      `policy did not allow break-glass for request ${record.requestId}`,
    );
  }
}

function defaultReason(record: RequestRecord, decision: DecisionValue): string | undefined {
  if (
    decision === Decision.policyDenied ||
    decision === Decision.autoApproved ||
    decision === Decision.breakGlass
  ) {
    return record.policy.reason;
  }
  if (decision === Decision.expired) return 'no decision was reached before the request expired';
  return undefined;
}

/** Why a denial of a request nobody evaluated carries no reason of its own. */
const EVALUATION_FAILED = 'evaluation failed';

/**
 * The evaluate step failed before it stored the request (say the table was unavailable until
 * Lambda's retries ran out): the request is stored now from the event, already DENIED, so the
 * agent still gets a recorded decision and an `Action Decided` event. Only a denial is ever
 * recorded this way. Returns undefined when the event cannot make a request (see below).
 */
async function storeUnevaluatedDenial(
  deps: RecordDecisionDeps,
  input: RecordDecisionInput,
): Promise<{ created: boolean; record: RequestRecord } | undefined> {
  const { requestId, outcome, event, executionArn } = input;
  if (outcome.decision !== Decision.denied || event === undefined) {
    return undefined;
  }
  const parsed = AgentRequestEvent.safeParse(event);
  // An event that does not validate names no agent, action or resource we could store, and
  // nothing should be published for it: the step keeps failing (RecordFailed), and the
  // failed-executions alarm brings a person to look.
  if (!parsed.success) {
    throw new NotFoundError(
      `request ${requestId} does not exist and its event is invalid: ${describeIssues(parsed.error).join('; ')}`,
    );
  }
  const reason = outcome.reason ?? EVALUATION_FAILED;
  const now = deps.clock.now();
  const { agent } = parsed.data.detail;
  const pending = newRequestRecord({
    event: parsed.data,
    // As the event names them, unresolved: the request is decided, so nobody will ever vote on it.
    requesters: agent.onBehalfOf === undefined ? [agent.id] : [agent.id, agent.onBehalfOf],
    policy: denyDecision([], reason),
    executionArn,
    now,
  });
  if (pending.requestId !== requestId) {
    throw new NotFoundError(`request ${requestId} does not exist; its event is for ${pending.requestId}`);
  }
  const claimed = await deps.store.claim({
    ...pending,
    status: terminalStatusFor(Decision.denied),
    decision: Decision.denied,
    reason,
    decidedAt: now.toISOString(),
  });
  if (claimed.created) await recordIntake(deps, claimed.record);
  return claimed;
}

async function decidePending(
  deps: RecordDecisionDeps,
  record: RequestRecord,
  input: RecordDecisionInput,
  waitState?: WaitState,
): Promise<StoredDecision> {
  const { outcome, executionArn } = input;
  if (executionArn !== record.executionArn) {
    // A duplicate execution that failed on its way, or a caller invoking the step directly, must
    // not decide the request another execution is waiting on.
    throw new ForeignExecutionError(record.requestId);
  }
  if (record.status !== RequestStatus.pending) {
    return { applied: false, record, ...(waitState === undefined ? {} : { waitState }) };
  }
  const at = deps.clock.now();
  // Votes that decided before the wait ended (their decision write lost to a crash) decide it now.
  const voted = outcome.decision === Decision.expired ? decisionByVotes(record) : undefined;
  if (voted !== undefined) return storeDecision(deps, record, { ...voted, at });
  assertBacked(record, outcome.decision);
  const reason = outcome.reason ?? defaultReason(record, outcome.decision);
  return storeDecision(deps, record, {
    decision: outcome.decision,
    approvers: outcome.decision === Decision.approved ? tally(record).approvers : [],
    ...(reason === undefined ? {} : { reason }),
    at,
  });
}

/**
 * Stores a decision this step makes. One that is published next (nothing for Countersign to run
 * first) is signed before it is stored and stored with its receipt in the same conditional write,
 * as the fast path stores a policy's: no write of its own for the receipt. A decision stored
 * meanwhile by another call stands; this receipt goes unused. Not an approval of a watched action:
 * publishing stores it as the approval privileged calls are matched against before its receipt
 * exists (publish-decision.ts), and only once it stands.
 */
async function storeDecision(
  deps: RecordDecisionDeps,
  record: RequestRecord,
  made: DecisionMade,
): Promise<StoredDecision> {
  const decided = decidedRecord(record, made);
  if (countersignExecutes(decided) || reconcilableGrantOf(decided, deps.watchedActions) !== undefined) {
    return deps.store.decide(record.requestId, made);
  }
  const receipt = await deps.signer.sign(receiptClaimsFor(decided));
  return deps.store.decide(record.requestId, { ...made, receipt });
}

async function decide(deps: RecordDecisionDeps, input: RecordDecisionInput): Promise<StoredDecision> {
  const { requestId } = input;
  // With where the workflow stands: a request decided by votes (most) needs no other read.
  const found = await deps.store.getWithWaitState(requestId);
  if (found !== undefined) return decidePending(deps, found.record, input, found.waitState);
  const stored = await storeUnevaluatedDenial(deps, input);
  if (stored === undefined) throw new NotFoundError(`request ${requestId} does not exist`);
  // Not created: the request was stored meanwhile (the failed evaluation's write landed late);
  // it is decided like any other.
  return stored.created
    ? { applied: true, record: stored.record }
    : decidePending(deps, stored.record, input);
}

export async function recordDecision(
  deps: RecordDecisionDeps,
  input: RecordDecisionInput,
): Promise<RecordDecisionResult> {
  const { requestId } = input;
  const result = await decide(deps, input);
  // The workflow has moved past its wait once it records: nothing is left to resume through its token.
  const { taskToken, resumed } = result.waitState ?? (await deps.store.getWaitState(requestId));
  // Two independent writes, side by side (the mark only when it is not set: its write would fail).
  const [reserved] = await settleAll([
    recordDecidedFacts(deps, result),
    taskToken === undefined || resumed
      ? undefined
      : deps.store.markResumed(requestId, taskToken, deps.clock.now()),
  ]);
  return reserved === undefined ? result : { ...result, reserved };
}

/**
 * The DECIDED fact of a decided request (written once, whoever decided it). When this call decided
 * and the decision is published next: numbered in one write with the facts publishing records (the
 * SIGNED fact too, written now, when the receipt was stored with the decision), whose numbers are
 * returned for it (RecordDecisionResult). Numbered only once the decision stands, so that no number
 * is taken for a decision that did not.
 */
async function recordDecidedFacts(
  deps: RecordDecisionDeps,
  { applied, record }: StoredDecision,
): Promise<readonly AuditReservation[] | undefined> {
  if (!applied || countersignExecutes(record)) {
    await recordFact(deps, decidedFact(record));
    return undefined;
  }
  return record.receipt === undefined
    ? recordFacts(deps, [decidedFact(record)], [AuditKind.signed, AuditKind.published])
    : recordFacts(deps, [decidedFact(record), signedFact(record)], [AuditKind.published]);
}
