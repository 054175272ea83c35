/**
 * The ClassificationStore on the single table, in the bucket's partition (`CLASS#<bucket>`, keys in
 * table-layout.ts). A verdict carries its order (`verdictOrder(updatedAt, id)`) and is put with one
 * conditional write that applies only over an older one. The bucket aggregate is recomputed from
 * the object verdicts (a consistent query of the partition) and put on the condition that the
 * aggregate it started from is still the stored one (a revision number); a refresh that loses the
 * race starts again from the newer aggregate, so the last refresh to succeed has seen every verdict
 * written before it began: the aggregate converges whatever the order of the findings.
 */
import { isDeepStrictEqual } from 'node:util';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import {
  aggregateBucket,
  BucketClassification,
  BucketFinding,
  ClassificationAuditRecord,
  ObjectClassification,
  verdictOrder,
} from '../../domain/classification.ts';
import { CountersignError } from '../../domain/errors.ts';
import { parse } from '../../domain/schemas.ts';
import * as z from '../../domain/zod.ts';
import type { ClassificationStore, VerdictWrite } from '../../ports/index.ts';
import { isConditionFailure } from './conditions.ts';
import { type Item, jsonOnly, recordOf } from './request-item.ts';
import { TABLE_LAYOUT, TableKey } from './table-layout.ts';

const Attr = {
  pk: TABLE_LAYOUT.partitionKey,
  sk: TABLE_LAYOUT.sortKey,
  /** The verdict's order: a conditional write applies only over a smaller one. */
  order: 'verdictOrder',
  /** The aggregate's revision: the optimistic condition of a refresh. */
  revision: 'revision',
} as const;

/** How many times a refresh starts again after losing a race before it gives up (and is retried). */
const REFRESH_ATTEMPTS = 8;

const objectOf = (item: Item): ObjectClassification =>
  recordOf(ObjectClassification, item, 'stored object classification');
const bucketOf = (item: Item): BucketClassification =>
  recordOf(BucketClassification, item, 'stored bucket classification');
const bucketFindingOf = (item: Item): BucketFinding => recordOf(BucketFinding, item, 'stored bucket finding');
const auditRecordOf = (item: Item): ClassificationAuditRecord =>
  recordOf(ClassificationAuditRecord, item, 'stored classification audit record');

/** `s3://bucket` or `s3://bucket/key` as bucket and key. */
function parseSubject(subject: string): { bucket: string; key?: string } {
  const { subject: valid } = parse(
    z.pick(ClassificationAuditRecord, { subject: true }),
    { subject },
    'classification subject',
  );
  const path = valid.slice('s3://'.length);
  const slash = path.indexOf('/');
  return slash < 0 ? { bucket: path } : { bucket: path.slice(0, slash), key: path.slice(slash + 1) };
}

