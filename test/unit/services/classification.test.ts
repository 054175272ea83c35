/**
 * Macie findings into the table and back out as request classifications, on the real
 * DynamoDbClassificationStore (dynalite): replays and out-of-order findings change nothing, the
 * bucket aggregate converges under concurrent findings, every change is audited, malformed findings
 * store nothing, and lookups that fail are FAILED.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbClassificationStore } from '../../../lambdas/adapters/dynamodb/classification-store.ts';
import { TableKey } from '../../../lambdas/adapters/dynamodb/table-layout.ts';
import { ValidationError } from '../../../lambdas/domain/errors.ts';
import { parseFindingEvent } from '../../../lambdas/domain/macie-finding-schema.ts';
import type { ClassificationStore } from '../../../lambdas/ports/index.ts';
import { lookUpClassification, recordFinding } from '../../../lambdas/services/classification.ts';
import { type LocalTable, startDynalite } from '../../support/dynalite.ts';
import { NOW } from '../domain/fixtures.ts';
import { ManualClock } from './fakes.ts';

// biome-ignore lint/suspicious/noExplicitAny: fixtures are edited freely
type Json = any;

const fixture = (name: string): Json =>
  JSON.parse(readFileSync(new URL(`../../fixtures/macie/${name}`, import.meta.url), 'utf8'));

let table: LocalTable;
let store: DynamoDbClassificationStore;
const clock = new ManualClock(NOW);
let sequence = 0;

beforeAll(async () => {
  table = await startDynalite();
  store = new DynamoDbClassificationStore({ client: table.client, tableName: table.tableName });
});

afterAll(async () => {
  await table.close();
});

/** The CSV finding (High: cards and SSNs) about a fresh bucket and key, with the given id and time. */
function cardsFinding(
  overrides: { bucket?: string; key?: string; id?: string; updatedAt?: string; severity?: string } = {},
): Json {
  const event = fixture('sensitive-data-finding-multiple-csv.eventbridge.json');
  const finding = event.detail;
  finding.resourcesAffected.s3Bucket.name = overrides.bucket ?? finding.resourcesAffected.s3Bucket.name;
  finding.resourcesAffected.s3Object.key = overrides.key ?? finding.resourcesAffected.s3Object.key;
  finding.id = overrides.id ?? finding.id;
  finding.updatedAt = overrides.updatedAt ?? finding.updatedAt;
  if (overrides.severity !== undefined) finding.severity = { description: overrides.severity, score: 1 };
  return event;
}

function freshBucket(): string {
  sequence += 1;
  return `bucket-${sequence}`;
}

const deps = () => ({ store, clock });
const ingest = (event: Json) => recordFinding(deps(), parseFindingEvent(event));

async function tableItems(bucket: string): Promise<unknown[]> {
  const { QueryCommand } = await import('@aws-sdk/lib-dynamodb');
  const page = await table.client.send(
    new QueryCommand({
      TableName: table.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': TableKey.classificationPartition(bucket) },
    }),
  );
  return page.Items ?? [];
}

