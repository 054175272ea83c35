/**
 * Reminders in the twin: the template's scheduled rule runs the same reminder handler as in AWS.
 * A policy with a 10 minute 2 second window makes the ten-minute reminder due two seconds after
 * the request; the rule is run on demand (its timer is every five minutes) until the reminder is
 * threaded under the Slack review, then again to show it is sent once.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ENV } from '../../../../lambdas/handlers/environment-names.ts';
import { OUTBOX_PATHS, type OutboxEntry } from '../../../../local/product/chat/outbox.ts';
import type { RunningTwin } from '../../../../local/twin/index.ts';
import {
  agentRequest,
  demoAgent,
  E2eClient,
  idOf,
  policyDirWith,
  removeDir,
  startE2eTwin,
  tempDir,
} from '../../e2e/harness.ts';

const SOON_EXPIRING_POLICY = `
@id("twin-reminder-test")
@reason("reminder test: expires ten minutes and two seconds after the request")
@approval("platform")
@timeout("PT10M2S")
permit (principal, action, resource)
when { context.parameters has roleName && context.parameters.roleName == "reminder-test" };
`;

let twin: RunningTwin;
let client: E2eClient;
const cleanup: string[] = [];

beforeAll(async () => {
  const dataDir = await tempDir('reminders');
  const policyDir = await policyDirWith({ 'zz-twin-reminder-test.cedar': SOON_EXPIRING_POLICY });
  cleanup.push(dataDir, policyDir);
  twin = await startE2eTwin({ dataDir, policyDir });
  client = new E2eClient(twin, await demoAgent());
});

afterAll(async () => {
  client?.destroy();
  await twin?.stop();
  for (const dir of cleanup) await removeDir(dir);
});

async function outbox(): Promise<OutboxEntry[]> {
  const response = await fetch(`${twin.url}${OUTBOX_PATHS.list}`);
  return ((await response.json()) as { items: OutboxEntry[] }).items;
}

/** The template's scheduled rule whose target is the reminder handler. */
function reminderRule(): string {
  const handler = twin.stack.functions.find(
    (fn) => fn.environment[ENV.reminderLookbackSeconds] !== undefined,
  );
  const rule = twin.stack.rules.find(
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
    expect(twin.stack.rules.find((candidate) => candidate.logicalId === rule)?.scheduleExpression).toBe(
      'rate(5 minutes)',
    );
    const request = agentRequest(client.agent, {
      parameters: { roleName: 'reminder-test', policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' },
    });
    await client.send(request);
    const pending = await client.waitForPending(idOf(request));
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
        await twin.runScheduledRule(rule);
        if ((await reminders()).length === 0) throw new Error('no reminder yet');
      },
      { timeout: 20_000, interval: 500 },
    );
    const [reminder] = await reminders();
    expect(String((reminder!.body as { text?: string }).text)).toMatch(/^Reminder: .*still needs approval/);

    await twin.runScheduledRule(rule);
    await twin.runScheduledRule(rule);
    expect(await reminders()).toHaveLength(1);
  });
});
