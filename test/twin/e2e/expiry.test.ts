/** Expiry end to end: a policy with a two-second window, and nobody deciding in time. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningTwin } from '../../../local/twin/index.ts';
import {
  agentRequest,
  demoAgent,
  E2eClient,
  idOf,
  policyDirWith,
  removeDir,
  startE2eTwin,
  tempDir,
} from './harness.ts';

/** Requests on this role get a two-second approval window (the strictest timeout wins). */
const SHORT_TIMEOUT_POLICY = `
@id("e2e-short-timeout")
@reason("end-to-end expiry test")
@approval("platform")
@timeout("PT2S")
permit (principal, action, resource)
when { context.parameters has roleName && context.parameters.roleName == "expiry-test" };
`;

let twin: RunningTwin;
let client: E2eClient;
const cleanup: string[] = [];

beforeAll(async () => {
  const dataDir = await tempDir('expiry');
  const policyDir = await policyDirWith({ 'zz-e2e-short-timeout.cedar': SHORT_TIMEOUT_POLICY });
  cleanup.push(dataDir, policyDir);
  twin = await startE2eTwin({ dataDir, policyDir });
  client = new E2eClient(twin, await demoAgent());
});

/** Waits until reviewers have been asked, failing with the policy's reason if they never will be. */
async function pendingReview(requestId: string) {
  const record = await client.waitForPending(requestId);
  expect(record, record.policy.reason).toMatchObject({
    status: 'PENDING',
    policy: { decision: 'REQUIRE_APPROVAL' },
  });
  return record;
}

afterAll(async () => {
  client?.destroy();
  await twin?.stop();
  for (const dir of cleanup) await removeDir(dir);
});

describe('expiry', () => {
  it('expires a request nobody decides in time, and refuses votes after', async () => {
    const request = agentRequest(client.agent, {
      parameters: { roleName: 'expiry-test', policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' },
    });
    await client.send(request);
    const pending = await pendingReview(idOf(request));
    expect(pending.policy.timeoutSeconds).toBe(2);
    const decided = await client.waitForDecision(idOf(request));
    expect(decided).toMatchObject({ status: 'EXPIRED', decision: 'EXPIRED' });
    const late = await client.vote(idOf(request), 'carol', 'approve');
    expect(late.status).toBe(409);
  });
});