describe('a sensitive-data finding', () => {
  it('classifies its object and its bucket, and audits both changes', async () => {
    const bucket = freshBucket();
    const outcome = await ingest(cardsFinding({ bucket, key: 'exports/2026/cards.csv' }));
    expect(outcome).toEqual({
      kind: 'object',
      subject: `s3://${bucket}/exports/2026/cards.csv`,
      applied: true,
      bucketChanged: true,
    });
    const object = await lookUpClassification(deps(), {
      kind: 'object',
      bucket,
      key: 'exports/2026/cards.csv',
    });
    expect(object).toMatchObject({
      status: 'CLASSIFIED',
      severity: 'High',
      categories: ['FINANCIAL_INFORMATION', 'PERSONAL_INFORMATION'],
      findingIds: ['00000000000000000000000000000001'],
      classifiedAt: '2021-10-25T23:25:04.250Z',
      subject: `s3://${bucket}/exports/2026/cards.csv`,
    });
    expect(await lookUpClassification(deps(), { kind: 'bucket', bucket })).toMatchObject({
      status: 'CLASSIFIED',
      severity: 'High',
      subject: `s3://${bucket}`,
    });
    const audit = await store.listAudit(`s3://${bucket}`);
    expect(audit.map((record) => [record.kind, record.subject, record.data.scope])).toEqual([
      ['CLASSIFICATION_CHANGED', `s3://${bucket}/exports/2026/cards.csv`, 'object'],
      ['CLASSIFICATION_CHANGED', `s3://${bucket}`, 'bucket'],
    ]);
    expect(await store.listAudit(`s3://${bucket}/exports/2026/cards.csv`)).toHaveLength(1);
  });

  it('delivered twice changes nothing the second time', async () => {
    const bucket = freshBucket();
    await ingest(cardsFinding({ bucket }));
    const before = await tableItems(bucket);
    const again = await ingest(cardsFinding({ bucket }));
    expect(again).toMatchObject({ applied: false, bucketChanged: false });
    expect(await tableItems(bucket)).toEqual(before);
  });

  it('older than the stored one changes nothing; newer replaces it', async () => {
    const bucket = freshBucket();
    await ingest(cardsFinding({ bucket, id: 'new', updatedAt: '2026-11-30T10:00:00Z' }));
    const before = await tableItems(bucket);
    const older = await ingest(cardsFinding({ bucket, id: 'old', updatedAt: '2026-11-30T09:00:00.000Z' }));
    expect(older).toMatchObject({ applied: false, bucketChanged: false });
    expect(await tableItems(bucket)).toEqual(before);

    const newer = await ingest(
      cardsFinding({ bucket, id: 'newest', updatedAt: '2026-11-30T11:00:00Z', severity: 'Low' }),
    );
    expect(newer).toMatchObject({ applied: true, bucketChanged: true });
    const verdict = await store.objectVerdict(bucket, 'macie-workshop/sample-data.csv');
    expect(verdict).toMatchObject({ severity: 'Low', findingIds: ['newest'] });
    const objectAudit = await store.listAudit(`s3://${bucket}/macie-workshop/sample-data.csv`);
    expect(objectAudit.at(-1)?.data).toMatchObject({ severity: 'Low', previousSeverity: 'High' });
    expect((await store.bucketVerdict(bucket))?.severity).toBe('Low');
  });

  it('in any order, however delivered, converges to the same object and bucket classification', async () => {
    const findings = [
      { key: 'a.csv', id: 'a1', updatedAt: '2026-11-30T08:00:00Z', severity: 'Medium' },
      { key: 'a.csv', id: 'a2', updatedAt: '2026-11-30T09:00:00Z', severity: 'Low' },
      { key: 'b.csv', id: 'b1', updatedAt: '2026-11-30T08:30:00Z', severity: 'High' },
      { key: 'c.csv', id: 'c1', updatedAt: '2026-11-30T08:45:00Z', severity: 'Medium' },
      { key: 'b.csv', id: 'b0', updatedAt: '2026-11-30T07:00:00Z', severity: 'Low' },
    ];
    const results: unknown[] = [];
    for (const order of [
      [0, 1, 2, 3, 4],
      [4, 3, 2, 1, 0],
      [1, 4, 0, 2, 3],
    ]) {
      const bucket = freshBucket();
      // All at once, and each one a second time: concurrent refreshes of the one bucket aggregate.
      await Promise.all(
        [...order, ...order].map((index) => ingest(cardsFinding({ bucket, ...findings[index]! }))),
      );
      const aggregate = await store.bucketVerdict(bucket);
      const objects = await Promise.all(
        ['a.csv', 'b.csv', 'c.csv'].map((key) => store.objectVerdict(bucket, key)),
      );
      results.push({
        aggregate: { ...aggregate, bucket: undefined },
        objects: objects.map((object) => ({ ...object, bucket: undefined })),
      });
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
    expect(results[0]).toMatchObject({
      aggregate: { severity: 'High', objects: 3, findingIds: ['a2', 'c1', 'b1'] },
      objects: [{ findingIds: ['a2'] }, { findingIds: ['b1'] }, { findingIds: ['c1'] }],
    });
  });

  it('about a key longer than a sort key allows is kept under its hash', async () => {
    const bucket = freshBucket();
    const key = `${'deep/'.repeat(200)}x.csv`;
    await ingest(cardsFinding({ bucket, key }));
    expect((await store.objectVerdict(bucket, key))?.key).toBe(key);
  });

  it('that is a sample is ignored', async () => {
    const bucket = freshBucket();
    const event = cardsFinding({ bucket });
    event.detail.sample = true;
    expect(await ingest(event)).toEqual({
      kind: 'ignored',
      reason: 'a sample finding describes no real object',
    });
    expect(await tableItems(bucket)).toEqual([]);
  });
});

describe('a malformed finding', () => {
  it('is refused with the paths that are wrong and no value from it, and stores nothing', async () => {
    const bucket = freshBucket();
    const event = cardsFinding({ bucket });
    event.detail.severity.description = 'Catastrophic';
    event.detail.updatedAt = 'not-a-time';
    const failure = (() => {
      try {
        parseFindingEvent(event);
      } catch (error) {
        return error;
      }
    })();
    expect(failure).toBeInstanceOf(ValidationError);
    const message = (failure as ValidationError).message;
    expect(message).toMatch(/^malformed Macie finding event: /);
    expect(message).toContain('detail.severity.description');
    expect(message).toContain('detail.updatedAt');
    for (const leaked of ['Catastrophic', 'not-a-time', bucket, 'sample-data.csv']) {
      expect(message).not.toContain(leaked);
    }
    expect(await tableItems(bucket)).toEqual([]);
  });
});

describe('a policy finding', () => {
  it('is a fact about its bucket, replaced only by a newer occurrence', async () => {
    const event = fixture('policy-finding-S3BucketPublic.eventbridge.CONSTRUCTED.json');
    const bucket = freshBucket();
    event.detail.resourcesAffected.s3Bucket.name = bucket;
    expect(await ingest(event)).toEqual({ kind: 'bucket', subject: `s3://${bucket}`, applied: true });
    expect(await ingest(event)).toEqual({ kind: 'bucket', subject: `s3://${bucket}`, applied: false });
    event.detail.count = 3;
    event.detail.updatedAt = '2024-05-14T15:00:00Z';
    expect(await ingest(event)).toMatchObject({ applied: true });
    expect(await store.bucketFindings(bucket)).toEqual([
      expect.objectContaining({ type: 'Policy:IAMUser/S3BucketPublic', count: 3, severity: 'High' }),
    ]);
    const audit = await store.listAudit(`s3://${bucket}`);
    expect(audit.map((record) => record.data)).toEqual([
      expect.objectContaining({ scope: 'bucket-policy', count: 1 }),
      expect.objectContaining({ scope: 'bucket-policy', count: 3, previousCount: 1 }),
    ]);
    // A policy finding says nothing about the data: the bucket has no data classification from it.
    expect(await lookUpClassification(deps(), { kind: 'bucket', bucket })).toMatchObject({
      status: 'UNCLASSIFIED',
    });
  });
});

describe('looking up a classification', () => {
  it('is nothing for other resources, FAILED for unresolvable ones, UNCLASSIFIED for unknown objects', async () => {
    expect(await lookUpClassification(deps(), { kind: 'none' })).toBeUndefined();
    expect(await lookUpClassification(deps(), { kind: 'unresolvable', reason: 'two sources' })).toMatchObject(
      {
        status: 'FAILED',
        reason: 'which S3 data the request touches is unclear: two sources',
      },
    );
    expect(
      await lookUpClassification(deps(), { kind: 'object', bucket: freshBucket(), key: 'k' }),
    ).toMatchObject({
      status: 'UNCLASSIFIED',
    });
  });

  it('that fails is FAILED, never UNCLASSIFIED', async () => {
    const broken = {
      objectVerdict: () => Promise.reject(new Error('ProvisionedThroughputExceededException')),
    } as unknown as ClassificationStore;
    expect(await lookUpClassification({ store: broken }, { kind: 'object', bucket: 'b', key: 'k' })).toEqual({
      status: 'FAILED',
      severity: null,
      categories: [],
      types: [],
      findingIds: [],
      source: 'macie',
      classifiedAt: null,
      subject: 's3://b/k',
      reason: 'the classification could not be read: ProvisionedThroughputExceededException',
    });
    const thrower = { objectVerdict: () => Promise.reject('down') } as unknown as ClassificationStore;
    expect(
      await lookUpClassification({ store: thrower }, { kind: 'object', bucket: 'b', key: 'k' }),
    ).toMatchObject({
      reason: 'the classification could not be read: down',
    });
  });
});
