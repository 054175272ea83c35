/**
 * Audit histories for query tests: the records one request leaves (REQUESTED, EVALUATED,
 * NOTIFIED, votes, refusals, DECIDED, SIGNED), valid AuditRecords numbered 1, 2, 3 …, and the
 * archive they are written to through the archive's own service and S3 adapter, with the twin's
 * Athena (DuckDB) beside the twin's S3 on one front.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { AthenaClient } from '@aws-sdk/client-athena';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { S3AuditArchive } from '../../lambdas/adapters/s3/s3-audit-archive.ts';
import { archiveLine, archiveObjectKey, partitionOf } from '../../lambdas/domain/audit-archive.ts';
import { NAMED_AUDIT_QUERIES } from '../../lambdas/domain/audit-queries.ts';
import { AUDIT_SCHEMA_VERSION, type AuditRecord } from '../../lambdas/domain/audit-record.ts';
import { archiveAuditRecords } from '../../lambdas/services/archive-audit-records.ts';
import { ArchiveFileCache } from '../../local/aws/athena/archive-files.ts';
import { ArchiveQueryEngine } from '../../local/aws/athena/duckdb-engine.ts';
import { athenaService, LocalAthena, templateResourceUuid } from '../../local/aws/athena/service.ts';
import { createKeyRing } from '../../local/aws/front/credentials.ts';
import { createAwsFront } from '../../local/aws/front/front.ts';
import type { AwsCaller } from '../../local/aws/front/service.ts';
import { jsonResponse } from '../../local/aws/http.ts';
import { createLocalS3 } from '../../local/aws/s3/index.ts';
import { s3Service } from '../../local/aws/s3/service.ts';
import { startTwinServer } from '../../local/twin/server.ts';
import { createLockedBucket, streamed } from './audit-archive.ts';
import { s3Client, TEST_CREDENTIALS, TEST_REGION } from './s3-server.ts';

export const ARCHIVE_BUCKET = 'countersign-audit';
export const WORKGROUP = 'countersign';
export const RESULTS_LOCATION = 's3://countersign-athena-results/results/';

export interface RequestStory {
  readonly requestId: string;
  readonly agent: string;
  readonly action: string;
  readonly resource: string;
  readonly requestedAt: string;
  /** @default 'APPROVED' when approvers are given, else undefined (still pending) */
  readonly decision?: 'APPROVED' | 'DENIED' | 'EXPIRED' | 'AUTO_APPROVED' | 'POLICY_DENIED';
  /** @default [] */
  readonly approvers?: readonly string[];
  /** Approvers who voted deny. @default [] */
  readonly deniers?: readonly string[];
  /** Refused attempts: who and the code. @default [] */
  readonly refused?: readonly { readonly actor: string; readonly code: string }[];
  /** @default 60 */
  readonly decidedAfterSeconds?: number;
  /** @default ['approval-for-exports'] */
  readonly policyIds?: readonly string[];
  readonly classification?: {
    status: 'CLASSIFIED' | 'UNCLASSIFIED' | 'FAILED';
    severity: 'Low' | 'Medium' | 'High' | null;
    categories: string[];
    types: string[];
  };
}

/**
 * Two days of requests the query tests share: r1 approved with a self-approval attempt and an
 * ineligible vote refused, r2 approved by two, r3 denied, r4 still pending.
 */
export function sampleStories(day1: string, day2: string): RequestStory[] {
  return [
    {
      requestId: 'invoice-bot:r1',
      agent: 'invoice-bot',
      action: 's3:GetObject',
      resource: 'arn:aws:s3:::invoices/2025/01.csv',
      requestedAt: `${day1}T09:00:00.000Z`,
      approvers: ['alice'],
      decidedAfterSeconds: 60,
      refused: [
        { actor: 'bob', code: 'NOT_IN_GROUP' },
        { actor: 'invoice-owner', code: 'REQUESTER' },
      ],
    },
    {
      requestId: 'invoice-bot:r2',
      agent: 'invoice-bot',
      action: 's3:GetObject',
      resource: 'arn:aws:s3:::invoices/2025/02.csv',
      requestedAt: `${day1}T10:00:00.000Z`,
      approvers: ['alice', 'carol'],
      decidedAfterSeconds: 120,
    },
    {
      requestId: 'deploy-bot:r3',
      agent: 'deploy-bot',
      action: 'iam:AttachRolePolicy',
      resource: 'arn:aws:iam::000000000000:role/app',
      requestedAt: `${day2}T08:00:00.000Z`,
      decision: 'DENIED',
      deniers: ['carol'],
      decidedAfterSeconds: 300,
      policyIds: ['iam-changes'],
    },
    {
      requestId: 'deploy-bot:r4',
      agent: 'deploy-bot',
      action: 'kms:ScheduleKeyDeletion',
      resource: 'arn:aws:kms:us-east-1:000000000000:key/k1',
      requestedAt: `${day2}T11:00:00.000Z`,
    },
  ];
}

