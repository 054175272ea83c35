/** A pending request awaiting two approvals from `security`, as the store holds it. */
import type { RequestRecord, Vote } from '../../../lambdas/domain/schemas.ts';

export function pendingRecord(overrides: Partial<RequestRecord> = {}): RequestRecord {
  return {
    requestId: 'invoice-bot:req-42',
    clientRequestId: 'req-42',
    status: 'PENDING',
    agent: { id: 'invoice-bot', onBehalfOf: 'dave' },
    requesters: ['invoice-bot', 'dave'],
    action: 's3:CopyObject',
    resource: { arn: 'arn:aws:s3:::finance-exports/2024/invoices.csv', type: 's3-object' },
    parameters: { Bucket: 'finance-exports', Key: '2024/invoices.csv', Destination: 'partner-drop' },
    justification: 'Quarterly invoice export for the auditors',
    actionHash: 'a'.repeat(64),
    policy: {
      decision: 'REQUIRE_APPROVAL',
      groups: ['security'],
      quorum: 2,
      timeoutSeconds: 3600,
      stepUp: false,
      policyIds: ['data-export-needs-security'],
      reason: 'data export',
    },
    votes: [],
    approvers: [],
    executionArn: 'arn:aws:states:us-east-1:123456789012:execution:countersign:req-42',
    sourceEventId: 'evt-1',
    createdAt: '2024-05-14T14:00:00.000Z',
    expiresAt: '2024-05-14T15:00:00.000Z',
    ...overrides,
  };
}

export function vote(voterId: string, choice: 'approve' | 'deny', reason?: string): Vote {
  return { voterId, vote: choice, reason, channel: 'slack', at: '2024-05-14T14:10:00.000Z' };
}
