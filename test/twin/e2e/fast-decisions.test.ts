/**
 * The fast path's follow-up end to end in the twin, as `npm start` runs it: the agent's ALLOW is
 * answered once the decision is stored, and the table stream's event source mapping (read from the
 * template, filter included) delivers it to the announcer, which stores the approval, records the
 * trail and publishes `Action Decided`. Shown here: a fast ALLOW ends with its PUBLISHED fact, its
 * facts archived, one `Action Decided` reaching the reconciler; a privileged call the agent makes
 * before the approval is stored is covered once it is; a bus that fails the announcement is retried
 * until it takes it, and the agent is told once.
 */
import { randomUUID } from 'node:crypto';
import { CreateBucketCommand, DeleteBucketPolicyCommand, type S3Client } from '@aws-sdk/client-s3';
import { type AgentClient, createAgentClient } from 'countersign/agent';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ENV } from '../../../lambdas/handlers/environment-names.ts';
import { run as audit } from '../../../local/cli/commands/audit.ts';
import { startLocalTwin } from '../../../local/product/local-twin.ts';
import type { FaultSpecInput, RunningTwin } from '../../../local/twin/index.ts';
import { archivedLines, runCli } from '../../support/audit-archive.ts';
import {
  DIRECTORY_PATH,
  demoAgent,
  E2eClient,
  injectFault,
  policyDirWith,
  type RequestDetail,
  removeDir,
  tempDir,
  twinS3Client,
} from './harness.ts';