const later = (at: string, seconds: number) => new Date(Date.parse(at) + seconds * 1000).toISOString();

/** The records a request leaves, in order, numbered from 1. */
export function requestRecords(story: RequestStory): AuditRecord[] {
  const approvers = story.approvers ?? [];
  const deniers = story.deniers ?? [];
  const decision = story.decision ?? (approvers.length > 0 ? 'APPROVED' : undefined);
  const decidedAt = later(story.requestedAt, story.decidedAfterSeconds ?? 60);
  const facts: Omit<AuditRecord, 'schemaVersion' | 'seq' | 'requestId'>[] = [
    {
      kind: 'REQUESTED',
      key: 'REQUESTED',
      at: story.requestedAt,
      actor: story.agent,
      data: {
        action: story.action,
        resource: story.resource,
        actionHash: 'a'.repeat(64),
        sourceEventId: `evt-${story.requestId}`,
        executionArn: `arn:aws:states:us-east-1:000000000000:execution:approval:${story.requestId}`,
      },
    },
    {
      kind: 'EVALUATED',
      key: 'EVALUATED',
      at: later(story.requestedAt, 1),
      actor: 'countersign',
      data: {
        decision: 'REQUIRE_APPROVAL',
        groups: ['security'],
        quorum: Math.max(1, approvers.length),
        timeoutSeconds: 3600,
        stepUp: false,
        policyIds: [...(story.policyIds ?? ['approval-for-exports'])],
        reason: 'exports need approval',
        ...(story.classification === undefined ? {} : { classification: story.classification }),
      },
    },
    {
      kind: 'NOTIFIED',
      key: 'NOTIFIED',
      at: later(story.requestedAt, 2),
      actor: 'countersign',
      data: { groups: ['security'], quorum: Math.max(1, approvers.length) },
    },
    ...(story.refused ?? []).map((attempt, index) => ({
      kind: 'REFUSED' as const,
      key: `REFUSED#${attempt.actor}#${attempt.code}`,
      at: later(story.requestedAt, 3 + index),
      actor: attempt.actor,
      data: { channel: 'api' as const, code: attempt.code, vote: 'approve' as const },
    })),
    ...[
      ...approvers.map((who) => [who, 'approve'] as const),
      ...deniers.map((who) => [who, 'deny'] as const),
    ].map(([who, vote], index) => ({
      kind: 'VOTED' as const,
      key: `VOTED#${who}`,
      at: later(story.requestedAt, 10 + index),
      actor: who,
      data: { vote, channel: 'console' as const },
    })),
    ...(decision === undefined
      ? []
      : [
          {
            kind: 'DECIDED' as const,
            key: 'DECIDED',
            at: decidedAt,
            actor: 'countersign',
            data: { decision, approvers: [...approvers] },
          },
          {
            kind: 'SIGNED' as const,
            key: 'SIGNED',
            at: decidedAt,
            actor: 'countersign',
            data: {
              keyId: 'kid-1',
              issuedAt: decidedAt,
              expiresAt: later(decidedAt, 3600),
              receiptSha256: 'b'.repeat(64),
            },
          },
        ]),
  ];
  return facts.map(
    (fact, index) =>
      ({
        schemaVersion: AUDIT_SCHEMA_VERSION,
        requestId: story.requestId,
        seq: index + 1,
        ...fact,
      }) as AuditRecord,
  );
}

/** A record of a kind or value this branch's AuditRecord does not know yet (issue 12's). */
export type LooseRecord = Omit<AuditRecord, 'kind' | 'data'> & {
  kind: string;
  data: Record<string, unknown>;
};

