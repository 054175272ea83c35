/**
 * The guided demo: invoice-bot, acting for dave, asks for six realistic things at once, so a
 * newcomer sees every path of the product within a minute. The requests go through the front door
 * like any agent's: SigV4-signed PutEvents with the agent's own keys. The objects they name are put
 * in the twin's S3 first (with the agent's keys too), so the twin's Macie classifies them before
 * anyone is asked: the ledger and the invoice hold nothing sensitive, the card payments do.
 */
import { randomUUID } from 'node:crypto';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import {
  AGENT_SOURCE_PREFIX,
  type AgentRequestDetail,
  DETAIL_TYPE,
  publicRequestId,
} from '../../lambdas/domain/schemas.ts';

export interface DemoAgent {
  readonly id: string;
  /** The person accountable for the agent; the demo's agent acts for its owner. */
  readonly owner: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface DemoTarget {
  /** The twin's AWS endpoint, e.g. http://127.0.0.1:4710. */
  readonly endpoint: string;
  readonly busName: string;
  readonly agent: DemoAgent;
  readonly region?: string;
}

type DemoRequest = Omit<AgentRequestDetail, 'requestId' | 'agent'> & { readonly key: string };

const ACCOUNT = '123456789012';

/** The bucket the demo's finance data lives in. */
export const DEMO_BUCKET = 'finance-invoices';

/** The demo's objects: a ledger and an invoice with nothing sensitive, a CSV of card payments. */
export const DEMO_OBJECTS: Readonly<Record<string, { readonly body: string; readonly contentType: string }>> =
  {
    '2026/11/ledger.csv': {
      contentType: 'text/csv',
      body: 'invoice,customer,net,vat,total\nINV-20931,Acme GmbH,1200.00,228.00,1428.00\nINV-20932,Globex Ltd,310.50,58.99,369.49\n',
    },
    '2026/11/INV-20931.pdf': {
      contentType: 'text/plain',
      body: 'Invoice INV-20931 for Acme GmbH, 2026-11-03. Net 1200.00 EUR, VAT 228.00 EUR, total 1428.00 EUR.\n',
    },
    '2026/11/card-payments.csv': {
      contentType: 'text/csv',
      body: [
        'payment,customer,card,amount',
        'PAY-1001,Ada Lovelace,4111 1111 1111 1111,120.50',
        'PAY-1002,Alan Turing,5500-0000-0000-0004,99.00',
        'PAY-1003,Grace Hopper,340000000000009,15.25',
      ].join('\n'),
    },
  };

/** What each request shows: one IAM attach for platform, an admin attach for two, an export for security, a card-data export for two of security, a forbidden key deletion, an auto-allowed read. */
export const DEMO_REQUESTS: readonly DemoRequest[] = [
  {
    key: 'attach-s3-read',
    action: 'iam:AttachRolePolicy',
    resource: { arn: `arn:aws:iam::${ACCOUNT}:role/invoice-exporter`, type: 'AWS::IAM::Role' },
    parameters: { roleName: 'invoice-exporter', policyArn: 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess' },
    justification: 'The exporter role needs read access to the invoice archive for the month-end run.',
  },
  {
    key: 'attach-admin',
    action: 'iam:AttachRolePolicy',
    resource: { arn: `arn:aws:iam::${ACCOUNT}:role/invoice-exporter`, type: 'AWS::IAM::Role' },
    parameters: { roleName: 'invoice-exporter', policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' },
    justification: 'A bucket policy blocks the export; admin for one hour lets me repair it myself.',
  },
  {
    key: 'export-ledger',
    action: 's3:CopyObject',
    resource: { arn: 'arn:aws:s3:::finance-invoices/2026/11/ledger.csv', type: 'AWS::S3::Object' },
    parameters: {
      sourceBucket: 'finance-invoices',
      sourceKey: '2026/11/ledger.csv',
      destinationBucket: 'partner-exchange-eu',
      destinationKey: 'inbound/acme/ledger-2026-11.csv',
    },
    justification: 'Acme’s auditors asked for the November ledger through the partner exchange bucket.',
  },
  {
    key: 'export-card-payments',
    action: 's3:CopyObject',
    resource: {
      arn: 'arn:aws:s3:::partner-exchange-eu/inbound/acme/card-payments.csv',
      type: 'AWS::S3::Object',
    },
    parameters: {
      CopySource: `${DEMO_BUCKET}/2026/11/card-payments.csv`,
      Bucket: 'partner-exchange-eu',
      Key: 'inbound/acme/card-payments.csv',
    },
    justification: 'Acme wants to reconcile the November card payments on their side.',
  },
  {
    key: 'delete-key',
    action: 'kms:ScheduleKeyDeletion',
    resource: {
      arn: `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
      type: 'AWS::KMS::Key',
    },
    parameters: { keyId: '1234abcd-12ab-34cd-56ef-1234567890ab', pendingWindowInDays: 7 },
    justification: 'This key looks unused since the migration; cleaning up.',
  },
  {
    key: 'read-invoice',
    action: 's3:GetObject',
    resource: { arn: 'arn:aws:s3:::finance-invoices/2026/11/INV-20931.pdf', type: 'AWS::S3::Object' },
    parameters: { bucket: 'finance-invoices', key: '2026/11/INV-20931.pdf' },
    justification: 'Reading one invoice to answer a customer question.',
  },
];

/** Puts the demo's objects in the twin's S3 as the agent (the bucket may exist from an earlier run). */
async function stageObjects(target: DemoTarget): Promise<void> {
  const s3 = new S3Client({
    endpoint: target.endpoint,
    region: target.region ?? 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: target.agent.accessKeyId, secretAccessKey: target.agent.secretAccessKey },
  });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: DEMO_BUCKET })).catch((error: unknown) => {
      if (!(error instanceof S3ServiceException && error.name === 'BucketAlreadyOwnedByYou')) throw error;
    });
    for (const [key, { body, contentType }] of Object.entries(DEMO_OBJECTS)) {
      await s3.send(
        new PutObjectCommand({ Bucket: DEMO_BUCKET, Key: key, Body: body, ContentType: contentType }),
      );
    }
  } finally {
    s3.destroy();
  }
}

/** Sends the demo requests as the agent; returns their request ids in scenario order. */
export async function runDemo(target: DemoTarget): Promise<string[]> {
  await stageObjects(target);
  const client = new EventBridgeClient({
    endpoint: target.endpoint,
    region: target.region ?? 'us-east-1',
    credentials: { accessKeyId: target.agent.accessKeyId, secretAccessKey: target.agent.secretAccessKey },
  });
  const run = randomUUID().slice(0, 8);
  const details: AgentRequestDetail[] = DEMO_REQUESTS.map(({ key, ...request }) => ({
    ...request,
    requestId: `demo-${run}-${key}`,
    agent: {
      id: target.agent.id,
      onBehalfOf: target.agent.owner,
    },
  }));
  try {
    const result = await client.send(
      new PutEventsCommand({
        Entries: details.map((detail) => ({
          EventBusName: target.busName,
          Source: `${AGENT_SOURCE_PREFIX}${target.agent.id}`,
          DetailType: DETAIL_TYPE.actionRequested,
          Detail: JSON.stringify(detail),
        })),
      }),
    );
    const failed = (result.Entries ?? []).filter((entry) => entry.ErrorCode !== undefined);
    if ((result.FailedEntryCount ?? 0) > 0 || failed.length > 0) {
      throw new Error(
        `the bus refused ${failed.length} demo request(s): ${failed.map((e) => e.ErrorMessage).join('; ')}`,
      );
    }
  } finally {
    client.destroy();
  }
  return details.map((detail) => publicRequestId(target.agent.id, detail.requestId as string));
}
