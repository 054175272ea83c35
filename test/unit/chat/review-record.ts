/** A pending request awaiting two approvals from `security`, as the store holds it. */
import type { Review } from '../../../lambdas/domain/after-the-fact-review.ts';
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

/** An open review of invoice-bot's unapproved s3:PutBucketPolicy call, for `security`. */
export function openReview(overrides: Partial<Review> = {}): Review {
  const eventId = '3f2e1d0c-9b8a-4776-a5b4-c3d2e1f0a9b8';
  return {
    reviewId: `call:${eventId}`,
    kind: 'UNAPPROVED_CALL',
    status: 'OPEN',
    groups: ['security'],
    openedAt: '2024-05-14T14:00:00.000Z',
    requesters: ['invoice-bot', 'dave'],
    subject: {
      agentId: 'invoice-bot',
      action: 's3:PutBucketPolicy',
      eventId,
      resourceArn: 'arn:aws:s3:::exports',
      principalArn: 'arn:aws:iam::000000000000:user/agents/invoice-bot',
      eventTime: '2024-05-14T13:59:58Z',
      sourceIPAddress: '203.0.113.80',
      policy: 'data-export-needs-security',
    },
    ...overrides,
  };
}