function loose(
  requestId: string,
  facts: Omit<LooseRecord, 'schemaVersion' | 'seq' | 'requestId'>[],
): LooseRecord[] {
  return facts.map((fact, index) => ({
    schemaVersion: AUDIT_SCHEMA_VERSION as typeof AUDIT_SCHEMA_VERSION,
    requestId,
    seq: index + 1,
    ...fact,
  }));
}

const REVIEW_CHANNEL = 'console';

/**
 * A break-glass use as issue 12 records it: asked, decided BREAK_GLASS at once, the call it made
 * RECONCILED under the request, and (when given) the after-the-fact review closed as REVIEWED.
 */
export function breakGlassRecords(story: {
  readonly requestId: string;
  readonly agent: string;
  readonly action: string;
  readonly resource: string;
  readonly requestedAt: string;
  readonly review?: { readonly actor: string; readonly outcome: 'ACKNOWLEDGED' | 'ESCALATED' };
}): LooseRecord[] {
  const [requested] = requestRecords({ ...story });
  const eventId = `evt-${story.requestId.replace(':', '-')}`;
  return loose(story.requestId, [
    requested!,
    {
      kind: 'DECIDED',
      key: 'DECIDED',
      at: later(story.requestedAt, 1),
      actor: 'countersign',
      data: { decision: 'BREAK_GLASS', approvers: [] },
    },
    {
      kind: 'RECONCILED',
      key: `RECONCILED#${eventId}`,
      at: later(story.requestedAt, 30),
      actor: 'countersign',
      data: {
        eventId,
        status: 'BREAK_GLASS',
        action: story.action,
        resourceArn: story.resource,
        principalArn: `arn:aws:iam::000000000000:role/agent-${story.agent}`,
        eventTime: later(story.requestedAt, 29),
      },
    },
    ...(story.review === undefined
      ? []
      : [
          {
            kind: 'REVIEWED',
            key: 'REVIEWED',
            at: later(story.requestedAt, 3600),
            actor: story.review.actor,
            data: { outcome: story.review.outcome, reason: 'incident closed', channel: REVIEW_CHANNEL },
          },
        ]),
  ]);
}

/** A privileged call no approval covered (RECONCILED UNAPPROVED) and, when given, its review. */
export function unapprovedCallRecords(story: {
  readonly requestId: string;
  readonly agent: string;
  readonly action: string;
  readonly resource: string;
  readonly calledAt: string;
  readonly review?: { readonly actor: string; readonly outcome: 'ACKNOWLEDGED' | 'ESCALATED' };
}): LooseRecord[] {
  const eventId = `evt-${story.requestId.replace(':', '-')}`;
  return loose(story.requestId, [
    {
      kind: 'RECONCILED',
      key: `RECONCILED#${eventId}`,
      at: story.calledAt,
      actor: 'countersign',
      data: {
        eventId,
        status: 'UNAPPROVED',
        action: story.action,
        resourceArn: story.resource,
        principalArn: `arn:aws:iam::000000000000:role/agent-${story.agent}`,
        eventTime: story.calledAt,
      },
    },
    ...(story.review === undefined
      ? []
      : [
          {
            kind: 'REVIEWED',
            key: 'REVIEWED',
            at: later(story.calledAt, 1800),
            actor: story.review.actor,
            data: { outcome: story.review.outcome, channel: REVIEW_CHANNEL },
          },
        ]),
  ]);
}

/**
 * Issue 12's records the query tests share: an unapproved call on day 2 (review escalated by alice)
 * and a break-glass use (its review open unless `breakGlassReview` closes it).
 */
export function sampleReconciliation(
  day2: string,
  breakGlassReview?: { readonly actor: string; readonly outcome: 'ACKNOWLEDGED' | 'ESCALATED' },
): LooseRecord[] {
  return [
    ...unapprovedCallRecords({
      requestId: 'deploy-bot:call-1',
      agent: 'deploy-bot',
      action: 's3:PutBucketPolicy',
      resource: 'arn:aws:s3:::invoices',
      calledAt: `${day2}T12:00:00.000Z`,
      review: { actor: 'alice', outcome: 'ESCALATED' },
    }),
    ...breakGlassRecords({
      requestId: 'deploy-bot:bg1',
      agent: 'deploy-bot',
      action: 'kms:DisableKey',
      resource: 'arn:aws:kms:us-east-1:000000000000:key/k2',
      requestedAt: `${day2}T12:10:00.000Z`,
      ...(breakGlassReview === undefined ? {} : { review: breakGlassReview }),
    }),
  ];
}

