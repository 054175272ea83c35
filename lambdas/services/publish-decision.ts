/**
 * The workflow's last step: signs the decision receipt once (unless the record step stored it with
 * the decision) and tells the agent how its request ended (`Action Decided` on the bus, carrying the
 * receipt). Retried or redelivered, it publishes the receipt stored first, so the agent, the API and
 * the audit trail all see one receipt per decision; once the PUBLISHED fact is recorded (after the
 * event), a retry answers the event without putting it again. An approving decision of a watched
 * action is first stored as the approval privileged calls are matched against: before its receipt
 * exists, so an agent holding a receipt always finds its approval recorded.
 */
import { AuditKind } from '../domain/audit-record.ts';
import { ConflictError, ForeignExecutionError, NotFoundError } from '../domain/errors.ts';
import { reconcilableGrantOf } from '../domain/privileged-calls.ts';
import { receiptClaimsFor } from '../domain/receipt.ts';
import {
  ActionDecidedDetail,
  ExecutionStatus,
  parse,
  type RequestRecord,
  RequestStatus,
} from '../domain/schemas.ts';
import { settleAll } from '../domain/settle-all.ts';
import type {
  AuditReservation,
  Clock,
  DecisionPublisher,
  PrivilegedCallStore,
  ReceiptSigner,
  RequestStore,
} from '../ports/index.ts';
import { recordFact, recordFacts, SYSTEM_ACTOR } from './audit-trail.ts';
import { signedFact } from './decision-facts.ts';

export interface PublishDecisionDeps {
  readonly store: RequestStore;
  readonly publisher: DecisionPublisher;
  readonly signer: ReceiptSigner;
  /** Where approvals are kept for the CloudTrail reconciliation. */
  readonly grants: Pick<PrivilegedCallStore, 'putGrant'>;
  /** The privileged actions watched, as CloudTrail names them: only their approvals are kept. */
  readonly watchedActions: ReadonlySet<string>;
  readonly clock: Clock;
}

export interface PublishDecisionInput {
  readonly requestId: string;
  /** The execution publishing; only the one that owns the request may. */
  readonly executionArn: string;
  /**
   * The request as the step that recorded its decision left it, when nothing has written to it
   * since (the same invocation, no action run): it is not read again. Absent: it is read.
   */
  readonly recorded?: RequestRecord;
  /**
   * The numbers recording the decision took for the facts to come (RecordDecisionResult): SIGNED's
   * and PUBLISHED's, or PUBLISHED's alone when the record step stored the receipt and recorded
   * SIGNED. Given only by the call that decided, so nothing was published before.
   */
  readonly reserved?: readonly AuditReservation[];
}

/** The stored receipt, or a new one stored now: the first receipt written is the one that stands. */
async function receiptOf(deps: PublishDecisionDeps, record: RequestRecord): Promise<string> {
  if (record.receipt !== undefined) return record.receipt;
  const signed = await deps.signer.sign(receiptClaimsFor(record));
  const stored = await deps.store.attachReceipt(record.requestId, signed);
  // attachReceipt returns a record with a receipt or throws.
  return stored.receipt!;
}

export async function publishDecision(
  deps: PublishDecisionDeps,
  input: PublishDecisionInput,
): Promise<ActionDecidedDetail> {
  const { requestId, reserved } = input;
  const record = input.recorded?.requestId === requestId ? input.recorded : await deps.store.get(requestId);
  if (record === undefined) throw new NotFoundError(`request ${requestId} does not exist`);
  if (record.executionArn !== input.executionArn) throw new ForeignExecutionError(requestId);
  if (record.status === RequestStatus.pending || record.decision === undefined) {
    throw new ConflictError('NOT_DECIDED', `request ${requestId} is not decided yet`);
  }
  const grant = reconcilableGrantOf(record, deps.watchedActions);
  if (grant !== undefined) await deps.grants.putGrant(grant);
  // A call handed the numbers of the facts to come decided the request itself: nothing was
  // published before it. Any other (a decision by votes, a retry) asks whether one was.
  const [receipt, publishedBefore] = await settleAll([
    receiptOf(deps, record),
    reserved === undefined ? deps.store.hasAudit(requestId, AuditKind.published) : false,
  ]);
  const decided = { ...record, receipt };
  return publishedBefore ? decisionEventOf(decided) : announceDecision(deps, decided, reserved);
}

/** The `Action Decided` detail of a decided request with its receipt (and Countersign's run of it, if any). */
export function decisionEventOf(record: RequestRecord): ActionDecidedDetail {
  const { execution } = record;
  return parse(
    ActionDecidedDetail,
    {
      requestId: record.requestId,
      decision: record.decision,
      actionHash: record.actionHash,
      approvers: record.approvers,
      ...(record.reason === undefined ? {} : { reason: record.reason }),
      receipt: record.receipt,
      ...(execution === undefined || execution.status === ExecutionStatus.started
        ? {}
        : {
            execution: {
              status: execution.status,
              ...(execution.awsRequestId === undefined ? {} : { awsRequestId: execution.awsRequestId }),
              ...(execution.error === undefined ? {} : { error: execution.error }),
            },
          }),
    },
    'decision event',
  );
}

/**
 * Tells the agent: `Action Decided` on the bus, then the PUBLISHED fact. At least once: an attempt
 * that failed after the event, or one running beside another, publishes again (agents deduplicate
 * by requestId); the fact is written once.
 */
async function announceDecision(
  deps: Pick<PublishDecisionDeps, 'store' | 'publisher' | 'clock'>,
  record: RequestRecord,
  reserved: readonly AuditReservation[] = [],
): Promise<ActionDecidedDetail> {
  const reservationOf = (key: string) =>
    reserved.find((reservation) => reservation.requestId === record.requestId && reservation.key === key);
  const [signed, published] = [reservationOf(AuditKind.signed), reservationOf(AuditKind.published)];
  // PUBLISHED's number alone: the record step stored the receipt with the decision and recorded SIGNED.
  if (published !== undefined && signed === undefined) return publishSigned(deps, record, published);
  if (published !== undefined) {
    await recordFact(deps, signedFact(record), signed);
    return publishSigned(deps, record, published);
  }
  // Written on every attempt (a no-op after the first): the receipt that stands is audited even when
  // an earlier attempt stored it and failed before getting here. The PUBLISHED fact's number is
  // taken in the same write, so that after the event it is one write, not two.
  const [numbered] = await recordFacts(deps, [signedFact(record)], [AuditKind.published]);
  return publishSigned(deps, record, numbered);
}

/**
 * announceDecision once the SIGNED fact is recorded: the event, then the PUBLISHED fact (under
 * `published`, its number reserved beside the facts before it, when there is one).
 */
export async function publishSigned(
  deps: Pick<PublishDecisionDeps, 'publisher' | 'clock'> & { store: Pick<RequestStore, 'appendAudit'> },
  record: RequestRecord,
  published?: AuditReservation,
): Promise<ActionDecidedDetail> {
  const detail = decisionEventOf(record);
  const receiptExpiresAt = new Date(receiptClaimsFor(record).exp * 1000).toISOString();
  await deps.publisher.publish(detail);
  await recordFact(
    deps,
    {
      requestId: record.requestId,
      kind: AuditKind.published,
      actor: SYSTEM_ACTOR,
      // The receipt itself lives on the request; the trail says which decision it vouched for until when.
      data: { decision: detail.decision, actionHash: detail.actionHash, receiptExpiresAt },
    },
    published,
  );
  return detail;
}
