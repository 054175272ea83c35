/**
 * A TypeScript agent on `countersign/agent`, against the local twin (`npm start` in another terminal):
 *
 *   npx tsx examples/agent.ts
 *
 * 1. asks to read a role: policy allows reads, so it is AUTO_APPROVED at once, with a signed receipt;
 * 2. asks to attach ReadOnlyAccess through `guard`: the platform team decides, so it waits and prints
 *    how to approve (`npx countersign approve <id> --as carol`), then "attaches" exactly what was
 *    approved (this example prints it instead of calling IAM);
 * 3. shows that the receipt of one action does not verify for another (a tampered action).
 *
 * Credentials: the standard AWS chain; when none is set, the demo agent's key of countersign.local.json.
 * COUNTERSIGN_ENDPOINT points it elsewhere (the stack's HttpApiUrl).
 */
import { readFile } from 'node:fs/promises';
import { actionHash, createAgentClient, ReceiptError, verifyReceipt } from 'countersign/agent';

const endpoint = process.env.COUNTERSIGN_ENDPOINT ?? 'http://127.0.0.1:4710';
const agentId = process.env.COUNTERSIGN_AGENT_ID ?? 'invoice-bot';

async function demoCredentials() {
  if (process.env.AWS_ACCESS_KEY_ID !== undefined || process.env.AWS_PROFILE !== undefined) return undefined;
  const directory = JSON.parse(
    await readFile(new URL('../countersign.local.json', import.meta.url), 'utf8'),
  ) as {
    agents: { id: string; accessKeyId: string; secretAccessKey: string }[];
  };
  const agent = directory.agents.find((candidate) => candidate.id === agentId);
  return agent === undefined
    ? undefined
    : { accessKeyId: agent.accessKeyId, secretAccessKey: agent.secretAccessKey };
}

const credentials = await demoCredentials();
const countersign = createAgentClient({
  agentId,
  endpoint,
  region: process.env.AWS_REGION ?? 'local',
  ...(credentials === undefined ? {} : { credentials }),
});
const role = { arn: 'arn:aws:iam::123456789012:role/invoice-exporter', type: 'AWS::IAM::Role' };

// 1. A read: decided by policy at once.
const read = await countersign.requestApproval({
  action: 'iam:GetRole',
  resource: role,
  parameters: { roleName: 'invoice-exporter' },
  justification: 'check the exporter role before the month-end run',
});
console.log(`1. ${read.requestId}: ${read.decision} (${read.reason})`);

// 2. A permission change: people decide; guard runs the function only on a verified approval.
const attach = {
  action: 'iam:AttachRolePolicy',
  resource: role,
  parameters: { roleName: 'invoice-exporter', policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' },
  justification: 'the exporter needs to read the ledger buckets',
  requestId: `example-${Date.now()}`,
};
console.log(`2. waiting for platform: npx countersign approve ${agentId}:${attach.requestId} --as carol`);
const attached = await countersign.guard(attach, (approved) => {
  console.log(`   approved by ${approved.claims.approvers.join(', ')}: attaching`, approved.parameters);
  return approved.requestId;
});

// 3. A receipt vouches for one action only.
const decided = await countersign.getDecision(attached);
const tampered = {
  ...attach,
  parameters: { ...attach.parameters, policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' },
};
try {
  await verifyReceipt(decided!.receipt, {
    jwksUrl: new URL('/api/receipts/jwks.json', endpoint),
    actionHash: actionHash(tampered),
    agentId,
  });
  console.log('3. the receipt verified for another action: this must not happen');
  process.exitCode = 1;
} catch (error) {
  if (!(error instanceof ReceiptError)) throw error;
  console.log(`3. the receipt does not vouch for AdministratorAccess: ${error.code}`);
}