export interface AthenaTwin {
  readonly endpoint: string;
  readonly athena: AthenaClient;
  readonly archive: S3AuditArchive;
  /** Archives records as the archiver does (one object per run of records in the same hour). */
  archiveRecords(records: readonly AuditRecord[]): Promise<void>;
  /**
   * Writes records the archiver's schema refuses on this branch (issue 12's kinds) as archive
   * lines (`archiveLine`), one object per hour, as the archiver would once it knows them.
   */
  archiveLooseRecords(records: readonly LooseRecord[]): Promise<void>;
  close(): Promise<void>;
}

let sequence = 0;
const LOOSE_STREAM = '00000000000000aa';

/** The twin's S3 and Athena on one front (127.0.0.1, a free port), the archive bucket created. */
export async function startAthenaTwin(): Promise<AthenaTwin> {
  const directory = await mkdtemp(join(tmpdir(), 'countersign-athena-'));
  const log = () => undefined;
  const s3 = await createLocalS3<AwsCaller>({ directory: join(directory, 's3'), region: TEST_REGION, log });
  const cache = new ArchiveFileCache({
    directory: join(directory, 'athena'),
    reader: s3.reader,
    location: { bucket: ARCHIVE_BUCKET, prefix: 'audit/' },
  });
  const engine = await ArchiveQueryEngine.open({ root: cache.root, files: () => cache.sync() });
  const athena = new LocalAthena({
    engine,
    workGroups: [
      {
        name: WORKGROUP,
        enforce: true,
        outputLocation: RESULTS_LOCATION,
        bytesScannedCutoffPerQuery: 10 * 1024 ** 3,
        encryption: { EncryptionOption: 'SSE_KMS', KmsKey: 'arn:aws:kms:us-east-1:000000000000:key/k' },
      },
    ],
    namedQueries: NAMED_AUDIT_QUERIES.map((query) => ({
      id: templateResourceUuid(query.name),
      name: query.name,
      description: query.description,
      database: 'countersign',
      queryString: query.sql,
      workGroup: WORKGROUP,
    })),
  });
  const server = await startTwinServer({ port: 0, log });
  server.serve({
    aws: createAwsFront({
      services: [s3Service(s3), athenaService(athena)],
      keys: createKeyRing(TEST_CREDENTIALS, []),
      authorize: () => true,
      log,
    }),
    app: async () => jsonResponse(404, { message: 'not an AWS call' }),
  });
  const client = s3Client(server.url);
  await createLockedBucket(client, ARCHIVE_BUCKET);
  const archive = new S3AuditArchive({ client, bucket: ARCHIVE_BUCKET });
  const athenaClient = new AthenaClient({
    endpoint: server.url,
    region: TEST_REGION,
    credentials: { ...TEST_CREDENTIALS },
    maxAttempts: 1,
  });
  return {
    endpoint: server.url,
    athena: athenaClient,
    archive,
    async archiveRecords(records) {
      const streamedRecords = records.map((record) => {
        sequence += 1;
        return streamed(sequence, record);
      });
      const result = await archiveAuditRecords(
        { archive, clock: { now: () => new Date() }, retentionDays: 1 },
        streamedRecords,
      );
      if ('failure' in result && result.failure !== undefined) throw new Error(JSON.stringify(result));
    },
    async archiveLooseRecords(records) {
      const byHour = new Map<string, LooseRecord[]>();
      for (const record of records) {
        const { dt, hour } = partitionOf(record.at);
        byHour.set(`${dt}/${hour}`, [...(byHour.get(`${dt}/${hour}`) ?? []), record]);
      }
      for (const [partition, inHour] of byHour) {
        const [dt, hour] = partition.split('/') as [string, string];
        const first = sequence + 1;
        sequence += inHour.length;
        await client.send(
          new PutObjectCommand({
            Bucket: ARCHIVE_BUCKET,
            Key: archiveObjectKey({
              dt,
              hour,
              stream: LOOSE_STREAM,
              first: String(first),
              last: String(sequence),
            }),
            Body: gzipSync(inHour.map((record) => archiveLine(record as unknown as AuditRecord)).join('')),
          }),
        );
      }
    },
    async close() {
      athenaClient.destroy();
      client.destroy();
      await server.close();
      await athena.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