const BUCKET = 'fast-exports';
const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`;
/** A privileged call policy allows outright, so the fast path decides it. */
const REMOVAL_ALLOWED = `
@id("test-bucket-policy-removal-allowed")
@reason("the test's agent may remove the policy of its exports bucket")
permit (principal, action == Action::"aws:Operation", resource)
when { context.service == "s3" && context.operation == "DeleteBucketPolicy" };
`;

let twin: RunningTwin;
let client: E2eClient;
let countersign: AgentClient;
let agentS3: S3Client;
let operatorS3: S3Client;
let dataDir: string;
let policyDir: string;
const logLines: string[] = [];

beforeAll(async () => {
  dataDir = await tempDir('fast-decisions');
  policyDir = await policyDirWith({ 'zz-removal-allowed.cedar': REMOVAL_ALLOWED });
  twin = await startLocalTwin({
    port: 0,
    host: '127.0.0.1',
    dataDir,
    log: (line) => logLines.push(line),
    directoryPath: DIRECTORY_PATH,
    faultInjection: true,
    extend: () => ({ environment: { [ENV.policyDir]: policyDir } }),
  });
  const agent = await demoAgent();
  client = new E2eClient(twin, agent);
  countersign = createAgentClient({
    agentId: agent.id,
    endpoint: twin.url,
    region: twin.region,
    credentials: agent,
  });
  agentS3 = twinS3Client(twin, agent);
  operatorS3 = twinS3Client(twin, twin.operatorCredentials);
  await operatorS3.send(new CreateBucketCommand({ Bucket: BUCKET }));
}, 300_000);

afterEach(() => {
  twin.faults!.clear();
});

afterAll(async () => {
  client?.destroy();
  agentS3?.destroy();
  operatorS3?.destroy();
  await twin?.stop();
  for (const dir of [dataDir, policyDir]) if (dir !== undefined) await removeDir(dir);
});

const SLOW = { timeout: 120_000 } as const;

const inject = (spec: FaultSpecInput) => injectFault(twin, spec);

const injected = (id: string) => twin.faults!.get(id)?.injected ?? 0;

/** How many times the reconciler logged reconciling the decision of `requestId` (once per Action Decided). */
const reconciled = (requestId: string) =>
  logLines.filter((line) => line.includes('decision reconciled') && line.includes(requestId)).length;

const kinds = (detail: RequestDetail, kind: string) =>
  detail.timeline.filter((record) => record.kind === kind).length;

/** The request's trail once its follow-up told the agent (PUBLISHED). */
function whenPublished(requestId: string): Promise<RequestDetail> {
  return vi.waitFor(
    async () => {
      const detail = await client.detail(requestId);
      if (detail === undefined || kinds(detail, 'PUBLISHED') === 0) throw new Error('not published yet');
      return detail;
    },
    { timeout: 60_000, interval: 100 },
  );
}

const read = () => ({
  requestId: `fast-${randomUUID()}`,
  action: 'iam:GetRole',
  resource: { arn: 'arn:aws:iam::123456789012:role/invoice-exporter', type: 'AWS::IAM::Role' },
  parameters: { roleName: 'invoice-exporter' },
  justification: 'fast path follow-up end-to-end test',
});

interface Call {
  eventId: string;
  status: string;
  requestId?: string;
  review?: { status: string };
}

async function callsOf(action: string): Promise<Call[]> {
  const { status, body } = await client.api('GET', '/api/privileged-calls', 'alice');
  if (status !== 200) throw new Error(`list calls: HTTP ${status}`);
  return (body.items as (Call & { action: string })[]).filter((call) => call.action === action);
}

describe('a fast ALLOW', () => {
  it(
    'ends with its PUBLISHED fact, its facts archived and one Action Decided the reconciler sees',
    SLOW,
    async () => {
      const result = await countersign.requestApproval(read());
      expect(result.decision).toBe('AUTO_APPROVED');
      const detail = await whenPublished(result.requestId);
      expect(detail.timeline.map((fact) => [fact.kind, fact.seq])).toEqual([
        ['REQUESTED', 1],
        ['EVALUATED', 2],
        ['DECIDED', 3],
        ['SIGNED', 4],
        ['PUBLISHED', 5],
      ]);
      await vi.waitFor(() => expect(reconciled(result.requestId)).toBe(1), { timeout: 15_000 });

      const flushed = await runCli(audit, ['flush', '--url', twin.url, '--json']);
      expect(flushed.code, flushed.err).toBe(0);
      const bucket = (JSON.parse(flushed.out) as { bucket: string }).bucket;
      const archived = (await archivedLines(operatorS3, bucket))
        .map((line) => JSON.parse(line) as { requestId?: string; kind?: string })
        .filter((record) => record.requestId === result.requestId)
        .map((record) => record.kind);
      expect(archived.sort()).toEqual(['DECIDED', 'EVALUATED', 'PUBLISHED', 'REQUESTED', 'SIGNED']);
      // The one Action Decided is the reconciler's only delivery for it (nothing published twice).
      expect(reconciled(result.requestId)).toBe(1);
    },
  );

  it('covers a privileged call the agent made before its approval was stored', SLOW, async () => {
    const asked = {
      requestId: `fast-${randomUUID()}`,
      action: 's3:DeleteBucketPolicy',
      resource: { arn: BUCKET_ARN, type: 'AWS::S3::Bucket' },
      parameters: { bucketName: BUCKET },
      justification: 'the test removes the exports bucket policy',
    };
    const requestId = `${client.agent.id}:${asked.requestId}`;
    // The approval cannot be stored yet: the follow-up's write of it fails (retried) until the fault clears.
    const fault = await inject({
      point: 'aws',
      action: 'dynamodb:PutItem',
      code: 'ThrottlingException',
      bodyContains: `GRANT#${requestId}`,
      ratio: 1,
    });
    const result = await countersign.requestApproval(asked);
    expect(result).toMatchObject({ requestId, decision: 'AUTO_APPROVED' });
    await agentS3.send(new DeleteBucketPolicyCommand({ Bucket: BUCKET }));
    const [unapproved] = await vi.waitFor(
      async () => {
        const found = (await callsOf('s3:DeleteBucketPolicy')).filter((call) => call.review !== undefined);
        if (found.length === 0) throw new Error('the call is not recorded yet');
        return found;
      },
      { timeout: 30_000, interval: 100 },
    );
    expect(unapproved).toMatchObject({ status: 'UNAPPROVED', review: { status: 'OPEN' } });
    // The follow-up runs at the stream's next poll (up to 250 ms later, as in Lambda), possibly after
    // the call was reconciled: wait until its write of the approval has been refused.
    await vi.waitFor(() => expect(injected(fault)).toBeGreaterThan(0), { timeout: 30_000, interval: 100 });
    // Not announced yet: the approval comes first, and the reconciler runs on the announcement.
    expect(kinds((await client.detail(requestId))!, 'PUBLISHED')).toBe(0);

    twin.faults!.clear(fault);
    await whenPublished(requestId);
    const covered = await vi.waitFor(
      async () => {
        const { body } = await client.api('GET', `/api/privileged-calls/${unapproved!.eventId}`, 'alice');
        if (body.status !== 'MATCHED') throw new Error(`the call is ${body.status}`);
        return body;
      },
      { timeout: 30_000, interval: 100 },
    );
    expect(covered).toMatchObject({ status: 'MATCHED', requestId });
  });

  it('is announced once the bus takes it, however often PutEvents fails first', SLOW, async () => {
    const fault = await inject({ point: 'put-events-entry', detailType: 'Action Decided', times: 3 });
    const result = await countersign.requestApproval(read());
    // The agent's answer did not wait for the bus.
    expect(result.decision).toBe('AUTO_APPROVED');
    const detail = await whenPublished(result.requestId);
    expect(injected(fault)).toBe(3);
    expect(kinds(detail, 'PUBLISHED')).toBe(1);
    expect(kinds(detail, 'SIGNED')).toBe(1);
    await vi.waitFor(() => expect(reconciled(result.requestId)).toBe(1), { timeout: 15_000 });
  });
});
