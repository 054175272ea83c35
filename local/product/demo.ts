/**
 * The guided demo: invoice-bot, acting for dave, asks for five realistic things at once, so a
 * newcomer sees every path of the product within a minute. The requests go through the front door
 * like any agent's: SigV4-signed PutEvents with the agent's own keys.
 */
import { randomUUID } from 'node:crypto';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
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

/** What each request shows: one IAM attach for platform, an admin attach for two, an export for security, a forbidden key deletion, an auto-allowed read. */
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

/** Sends the demo requests as the agent; returns their request ids in scenario order. */
export async function runDemo(target: DemoTarget): Promise<string[]> {
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
