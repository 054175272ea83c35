import { describe, expect, it } from 'vitest';
import { LogReviewNotifier } from '../../../lambdas/adapters/log-review-notifier.ts';
import type { RequestRecord } from '../../../lambdas/domain/schemas.ts';

const record: RequestRecord = {
  requestId: 'invoice-bot:req-1',
  clientRequestId: 'req-1',
  status: 'PENDING',
  agent: { id: 'invoice-bot', onBehalfOf: 'dave@example.com' },
  requesters: ['invoice-bot', 'dave'],
  action: 'iam:AttachRolePolicy',
  resource: { arn: 'arn:aws:iam::123456789012:role/invoice-bot' },
  parameters: { RoleName: 'invoice-bot', PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' },
  justification: 'Dave Miller asked me to read the payroll of Jane Roe',
  actionHash: 'a'.repeat(64),
  policy: {
    decision: 'REQUIRE_APPROVAL',
    groups: ['platform'],
    quorum: 1,
    timeoutSeconds: 3600,
    stepUp: false,
    policyIds: ['iam-privilege-change-needs-platform'],
    reason: 'privilege change',
  },
  votes: [],
  approvers: [],
  executionArn: 'arn:aws:states:us-east-1:123456789012:execution:wf:1',
  sourceEventId: 'e-1',
  createdAt: '2026-03-01T10:00:00.000Z',
  expiresAt: '2026-03-01T11:00:00.000Z',
};

function capture() {
  const lines: { message: string; attributes: Record<string, unknown> }[] = [];
  return {
    lines,
    log: {
      info: (message: string, attributes: Record<string, unknown>) => lines.push({ message, attributes }),
    },
  };
}

describe('LogReviewNotifier', () => {
  it('logs who may review what, and until when', async () => {
    const { lines, log } = capture();

    await new LogReviewNotifier(log).requestReview(record);

    expect(lines).toEqual([
      {
        message: 'review requested',
        attributes: {
          requestId: 'invoice-bot:req-1',
          status: 'PENDING',
          action: 'iam:AttachRolePolicy',
          approverGroups: ['platform'],
          quorum: 1,
          votes: 0,
          expiresAt: '2026-03-01T11:00:00.000Z',
        },
      },
    ]);
  });

  it('never logs the justification, the parameters or the people involved', async () => {
    const { lines, log } = capture();

    await new LogReviewNotifier(log).updateReview({
      ...record,
      votes: [{ voterId: 'carol', vote: 'approve', channel: 'console', at: '2026-03-01T10:05:00.000Z' }],
    });

    const logged = JSON.stringify(lines);
    expect(lines[0]).toMatchObject({ message: 'review updated', attributes: { votes: 1 } });
    for (const secret of ['Jane Roe', 'payroll', 'dave', 'carol', 'ReadOnlyAccess']) {
      expect(logged).not.toContain(secret);
    }
  });
});
