/**
 * Executors end to end on the twin: an agent asks for a data export with `"execute": true`, security
 * approves, and Countersign copies exactly the approved object in the twin's S3 itself, once, in a
 * role session from the twin's STS named after the request and allowed only that copy: the Finish
 * function invokes the executor function through the twin's Lambda Invoke API (RequestResponse,
 * signed with its own credentials), which alone runs it. A denied export copies nothing and
 * invokes no executor.
 */
import { randomUUID } from 'node:crypto';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { createAgentClient } from 'countersign/agent';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageMeter } from '../../../local/aws/usage.ts';
import type { RunningTwin } from '../../../local/twin/index.ts';
import { type Agent, demoAgent, E2eClient, removeDir, startE2eTwin, tempDir } from './harness.ts';

const SOURCE = { bucket: 'finance-invoices', key: '2026/11/ledger.csv' };
const DESTINATION_BUCKET = 'partner-exchange-eu';
const LEDGER = 'invoice,amount\nINV-1,100.00\n';

let twin: RunningTwin;
let agent: Agent;
let people: E2eClient;
let s3: S3Client;
let dataDir: string;
const meter = new UsageMeter();

/** How often the executor function ran, and how often a function called Lambda's Invoke API. */
function executorUsage() {
  const { functions, calls } = meter.snapshot();
  const executor = Object.entries(functions).filter(([name]) => name.includes('ExecuteAction'));
  return {
    executorInvocations: executor.reduce((sum, [, usage]) => sum + usage.invocations, 0),
    invokeCalls: calls['lambda:InvokeFunction'] ?? 0,
  };
}

beforeAll(async () => {
  dataDir = await tempDir('executor');
  twin = await startE2eTwin({ dataDir, meter });
  agent = await demoAgent();
  people = new E2eClient(twin, agent);
  s3 = new S3Client({
    endpoint: twin.endpoint,
    region: twin.region,
    forcePathStyle: true,
    credentials: { ...twin.operatorCredentials },
  });
  for (const bucket of [SOURCE.bucket, DESTINATION_BUCKET])
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  // Versions count the writes: exactly one copy is exactly one version.
  await s3.send(
    new PutBucketVersioningCommand({
      Bucket: DESTINATION_BUCKET,
      VersioningConfiguration: { Status: 'Enabled' },
    }),
  );
  await s3.send(new PutObjectCommand({ Bucket: SOURCE.bucket, Key: SOURCE.key, Body: LEDGER }));
}, 120_000);

afterAll(async () => {
  s3?.destroy();
  people?.destroy();
  await twin?.stop();
  if (dataDir !== undefined) await removeDir(dataDir);
});

function exportOf(destinationKey: string) {
  return {
    requestId: `export-${randomUUID()}`,
    action: 's3:CopyObject',
    resource: { arn: `arn:aws:s3:::${SOURCE.bucket}/${SOURCE.key}`, type: 'AWS::S3::Object' },
    parameters: {
      sourceBucket: SOURCE.bucket,
      sourceKey: SOURCE.key,
      destinationBucket: DESTINATION_BUCKET,
      destinationKey,
    },
    justification: 'month-end export to the partner',
    onBehalfOf: 'dave',
    execute: true,
  };
}

async function versionsOf(key: string) {
  const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: DESTINATION_BUCKET, Prefix: key }));
  return (listed.Versions ?? []).filter((version) => version.Key === key);
}

describe('the s3:CopyObject executor', () => {
  it('copies an approved export exactly once, in a session named after the request', async () => {
    const countersign = createAgentClient({
      agentId: agent.id,
      endpoint: twin.url,
      region: twin.region,
      credentials: agent,
    });
    const asked = exportOf(`inbound/acme/${randomUUID()}.csv`);
    const id = `${agent.id}:${asked.requestId}`;
    const before = executorUsage();
    const approval = countersign.requestApproval(asked);
    await people.waitForPending(id);
    expect((await people.vote(id, 'alice', 'approve', 'partner contract checked')).status).toBe(201);
    const result = await approval;
    expect(result).toMatchObject({ decision: 'APPROVED', approvers: ['alice'] });

    const executed = await people.waitFor(id, ({ request }) => request.execution?.status === 'EXECUTED');
    expect(executed.execution).toMatchObject({
      status: 'EXECUTED',
      sessionName: `${agent.id}=${asked.requestId}`,
      awsRequestId: expect.any(String),
    });
    const copy = await s3.send(
      new GetObjectCommand({ Bucket: DESTINATION_BUCKET, Key: asked.parameters.destinationKey }),
    );
    expect(await copy.Body!.transformToString()).toBe(LEDGER);
    expect(await versionsOf(asked.parameters.destinationKey)).toHaveLength(1);

    // The outcome is in the trail and in the decision the agent reads; nothing runs it again.
    const { timeline } = (await people.detail(id))!;
    expect(timeline.filter((record) => record.kind === 'EXECUTED')).toHaveLength(1);
    expect(await countersign.getDecision(id)).toMatchObject({ execution: { status: 'EXECUTED' } });
    expect(await versionsOf(asked.parameters.destinationKey)).toHaveLength(1);
    // Run by the executor function, which Finish invoked through the twin's (signed) Invoke API.
    expect(executorUsage()).toEqual({
      executorInvocations: before.executorInvocations + 1,
      invokeCalls: before.invokeCalls + 1,
    });
  }, 60_000);

  it('copies nothing for a denied export', async () => {
    const countersign = createAgentClient({
      agentId: agent.id,
      endpoint: twin.url,
      region: twin.region,
      credentials: agent,
    });
    const asked = exportOf(`inbound/acme/${randomUUID()}.csv`);
    const id = `${agent.id}:${asked.requestId}`;
    const before = executorUsage();
    const approval = countersign.requestApproval(asked);
    await people.waitForPending(id);
    expect((await people.vote(id, 'alice', 'deny', 'no contract with this partner')).status).toBe(201);
    expect(await approval).toMatchObject({ decision: 'DENIED' });
    const decided = await people.waitFor(id, ({ request }) => request.status === 'DENIED');
    expect(decided.execution).toBeUndefined();
    expect(await versionsOf(asked.parameters.destinationKey)).toEqual([]);
    expect(executorUsage()).toEqual(before);
  }, 60_000);
});
