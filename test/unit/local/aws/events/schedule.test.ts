import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigurationError } from '../../../../../lambdas/domain/errors.ts';
import type { TwinRule } from '../../../../../local/aws/cloudformation/template.ts';
import {
  LocalScheduler,
  nextFireTime,
  parseScheduleExpression,
} from '../../../../../local/aws/events/schedule.ts';

const next = (expression: string, after: string) =>
  nextFireTime(parseScheduleExpression(expression), new Date(after))?.toISOString();

describe('schedule expressions (EventBridge rate and cron, UTC)', () => {
  it('fires a rate one period after its origin, then every period', () => {
    const schedule = parseScheduleExpression('rate(5 minutes)');
    const origin = new Date('2024-05-14T10:00:30.000Z');
    expect(nextFireTime(schedule, origin, origin)?.toISOString()).toBe('2024-05-14T10:05:30.000Z');
    expect(nextFireTime(schedule, new Date('2024-05-14T10:05:30.000Z'), origin)?.toISOString()).toBe(
      '2024-05-14T10:10:30.000Z',
    );
    expect(parseScheduleExpression('rate(1 hour)')).toEqual({ kind: 'rate', periodMs: 3_600_000 });
    expect(parseScheduleExpression('rate(2 days)')).toEqual({ kind: 'rate', periodMs: 172_800_000 });
  });

  it('computes the next time of the documented cron examples', () => {
    // Daily at 10:00 UTC.
    expect(next('cron(0 10 * * ? *)', '2024-05-14T10:00:00.000Z')).toBe('2024-05-15T10:00:00.000Z');
    expect(next('cron(0 10 * * ? *)', '2024-05-14T09:59:59.000Z')).toBe('2024-05-14T10:00:00.000Z');
    // 18:00 Monday to Friday (2024-05-17 is a Friday).
    expect(next('cron(0 18 ? * MON-FRI *)', '2024-05-17T18:00:00.000Z')).toBe('2024-05-20T18:00:00.000Z');
    // 08:00 on the first day of each month.
    expect(next('cron(0 8 1 * ? *)', '2024-05-14T00:00:00.000Z')).toBe('2024-06-01T08:00:00.000Z');
    // Every 15 minutes.
    expect(next('cron(0/15 * * * ? *)', '2024-05-14T10:07:00.000Z')).toBe('2024-05-14T10:15:00.000Z');
    // Every 5 minutes from 08:00 to 17:55, weekdays (Saturday 2024-05-18 → Monday).
    expect(next('cron(0/5 8-17 ? * MON-FRI *)', '2024-05-17T17:55:00.000Z')).toBe('2024-05-20T08:00:00.000Z');
    // Sundays (1 = SUN), lists and a year range.
    expect(next('cron(30 6 ? * 1 2024-2025)', '2024-05-14T00:00:00.000Z')).toBe('2024-05-19T06:30:00.000Z');
    expect(next('cron(0 0 1,15 JAN,JUL ? 2024)', '2024-05-14T00:00:00.000Z')).toBe(
      '2024-07-01T00:00:00.000Z',
    );
    // No time left in its years.
    expect(next('cron(0 0 1 1 ? 2024)', '2024-05-14T00:00:00.000Z')).toBeUndefined();
  });

  it.each([
    ['rate(1 minutes)', /singular/],
    ['rate(5 minute)', /plural/],
    ['rate(0 minutes)', /positive|singular|plural/],
    ['rate(5 weeks)', /expected rate/],
    ['cron(0 10 * * * *)', /exactly one of day-of-month and day-of-week/],
    ['cron(0 10 ? * ? *)', /exactly one of day-of-month and day-of-week/],
    ['cron(0 10 * * ?)', /six fields/],
    ['cron(0 24 * * ? *)', /between 0 and 23/],
    ['cron(0 10 L * ? *)', /not supported/],
    ['cron(0 10 ? * 6#3 *)', /not supported/],
    ['at(2024-05-14T10:00:00)', /expected rate\(\.\.\.\) or cron/],
  ])('rejects %s', (expression, message) => {
    expect(() => parseScheduleExpression(expression)).toThrow(ConfigurationError);
    expect(() => parseScheduleExpression(expression)).toThrow(message);
  });
});

function rule(overrides: Partial<TwinRule> = {}): TwinRule {
  return {
    logicalId: 'Reminders',
    name: 'countersign-reminders',
    eventBusName: 'default',
    pattern: undefined,
    scheduleExpression: 'rate(5 minutes)',
    enabled: true,
    targets: [{ id: 'Target0', arn: 'arn:aws:lambda:us-east-1:000000000000:function:reminders' }],
    ...overrides,
  };
}

describe('LocalScheduler', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('delivers the Scheduled Event to the targets on each tick, and nothing after stop()', async () => {
    vi.useFakeTimers({ now: new Date('2024-05-14T10:00:00.000Z') });
    const delivered: Array<{ arn: string; input: unknown }> = [];
    const scheduler = new LocalScheduler({
      rules: [
        rule(),
        rule({ name: 'off', enabled: false }),
        rule({ name: 'events', scheduleExpression: undefined }),
      ],
      deliver: async (target, input) => {
        delivered.push({ arn: target.arn, input });
      },
    });
    expect(scheduler.rules.map((scheduled) => scheduled.name)).toEqual(['countersign-reminders']);
    scheduler.start();
    await vi.advanceTimersByTimeAsync(4 * 60_000);
    expect(delivered).toEqual([]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(delivered).toHaveLength(1);
    expect(delivered[0]).toMatchObject({
      arn: 'arn:aws:lambda:us-east-1:000000000000:function:reminders',
      input: {
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        time: '2024-05-14T10:05:00Z',
        resources: [expect.stringMatching(/:rule\/countersign-reminders$/)],
        detail: {},
      },
    });
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(delivered).toHaveLength(2);
    await scheduler.stop();
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    expect(delivered).toHaveLength(2);
  });

  it('gives a target its constant Input instead of the event', async () => {
    vi.useFakeTimers({ now: new Date('2024-05-14T10:00:00.000Z') });
    const inputs: unknown[] = [];
    const scheduler = new LocalScheduler({
      rules: [
        rule({
          scheduleExpression: 'cron(0/15 * * * ? *)',
          targets: [{ id: 'T', arn: 'arn:x', input: '{"run":"reminders"}' }],
        }),
      ],
      deliver: async (_target, input) => {
        inputs.push(input);
      },
    });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(15 * 60_000);
    await scheduler.stop();
    expect(inputs).toEqual([{ run: 'reminders' }]);
  });

  it('runs a rule now, off its timer, and waits for its targets', async () => {
    const delivered: unknown[] = [];
    const scheduler = new LocalScheduler({
      rules: [rule()],
      deliver: async (_target, input) => {
        await Promise.resolve();
        delivered.push(input);
      },
    });
    await scheduler.runNow('Reminders');
    expect(delivered).toEqual([expect.objectContaining({ 'detail-type': 'Scheduled Event' })]);
    await expect(scheduler.runNow('missing')).rejects.toThrow(ConfigurationError);
    await scheduler.stop();
  });

  it('refuses a template with a bad expression when the twin starts', () => {
    expect(
      () =>
        new LocalScheduler({
          rules: [rule({ scheduleExpression: 'rate(5 fortnights)' })],
          deliver: async () => {},
        }),
    ).toThrow(ConfigurationError);
  });
});
