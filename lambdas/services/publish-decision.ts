/**
 * The workflow's last step: signs the decision receipt once and tells the agent how its request
 * ended (`Action Decided` on the bus, carrying the receipt). Retried or redelivered, it publishes the
 * receipt stored first, so the agent, the API and the audit trail all see one receipt per decision.
 */
import { AuditKind } from '../domain/audit-record.ts';
import { ConflictError, ForeignExecutionError, NotFoundError } from '../domain/errors.ts';
import { receiptClaimsFor, receiptFingerprint } from '../domain/receipt.ts';
import { ActionDecidedDetail, parse, type RequestRecord, RequestStatus } from '../domain/schemas.ts';
import type { Clock, DecisionPublisher, ReceiptSigner, RequestStore } from '../ports/index.ts';
import { recordFact, SYSTEM_ACTOR } from './audit-trail.ts';

export interface PublishDecisionDeps {
  readonly store: RequestStore;
  readonly publisher: DecisionPublisher;
  readonly signer: ReceiptSigner;
  readonly clock: Clock;
}

export interface PublishDecisionInput {
  readonly requestId: string;
  /** The execution publishing; only the one that owns the request may. */
  readonly executionArn: string;
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
  const { requestId } = input;
  const record = await deps.store.get(requestId);
  if (record === undefined) throw new NotFoundError(`request ${requestId} does not exist`);
  if (record.executionArn !== input.executionArn) throw new ForeignExecutionError(requestId);
  if (record.status === RequestStatus.pending || record.decision === undefined) {
    throw new ConflictError('NOT_DECIDED', `request ${requestId} is not decided yet`);
  }
  const receipt = await receiptOf(deps, record);
  // Written on every attempt (a no-op after the first): the receipt that stands is audited even when
  // an earlier attempt stored it and failed before getting here.
  const claims = receiptClaimsFor(record);
  const fingerprint = receiptFingerprint(receipt);
  await recordFact(deps, {
    requestId,
    kind: AuditKind.signed,
    actor: SYSTEM_ACTOR,
    data: {
      keyId: fingerprint.keyId,
      issuedAt: new Date(claims.iat * 1000).toISOString(),
      expiresAt: new Date(claims.exp * 1000).toISOString(),
      receiptSha256: fingerprint.sha256,
    },
  });
  const detail = parse(
    ActionDecidedDetail,
    {
      requestId,
      decision: record.decision,
      actionHash: record.actionHash,
      approvers: record.approvers,
      ...(record.reason === undefined ? {} : { reason: record.reason }),
      receipt,
    },
    'decision event',
  );
  await deps.publisher.publish(detail);
  await recordFact(deps, {
    requestId,
    kind: AuditKind.published,
    actor: SYSTEM_ACTOR,
    // The receipt itself lives on the request; the trail says which decision it vouched for until when.
    data: {
      decision: detail.decision,
      actionHash: detail.actionHash,
      receiptExpiresAt: new Date(claims.exp * 1000).toISOString(),
    },
  });
  return detail;
}
