import { describe, expect, it } from 'vitest';
import { agentOfCaller, isPrincipal } from '../../../lambdas/domain/agent-principals.ts';

const ROLE = 'arn:aws:iam::123456789012:role/agents/invoice-bot';
const USER = 'arn:aws:iam::123456789012:user/agents/report-bot';

describe('isPrincipal', () => {
  it('matches the same ARN, and any session of the role whatever its path', () => {
    expect(isPrincipal(USER, USER)).toBe(true);
    expect(isPrincipal(ROLE, 'arn:aws:sts::123456789012:assumed-role/invoice-bot/session-1')).toBe(true);
    expect(
      isPrincipal(
        'arn:aws:iam::123456789012:role/invoice-bot',
        'arn:aws:sts::123456789012:assumed-role/invoice-bot/s',
      ),
    ).toBe(true);
  });

  it('does not match another role, account or partition, or a user for a role', () => {
    expect(isPrincipal(ROLE, 'arn:aws:sts::123456789012:assumed-role/report-bot/s')).toBe(false);
    expect(isPrincipal(ROLE, 'arn:aws:sts::210987654321:assumed-role/invoice-bot/s')).toBe(false);
    expect(isPrincipal(ROLE, 'arn:aws-cn:sts::123456789012:assumed-role/invoice-bot/s')).toBe(false);
    expect(isPrincipal(USER, 'arn:aws:sts::123456789012:assumed-role/report-bot/s')).toBe(false);
    expect(isPrincipal(ROLE, 'arn:aws:iam::123456789012:user/invoice-bot')).toBe(false);
  });
});

describe('agentOfCaller', () => {
  const agents = [
    { id: 'invoice-bot', principalArn: ROLE },
    { id: 'report-bot', principalArn: USER },
  ];

  it('names the agent whose principal signed, and nobody for anyone else', () => {
    expect(agentOfCaller(agents, 'arn:aws:sts::123456789012:assumed-role/invoice-bot/x')).toBe('invoice-bot');
    expect(agentOfCaller(agents, USER)).toBe('report-bot');
    expect(agentOfCaller(agents, 'arn:aws:iam::123456789012:user/operator')).toBeUndefined();
  });

  it('names nobody when two agents share a principal (a misconfiguration)', () => {
    expect(agentOfCaller([...agents, { id: 'twin-bot', principalArn: USER }], USER)).toBeUndefined();
  });
});
