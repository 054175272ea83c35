/** Builders for valid domain values; tests override only what they are about. */
import type { AuditKind, NewAuditRecord } from '../../../lambdas/domain/audit-record.ts';
import type { RequestClassification } from '../../../lambdas/domain/classification.ts';
import type { PolicyDecision, Principal, RequestRecord, Vote } from '../../../lambdas/domain/schemas.ts';

export const NOW = new Date('2025-06-01T12:00:00.000Z');

export function requireApproval(overrides: Partial<PolicyDecision> = {}): PolicyDecision {
  return {
    decision: 'REQUIRE_APPROVAL',
    groups: ['security'],
    quorum: 1,
    timeoutSeconds: 3600,
    stepUp: false,
    policyIds: ['copy-needs-security'],
    reason: 'copying objects needs one approver from security',
    ...overrides,
  };
}

export function aRecord(overrides: Partial<RequestRecord> = {}): RequestRecord {
  return {
    requestId: 'invoice-bot:req-1',
    clientRequestId: 'req-1',
    status: 'PENDING',
    agent: { id: 'invoice-bot', onBehalfOf: 'dave' },
    requesters: ['invoice-bot', 'dave', 'owner-olga'],
    action: 's3:CopyObject',
    resource: { arn: 'arn:aws:s3:::invoices/2025/06.csv' },
    parameters: { Bucket: 'exports', Key: '06.csv' },
    justification: 'monthly export for finance',
    actionHash: 'a'.repeat(64),
    policy: requireApproval(),
    votes: [],
    approvers: [],
    executionArn: 'arn:aws:states:us-east-1:123456789012:execution:approval:req-1',
    sourceEventId: 'evt-1',
    createdAt: NOW.toISOString(),
    expiresAt: new Date(NOW.getTime() + 3600_000).toISOString(),
    ...overrides,
  };
}

export function aUser(id: string, groups: string[] = ['security']): Principal {
  return { id, type: 'user', groups };
}

export function aVote(voterId: string, vote: Vote['vote'] = 'approve', reason?: string): Vote {
  return { voterId, vote, channel: 'api', at: NOW.toISOString(), ...(reason ? { reason } : {}) };
}

/** A CLASSIFIED classification (High card numbers unless overridden). */
export function aClassification(overrides: Partial<RequestClassification> = {}): RequestClassification {
  return {
    status: 'CLASSIFIED',
    severity: 'High',
    categories: ['FINANCIAL_INFORMATION'],
    types: ['CREDIT_CARD_NUMBER'],
    findingIds: ['f-1'],
    source: 'macie',
    classifiedAt: NOW.toISOString(),
    subject: 's3://invoices/2025/06.csv',
    ...overrides,
  };
}

/** Valid data for each kind of audit record. */
export const AUDIT_DATA: { readonly [K in AuditKind]: Extract<NewAuditRecord, { kind: K }>['data'] } = {
  REQUESTED: {
    action: 's3:CopyObject',
    resource: 'arn:aws:s3:::invoices/2025/06.csv',
    actionHash: 'a'.repeat(64),
    sourceEventId: 'evt-1',
    executionArn: 'arn:aws:states:us-east-1:123456789012:execution:approval:req-1',
  },
  EVALUATED: { ...requireApproval(), expiresAt: '2025-06-01T13:00:00.000Z' },
  NOTIFIED: { groups: ['security'], quorum: 1, expiresAt: '2025-06-01T13:00:00.000Z' },
  VOTED: { vote: 'approve', channel: 'api' },
  REFUSED: { channel: 'slack', code: 'UNKNOWN_IDENTITY', reason: 'not linked' },
  DECIDED: { decision: 'APPROVED', approvers: ['alice'] },
  SIGNED: {
    keyId: 'kid-1',
    issuedAt: '2025-06-01T12:00:00.000Z',
    expiresAt: '2025-06-01T13:00:00.000Z',
    receiptSha256: 'b'.repeat(64),
  },
  EXECUTED: { status: 'EXECUTED', sessionName: 'copy-bot=req-1', awsRequestId: 'R1' },
  PUBLISHED: {
    decision: 'APPROVED',
    actionHash: 'a'.repeat(64),
    receiptExpiresAt: '2025-06-01T13:00:00.000Z',
  },
  RECONCILED: {
    eventId: '3b5c1a52-6d0e-4c8b-9a51-2f0c1e7d9a10',
    status: 'MATCHED',
    action: 's3:PutBucketPolicy',
    resourceArn: 'arn:aws:s3:::invoices',
    principalArn: 'arn:aws:iam::123456789012:role/invoice-bot',
    eventTime: '2025-06-01T12:05:00Z',
  },
  REVIEWED: { outcome: 'ACKNOWLEDGED', reason: 'planned maintenance', channel: 'console' },
};

/** An audit record of `kind` for invoice-bot:req-1, as a writer hands it to the store. */
export function anAuditRecord<K extends AuditKind>(
  kind: K,
  overrides: Partial<Omit<Extract<NewAuditRecord, { kind: K }>, 'kind'>> = {},
): Extract<NewAuditRecord, { kind: K }> {
  return {
    requestId: 'invoice-bot:req-1',
    kind,
    key: kind,
    at: NOW.toISOString(),
    actor: 'countersign',
    data: AUDIT_DATA[kind],
    ...overrides,
  } as Extract<NewAuditRecord, { kind: K }>;
}
