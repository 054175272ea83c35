/** Expiry end to end: a policy with a two-second window, and nobody deciding in time. */
import { describe, expect, it } from 'vitest';
import { agentRequest, idOf, useTwinWithPolicies } from './harness.ts';

/** Requests on this role get a two-second approval window (the strictest timeout wins). */
const SHORT_TIMEOUT_POLICY = `
@id("e2e-short-timeout")
@reason("end-to-end expiry test")
@approval("platform")
@timeout("PT2S")
permit (principal, action, resource)
when { context.parameters has roleName && context.parameters.roleName == "expiry-test" };
`;

const context = useTwinWithPolicies('expiry', { 'zz-e2e-short-timeout.cedar': SHORT_TIMEOUT_POLICY });

/** Waits until reviewers have been asked, failing with the policy's reason if they never will be. */
async function pendingReview(requestId: string) {
  const record = await context.client.waitForPending(requestId);
  expect(record, record.policy.reason).toMatchObject({
    status: 'PENDING',
    policy: { decision: 'REQUIRE_APPROVAL' },
  });
  return record;
}

describe('expiry', () => {
  it('expires a request nobody decides in time, and refuses votes after', async () => {
    const request = agentRequest(context.client.agent, {
      parameters: { roleName: 'expiry-test', policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' },
    });
    await context.client.send(request);
    const pending = await pendingReview(idOf(request));
    expect(pending.policy.timeoutSeconds).toBe(2);
    const decided = await context.client.waitForDecision(idOf(request));
    expect(decided).toMatchObject({ status: 'EXPIRED', decision: 'EXPIRED' });
    const late = await context.client.vote(idOf(request), 'carol', 'approve');
    expect(late.status).toBe(409);
  });
});
