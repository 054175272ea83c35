/** The facts a decision leaves in the audit trail, whichever step records them. */
import { AuditKind } from '../domain/audit-record.ts';
import { ReceiptError, ReceiptProblem, receiptClaimsFor, receiptFingerprint } from '../domain/receipt.ts';
import type { RequestRecord } from '../domain/schemas.ts';
import { type AuditFact, SYSTEM_ACTOR } from './audit-trail.ts';

/** The DECIDED fact of a decided request. */
export function decidedFact(record: RequestRecord): AuditFact {
  return {
    requestId: record.requestId,
    kind: AuditKind.decided,
    actor: SYSTEM_ACTOR,
    data: { decision: record.decision, approvers: record.approvers, reason: record.reason },
  };
}

/** The SIGNED fact of a decided request: which key signed its receipt, when, until when. */
export function signedFact(record: RequestRecord): AuditFact {
  if (record.receipt === undefined) {
    throw new ReceiptError(
      ReceiptProblem.notDecided,
      `request ${record.requestId} has no receipt yet: nothing is signed to record`,
    );
  }
  const claims = receiptClaimsFor(record);
  const fingerprint = receiptFingerprint(record.receipt);
  return {
    requestId: record.requestId,
    kind: AuditKind.signed,
    actor: SYSTEM_ACTOR,
    data: {
      keyId: fingerprint.keyId,
      issuedAt: new Date(claims.iat * 1000).toISOString(),
      expiresAt: new Date(claims.exp * 1000).toISOString(),
      receiptSha256: fingerprint.sha256,
    },
  };
}
