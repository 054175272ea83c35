/**
 * Data classification end to end in the twin (startLocalTwin, as `npm start` runs it), driven as
 * users drive it: objects put in the twin's S3, the agent's requests through EventBridge, Macie
 * findings put on the default bus by the operator, reviewers through the REST API.
 *  - an unclassified CSV of card numbers is scanned by the twin's Macie (a real job, its finding on
 *    the default bus, the same rule and handler) and ends as High: two security approvals;
 *  - a finding put on the default bus changes the next request's classification and outcome;
 *    replays and older findings change nothing; an agent cannot put Macie findings.
 */

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AWS_EVENT_REPLAY_PATH } from '../../../local/twin/aws-event-replay.ts';
import { LOCAL_ACCOUNT, type RunningTwin } from '../../../local/twin/index.ts';
import { agentRequest, demoAgent, E2eClient, idOf, removeDir, startE2eTwin, tempDir } from './harness.ts';

// biome-ignore lint/suspicious/noExplicitAny: fixtures are edited freely
type Json = any;

const BUCKET = 'finance-exports';
let twin: RunningTwin;
let client: E2eClient;
let dataDir: string;

/** Card numbers that pass the Luhn check, in three spellings, and a few ordinary numbers. */
const CARDS_CSV = [
  'customer,card,amount,invoice',
  'Ada Lovelace,4111 1111 1111 1111,120.50,INV-2026-0001',
  'Alan Turing,5500-0000-0000-0004,99.00,INV-2026-0002',
  'Grace Hopper,340000000000009,15.25,INV-2026-0003',
  'Edsger Dijkstra,6011000000000004,12.00,INV-2026-0004',
].join('\n');

beforeAll(async () => {
  dataDir = await tempDir('classification');
  twin = await startE2eTwin({ dataDir });
  client = new E2eClient(twin, await demoAgent());
  const s3 = new S3Client({
    endpoint: twin.endpoint,
    region: twin.region,
    forcePathStyle: true,
    credentials: { ...twin.operatorCredentials },
    maxAttempts: 1,
  });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: '2026/11/cards.csv',
      Body: CARDS_CSV,
      ContentType: 'text/csv',
    }),
  );
  await s3.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: 'reports/summary.txt',
      Body: 'Revenue grew 12% in Q3 (2026-09-30).\n',
    }),
  );
  s3.destroy();
});

afterAll(async () => {
  client?.destroy();
  await twin?.stop();
  if (dataDir !== undefined) await removeDir(dataDir);
});

function copyRequest(key: string) {
  return agentRequest(client.agent, {
    action: 's3:CopyObject',
    resource: { arn: `arn:aws:s3:::partner-exchange/${key}`, type: 'AWS::S3::Object' },
    parameters: { CopySource: `${BUCKET}/${key}`, Bucket: 'partner-exchange', Key: key },
  });
}

async function pending(key: string) {
  const request = copyRequest(key);
  await client.send(request);
  const record = await client.waitForPending(idOf(request));
  expect(record.status, record.policy.reason).toBe('PENDING');
  return record;
}

/** A Macie finding about one object of the bucket, as Macie publishes it on the default bus. */
function finding(
  key: string,
  overrides: { id: string; updatedAt: string; severity: 'Low' | 'High'; type: string },
) {
  const event = JSON.parse(
    readFileSync(
      new URL(
        '../../fixtures/macie/sensitive-data-finding-personal-txt.eventbridge.CONSTRUCTED.json',
        import.meta.url,
      ),
      'utf8',
    ),
  );
  const detail: Json = event.detail;
  detail.id = overrides.id;
  detail.updatedAt = overrides.updatedAt;
  detail.type = overrides.type;
  detail.severity = { description: overrides.severity, score: overrides.severity === 'High' ? 3 : 1 };
  detail.resourcesAffected.s3Bucket.name = BUCKET;
  detail.resourcesAffected.s3Object.key = key;
  if (overrides.type.endsWith('/Credentials')) {
    detail.classificationDetails.result.sensitiveData = [
      {
        category: 'CREDENTIALS',
        totalCount: 1,
        detections: [{ type: 'AWS_CREDENTIALS', count: 1, occurrences: {} }],
      },
    ];
  }
  return { Source: 'aws.macie', DetailType: 'Macie Finding', Detail: JSON.stringify(detail) };
}

/**
 * Delivers the finding on the default bus as Macie would. PutEvents refuses `aws.*` sources (as
 * EventBridge does), so it goes through the twin's replay of AWS events.
 */