export class DynamoDbClassificationStore implements ClassificationStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;

  constructor(options: { readonly client: DynamoDBDocumentClient; readonly tableName: string }) {
    this.#client = options.client;
    this.#tableName = options.tableName;
  }

  async putObjectVerdict(verdict: ObjectClassification): Promise<VerdictWrite<ObjectClassification>> {
    const valid = parse(ObjectClassification, verdict, 'object classification');
    const previous = await this.#putNewer(
      TableKey.classificationObject(valid.bucket, valid.key),
      valid,
      verdictOrder(valid.updatedAt, valid.findingIds[0] ?? ''),
    );
    return previous === null ? { applied: false } : { applied: true, ...optional(previous, objectOf) };
  }

  async putBucketFinding(finding: BucketFinding): Promise<VerdictWrite<BucketFinding>> {
    const valid = parse(BucketFinding, finding, 'bucket finding');
    const previous = await this.#putNewer(
      TableKey.bucketFinding(valid.bucket, valid.type),
      valid,
      verdictOrder(valid.updatedAt, valid.findingId),
    );
    return previous === null ? { applied: false } : { applied: true, ...optional(previous, bucketFindingOf) };
  }

  async refreshBucket(bucket: string): Promise<{ changed: boolean; aggregate?: BucketClassification }> {
    for (let attempt = 0; attempt < REFRESH_ATTEMPTS; attempt += 1) {
      const stored = await this.#get(TableKey.classificationBucket(bucket));
      const objects = await this.#queryPartition(bucket, TableKey.classificationObjectPrefix);
      const aggregate = aggregateBucket(bucket, objects.map(objectOf));
      const current = stored === undefined ? undefined : bucketOf(stored);
      if (aggregate === undefined || isDeepStrictEqual(aggregate, current)) {
        return { changed: false, ...(current === undefined ? {} : { aggregate: current }) };
      }
      const revision = stored === undefined ? 0 : Number(stored[Attr.revision]);
      try {
        await this.#client.send(
          new PutCommand({
            TableName: this.#tableName,
            Item: {
              ...jsonOnly(aggregate),
              ...TableKey.classificationBucket(bucket),
              [Attr.revision]: revision + 1,
            },
            ConditionExpression: stored === undefined ? 'attribute_not_exists(#pk)' : '#revision = :revision',
            ExpressionAttributeNames:
              stored === undefined ? { '#pk': Attr.pk } : { '#revision': Attr.revision },
            ...(stored === undefined ? {} : { ExpressionAttributeValues: { ':revision': revision } }),
          }),
        );
        return { changed: true, aggregate };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    throw new CountersignError(
      `the classification of bucket ${bucket} kept changing during ${REFRESH_ATTEMPTS} refreshes; retry`,
    );
  }

  async objectVerdict(bucket: string, key: string): Promise<ObjectClassification | undefined> {
    const item = await this.#get(TableKey.classificationObject(bucket, key));
    return item === undefined ? undefined : objectOf(item);
  }

  async bucketVerdict(bucket: string): Promise<BucketClassification | undefined> {
    const item = await this.#get(TableKey.classificationBucket(bucket));
    return item === undefined ? undefined : bucketOf(item);
  }

  async bucketFindings(bucket: string): Promise<BucketFinding[]> {
    return (await this.#queryPartition(bucket, TableKey.bucketFindingPrefix)).map(bucketFindingOf);
  }

  async appendAudit(record: ClassificationAuditRecord): Promise<void> {
    const valid = parse(ClassificationAuditRecord, record, 'classification audit record');
    const { bucket, key } = parseSubject(valid.subject);
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#tableName,
          Item: { ...jsonOnly(valid), ...TableKey.classificationAudit(bucket, key, valid.key) },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': Attr.pk },
        }),
      );
    } catch (error) {
      // The same fact written again (a redelivery) keeps the first record: audit is append-only.
      if (!isConditionFailure(error)) throw error;
    }
  }

  async listAudit(subject: string): Promise<ClassificationAuditRecord[]> {
    const { bucket, key } = parseSubject(subject);
    const items = await this.#queryPartition(bucket, TableKey.classificationAuditPrefix(key));
    return items.map(auditRecordOf).sort((a, b) => a.at.localeCompare(b.at) || a.key.localeCompare(b.key));
  }

  /**
   * Puts the value unless the stored item's order is as large: one conditional write. Returns the
   * replaced item (undefined when there was none), or null when the stored one is as new or newer.
   */
  async #putNewer(key: Item, value: object, order: string): Promise<Item | undefined | null> {
    try {
      const result = await this.#client.send(
        new PutCommand({
          TableName: this.#tableName,
          Item: { ...jsonOnly(value), ...key, [Attr.order]: order },
          ConditionExpression: 'attribute_not_exists(#pk) OR #order < :order',
          ExpressionAttributeNames: { '#pk': Attr.pk, '#order': Attr.order },
          ExpressionAttributeValues: { ':order': order },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return result.Attributes;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return null;
    }
  }

  async #get(key: Item): Promise<Item | undefined> {
    const result = await this.#client.send(
      new GetCommand({ TableName: this.#tableName, Key: key, ConsistentRead: true }),
    );
    return result.Item;
  }

  async #queryPartition(bucket: string, sortPrefix: string): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page: QueryCommandOutput = await this.#client.send(
        new QueryCommand({
          TableName: this.#tableName,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
          ExpressionAttributeNames: { '#pk': Attr.pk, '#sk': Attr.sk },
          ExpressionAttributeValues: {
            ':pk': TableKey.classificationPartition(bucket),
            ':prefix': sortPrefix,
          },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }
}

function optional<T>(item: Item | undefined, read: (item: Item) => T): { previous?: T } {
  return item === undefined ? {} : { previous: read(item) };
}
