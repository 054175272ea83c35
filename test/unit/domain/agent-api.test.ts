import { describe, expect, it } from 'vitest';
import { AgentDecisionBody, AgentDecisionRequest, WaitSeconds } from '../../../lambdas/domain/agent-api.ts';

const request = {
  requestId: 'req-1',
  agent: { id: 'invoice-bot' },
  action: 's3:GetObject',
  resource: { arn: 'arn:aws:s3:::b-1/k' },
  justification: 'why',
};

describe('the agents’ API bodies', () => {
  it('need a requestId: it is how asking again gets the same decision', () => {
    expect(AgentDecisionRequest.parse(request)).toEqual({ ...request, parameters: {} });
    const { requestId: _id, ...withoutId } = request;
    expect(AgentDecisionRequest.safeParse(withoutId).success).toBe(false);
  });

  it('answer either a decision with its receipt or a pending request id', () => {
    const decided = {
      status: 'DECIDED',
      requestId: 'invoice-bot:req-1',
      decision: 'AUTO_APPROVED',
      actionHash: 'a'.repeat(64),
      approvers: [],
      receipt: 'h.p.s',
    };
    expect(AgentDecisionBody.parse(decided)).toEqual(decided);
    expect(AgentDecisionBody.parse({ status: 'PENDING', requestId: 'invoice-bot:req-1' })).toEqual({
      status: 'PENDING',
      requestId: 'invoice-bot:req-1',
    });
    expect(AgentDecisionBody.safeParse({ ...decided, receipt: undefined }).success).toBe(false);
  });

  it('wait whole seconds from 0 to 20', () => {
    expect(WaitSeconds.parse('20')).toBe(20);
    expect(WaitSeconds.parse('0')).toBe(0);
    for (const wait of ['21', '-1', '1.5', 'soon']) expect(WaitSeconds.safeParse(wait).success).toBe(false);
  });
});
