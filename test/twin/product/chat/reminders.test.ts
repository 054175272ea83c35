/**
 * Reminders in the twin: the template's scheduled rule runs the same reminder handler as in AWS.
 * A policy with a 10 minute 2 second window makes the ten-minute reminder due two seconds after
 * the request; the rule is run on demand (its timer is every five minutes) until the reminder is
 * threaded under the Slack review, then again to show it is sent once.
 */
import { describe, expect, it, vi } from 'vitest';
import { ENV } from '../../../../lambdas/handlers/environment-names.ts';
import { OUTBOX_PATHS, type OutboxEntry } from '../../../../local/product/chat/outbox.ts';
import { agentRequest, idOf, useTwinWithPolicies } from '../../e2e/harness.ts';

const SOON_EXPIRING_POLICY = `
@id("twin-reminder-test")
@reason("reminder test: expires ten minutes and two seconds after the request")
@approval("platform")
@timeout("PT10M2S")
permit (principal, action, resource)
when { context.parameters has roleName && context.parameters.roleName == "reminder-test" };
`;

const context = useTwinWithPolicies('reminders', { 'zz-twin-reminder-test.cedar': SOON_EXPIRING_POLICY });

async function outbox(): Promise<OutboxEntry[]> {
  const response = await fetch(`${context.twin.url}${OUTBOX_PATHS.list}`);
  return ((await response.json()) as { items: OutboxEntry[] }).items;
}

/** The template's scheduled rule whose target is the reminder handler. */
function reminderRule(): string {
  const handler = context.twin.stack.functions.find(
    (fn) => fn.environment[ENV.reminderLookbackSeconds] !== undefined,
  );
  const rule = context.twin.stack.rules.find(
    (candidate) =>
      candidate.scheduleExpression !== undefined &&
      candidate.targets.some((target) => target.arn === handler?.arn),
  );
  if (rule === undefined) throw new Error('the template has no scheduled rule for the reminder handler');
  return rule.logicalId;
}

describe('reminders in the twin', () => {
  it('threads one reminder under the Slack review before the request expires', async () => {
    const rule = reminderRule();
    expect(
      context.twin.stack.rules.find((candidate) => candidate.logicalId === rule)?.scheduleExpression,
    ).toBe('rate(5 minutes)');
    const request = agentRequest(context.client.agent, {
      parameters: { roleName: 'reminder-test', policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' },
    });
    await context.client.send(request);
    const pending = await context.client.waitForPending(idOf(request));
    expect(pending.policy, pending.policy.reason).toMatchObject({ timeoutSeconds: 602 });

    const review = await vi.waitFor(
      async () => {
        const found = (await outbox()).find(
          (entry) =>
            entry.method === 'chat.postMessage' && JSON.stringify(entry.body).includes(idOf(request)),
        );
        if (found?.ts === undefined) throw new Error('no review yet');
        return found;
      },
      { timeout: 20_000, interval: 50 },
    );
    const reminders = async () =>
      (await outbox()).filter(
        (entry) =>
          entry.method === 'chat.postMessage' &&
          (entry.body as { thread_ts?: string }).thread_ts === review.ts,
      );
    await vi.waitFor(
      async () => {
        await context.twin.runScheduledRule(rule);
        if ((await reminders()).length === 0) throw new Error('no reminder yet');
      },
      { timeout: 20_000, interval: 500 },
    );
    const [reminder] = await reminders();
    expect(String((reminder!.body as { text?: string }).text)).toMatch(/^Reminder: .*still needs approval/);

    await context.twin.runScheduledRule(rule);
    await context.twin.runScheduledRule(rule);
    expect(await reminders()).toHaveLength(1);
  });
});