async function publishAsMacie(entry: Record<string, string>): Promise<number> {
  const response = await fetch(`${twin.url}${AWS_EVENT_REPLAY_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      version: '0',
      id: randomUUID(),
      'detail-type': entry.DetailType,
      source: entry.Source,
      account: LOCAL_ACCOUNT,
      time: new Date().toISOString(),
      region: twin.region,
      resources: [],
      detail: JSON.parse(entry.Detail!),
    }),
  });
  await response.arrayBuffer();
  return response.status;
}

describe('classification in the twin', () => {
  it('scans an unclassified CSV of card numbers: High, and the export needs two security approvals', async () => {
    const record = await pending('2026/11/cards.csv');
    expect(record.classification).toMatchObject({
      status: 'CLASSIFIED',
      severity: 'High',
      categories: ['FINANCIAL_INFORMATION'],
      types: ['CREDIT_CARD_NUMBER'],
      subject: `s3://${BUCKET}/2026/11/cards.csv`,
    });
    expect(record.policy).toMatchObject({ groups: ['security'], quorum: 2 });
    expect(await client.vote(record.requestId, 'alice', 'approve')).toMatchObject({
      status: 201,
      body: { decided: false, request: { status: 'PENDING' } },
    });
    expect(await client.vote(record.requestId, 'bob', 'approve')).toMatchObject({
      status: 201,
      body: { decided: true },
    });
    expect(await client.waitForDecision(record.requestId)).toMatchObject({
      status: 'APPROVED',
      approvers: ['alice', 'bob'],
    });
    // The reviewers' view carries it: GET /api/requests/{id} answers request.classification.
    expect((await client.detail(record.requestId))?.request.classification?.severity).toBe('High');
  });

  it('lets a Macie finding on the default bus change the next request, and replays or older findings change nothing', async () => {
    const first = await pending('reports/summary.txt');
    expect(first.classification).toMatchObject({ status: 'CLASSIFIED', severity: null });
    expect(first.policy.quorum).toBe(1);

    const newer = finding('reports/summary.txt', {
      id: 'credentials-finding',
      updatedAt: new Date(Date.now() + 60_000).toISOString(),
      severity: 'High',
      type: 'SensitiveData:S3Object/Credentials',
    });
    expect(await publishAsMacie(newer)).toBe(202);
    await expect
      .poll(
        async () => {
          const request = copyRequest('reports/summary.txt');
          await client.send(request);
          return (await client.waitForPending(idOf(request))).classification?.severity ?? null;
        },
        { timeout: 20_000, interval: 200 },
      )
      .toBe('High');
    // The same finding again, and an older Low one: the next request still sees High, two approvals.
    await publishAsMacie(newer);
    await publishAsMacie(
      finding('reports/summary.txt', {
        id: 'older-finding',
        updatedAt: new Date(Date.now() - 86_400_000).toISOString(),
        severity: 'Low',
        type: 'SensitiveData:S3Object/Personal',
      }),
    );
    // Nothing observable happens for a finding that changes nothing: give the handler time to run.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const after = await pending('reports/summary.txt');
    expect(after.classification).toMatchObject({ severity: 'High', findingIds: ['credentials-finding'] });
    expect(after.policy.quorum).toBe(2);
  });

  it('runs the demo: the card payments export needs two security approvals, the ledger one, the invoice read none', async () => {
    const response = await fetch(`${twin.url}/local/demo`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(202);
    const { requestIds } = (await response.json()) as { requestIds: string[] };
    const byKey = (key: string) => requestIds.find((id) => id.endsWith(`-${key}`))!;
    const cards = await client.waitForPending(byKey('export-card-payments'));
    expect(cards.classification).toMatchObject({
      status: 'CLASSIFIED',
      severity: 'High',
      types: ['CREDIT_CARD_NUMBER'],
    });
    expect(cards.policy).toMatchObject({ groups: ['security'], quorum: 2 });
    const ledger = await client.waitForPending(byKey('export-ledger'));
    expect(ledger.classification).toMatchObject({ status: 'CLASSIFIED', severity: null });
    expect(ledger.policy.quorum).toBe(1);
    const read = await client.waitForDecision(byKey('read-invoice'));
    expect(read).toMatchObject({ decision: 'AUTO_APPROVED', classification: { severity: null } });
  });

  it('refuses an agent that puts a Macie finding on the default bus', async () => {
    const result = await client.events.send(
      new PutEventsCommand({
        Entries: [
          {
            ...finding('2026/11/cards.csv', {
              id: 'forged',
              updatedAt: new Date(Date.now() + 120_000).toISOString(),
              severity: 'Low',
              type: 'SensitiveData:S3Object/Personal',
            }),
          },
        ],
      }),
    );
    expect(result.Entries?.[0]?.ErrorCode).toBe('NotAuthorizedForSourceException');
  });
});
