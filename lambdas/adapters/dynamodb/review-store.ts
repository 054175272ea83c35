/**
 * The ReviewStore on the single table: a review is `REVIEW#<reviewId>` / `REVIEW`, listed in the
 * status index under `REVIEWS#OPEN` until it is closed (then `REVIEWS#CLOSED`), with its reminder
 * marks beside it. Opened with a conditional put, closed with a conditional update: once each.
 */
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { Review, ReviewStatus } from '../../domain/after-the-fact-review.ts';
import { NotFoundError } from '../../domain/errors.ts';
import { parse } from '../../domain/schemas.ts';
import type { Page, ReviewClosing, ReviewStore } from '../../ports/index.ts';
import { isConditionFailure, putIfAbsent } from './conditions.ts';
import { type Item, jsonOnly, recordOf } from './request-item.ts';
import { listByStatus } from './status-index.ts';
import { TABLE_LAYOUT, TableKey } from './table-layout.ts';

const { partitionKey: GSI_PK, sortKey: GSI_SK } = TABLE_LAYOUT.statusIndex;
/** BatchGetItem reads at most this many keys a call. */
const BATCH_GET_LIMIT = 100;
/** A reminder step is due once; its mark only has to outlive the runs whose windows could see it. */
const MARK_LIFETIME_SECONDS = 30 * 24 * 3600;

const fromReviewItem = (item: Item): Review => recordOf(Review, item, 'stored review');

export class DynamoDbReviewStore implements ReviewStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;

  constructor(options: { readonly client: DynamoDBDocumentClient; readonly tableName: string }) {
    this.#client = options.client;
    this.#tableName = options.tableName;
  }

  async open(review: Review): Promise<{ created: boolean; review: Review }> {
    const valid = parse(Review, review, 'review');
    const created = await putIfAbsent(this.#client, this.#tableName, {
      ...jsonOnly(valid),
      ...TableKey.review(valid.reviewId),
      [GSI_PK]: TableKey.reviewStatusPartition(valid.status === ReviewStatus.open),
      [GSI_SK]: TableKey.statusSort(valid.openedAt, valid.reviewId),
    });
    // Reviews are never deleted: a failed condition saw this one.
    return created ? { created, review: valid } : { created, review: (await this.get(valid.reviewId))! };
  }

  async get(reviewId: string): Promise<Review | undefined> {
    const { Item } = await this.#client.send(
      new GetCommand({ TableName: this.#tableName, Key: TableKey.review(reviewId), ConsistentRead: true }),
    );
    return Item === undefined ? undefined : fromReviewItem(Item);
  }

  async getMany(reviewIds: readonly string[]): Promise<Review[]> {
    const reviews: Review[] = [];
    const unique = [...new Set(reviewIds)];
    for (let start = 0; start < unique.length; start += BATCH_GET_LIMIT) {
      let keys: Record<string, unknown>[] | undefined = unique
        .slice(start, start + BATCH_GET_LIMIT)
        .map((reviewId) => TableKey.review(reviewId));
      while (keys !== undefined && keys.length > 0) {
        const result: BatchGetCommandOutput = await this.#client.send(
          new BatchGetCommand({ RequestItems: { [this.#tableName]: { Keys: keys, ConsistentRead: true } } }),
        );
        reviews.push(...(result.Responses?.[this.#tableName] ?? []).map(fromReviewItem));
        // What DynamoDB did not get to (throughput) is asked for again.
        keys = result.UnprocessedKeys?.[this.#tableName]?.Keys;
      }
    }
    return reviews;
  }

  async close(reviewId: string, closing: ReviewClosing): Promise<{ applied: boolean; review: Review }> {
    const values: Record<string, unknown> = {
      closedAt: closing.at.toISOString(),
      closedBy: closing.by,
      ...(closing.reason === undefined ? {} : { reason: closing.reason }),
      ...(closing.channel === undefined ? {} : { channel: closing.channel }),
    };
    const names = Object.keys(values);
    try {
      const { Attributes } = await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: TableKey.review(reviewId),
          UpdateExpression: `SET #status = :status, #gsi = :closed${names.map((name) => `, #${name} = :${name}`).join('')}`,
          ConditionExpression: '#status = :open',
          ExpressionAttributeNames: {
            '#status': 'status',
            '#gsi': GSI_PK,
            ...Object.fromEntries(names.map((name) => [`#${name}`, name])),
          },
          ExpressionAttributeValues: {
            ':status': closing.status,
            ':closed': TableKey.reviewStatusPartition(false),
            ':open': ReviewStatus.open,
            ...Object.fromEntries(names.map((name) => [`:${name}`, values[name]])),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { applied: true, review: fromReviewItem(Attributes as Item) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const stored = await this.get(reviewId);
      if (stored === undefined) throw new NotFoundError(`review ${reviewId} does not exist`);
      return { applied: false, review: stored };
    }
  }

  listOpen(query: { readonly limit?: number; readonly cursor?: string }): Promise<Page<Review>> {
    return listByStatus({
      client: this.#client,
      tableName: this.#tableName,
      partitions: [TableKey.reviewStatusPartition(true)],
      ...query,
      read: fromReviewItem,
    });
  }

  claimReminder(reviewId: string, step: string, at: Date): Promise<boolean> {
    return putIfAbsent(this.#client, this.#tableName, {
      ...TableKey.reviewReminderMark(reviewId, step),
      sentAt: at.toISOString(),
      [TABLE_LAYOUT.ttlAttribute]: Math.floor(at.getTime() / 1000) + MARK_LIFETIME_SECONDS,
    });
  }

  async releaseReminder(reviewId: string, step: string): Promise<void> {
    await this.#client.send(
      new DeleteCommand({ TableName: this.#tableName, Key: TableKey.reviewReminderMark(reviewId, step) }),
    );
  }
}
