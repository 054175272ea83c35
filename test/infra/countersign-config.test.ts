import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS, CONTEXT_KEYS, readCountersignConfig } from '../../lib/countersign-config.ts';

const read = (context: Record<string, unknown>) => readCountersignConfig(new App({ context }));

describe('readCountersignConfig', () => {
  it('falls back to the documented default for every key', () => {
    expect(read({})).toEqual({ ...CONFIG_DEFAULTS, agents: [], alarmEmails: [] });
  });

  it('accepts values from cdk.json (JSON) and from -c (strings)', () => {
    const agents = [{ id: 'invoice-bot', principalArn: 'arn:aws:iam::123456789012:role/invoice-bot' }];
    expect(
      read({
        [CONTEXT_KEYS.defaultTimeoutSeconds]: '7200',
        [CONTEXT_KEYS.logRetentionDays]: '30',
        [CONTEXT_KEYS.agents]: JSON.stringify(agents),
        [CONTEXT_KEYS.alarmEmails]: ['oncall@example.com'],
        [CONTEXT_KEYS.consoleUrl]: 'https://countersign.example.com',
      }),
    ).toMatchObject({
      defaultTimeoutSeconds: 7200,
      logRetentionDays: 30,
      agents,
      alarmEmails: ['oncall@example.com'],
      consoleUrl: 'https://countersign.example.com',
    });
  });

  it('names every bad key in one error', () => {
    expect(() =>
      read({
        [CONTEXT_KEYS.logRetentionDays]: 42,
        [CONTEXT_KEYS.busName]: 'default',
        [CONTEXT_KEYS.agents]: [{ id: 'Invoice Bot', principalArn: 'role/invoice-bot' }],
      }),
    ).toThrow(
      /countersign:busName: .*default bus.*countersign:logRetentionDays: must be a CloudWatch Logs retention value.*countersign:agents\.0\.id/,
    );
  });

  it('refuses two agents with the same id', () => {
    const agent = { id: 'invoice-bot', principalArn: 'arn:aws:iam::123456789012:role/invoice-bot' };
    expect(() => read({ [CONTEXT_KEYS.agents]: [agent, agent] })).toThrow(/agent ids must be unique/);
  });
});
