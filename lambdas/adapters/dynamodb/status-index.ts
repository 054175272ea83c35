/**
 * Listing items newest first through the table's status index (`gsi1pk` = a status partition,
 * `gsi1sk` = `<time>#<id>`), merged over several partitions, filtered by what the caller may see,
 * in pages with an opaque cursor. Requests, privileged calls and reviews are listed this way.
 */
import type { DynamoDBDocumentClient, QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Page } from '../../ports/index.ts';
import { decodeCursor, encodeCursor } from './list-cursor.ts';
import type { Item } from './request-item.ts';
import { TABLE_LAYOUT } from './table-layout.ts';

export const LIST_LIMIT = { default: 25, max: 100 } as const;

/**
 * How many windows of `limit` items one list call reads at most while filtering: a caller who may
 * read few items gets a short page with a cursor instead of the call scanning everything.
 */
export const MAX_WINDOWS_PER_PAGE = 10;

export interface StatusIndexQuery<T> {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** The status partitions to merge (one per status asked for). */
  readonly partitions: readonly string[];
  readonly limit?: number;
  readonly cursor?: string;
  readonly visible?: (value: T) => boolean;
  /** Validates an item into the value listed. */
  readonly read: (item: Item) => T;
}

function queryPartition(
  query: Pick<StatusIndexQuery<unknown>, 'client' | 'tableName'>,
  partition: string,
  limit: number,
  before: string | undefined,
): Promise<QueryCommandOutput> {
  const index = TABLE_LAYOUT.statusIndex;
  return query.client.send(
    new QueryCommand({
      TableName: query.tableName,
      IndexName: index.name,
      KeyConditionExpression: before === undefined ? '#pk = :pk' : '#pk = :pk AND #sk < :before',
      ExpressionAttributeNames: {
        '#pk': index.partitionKey,
        ...(before === undefined ? {} : { '#sk': index.sortKey }),
      },
      ExpressionAttributeValues: { ':pk': partition, ...(before === undefined ? {} : { ':before': before }) },
      ScanIndexForward: false,
      Limit: limit,
    }),
  );
}

/**
 * DynamoDB orders string sort keys by bytes; the keys are ASCII, where code-unit order is byte order.
 * Index sort keys end in a unique id, so two are never equal.
 */
function byteOrderDescending(a: string, b: string): number {
  return a < b ? 1 : -1;
}

/**
 * Newest first. Each window reads up to `limit` items per partition below the position and merges
 * them; only the first `limit` of the merge are certainly the newest overall, so only those are
 * examined, and the next window starts after the last one examined. Items `visible` leaves out
 * are read past, up to MAX_WINDOWS_PER_PAGE windows a call; the cursor then continues from there.
 */
export async function listByStatus<T>(query: StatusIndexQuery<T>): Promise<Page<T>> {
  const limit = Math.min(Math.max(Math.trunc(query.limit ?? LIST_LIMIT.default), 1), LIST_LIMIT.max);
  const visible = query.visible ?? (() => true);
  const sortKey = TABLE_LAYOUT.statusIndex.sortKey;
  let before = query.cursor === undefined ? undefined : decodeCursor(query.cursor).before;
  const items: T[] = [];
  for (let window = 0; window < MAX_WINDOWS_PER_PAGE; window += 1) {
    const pages = await Promise.all(
      query.partitions.map((partition) => queryPartition(query, partition, limit, before)),
    );
    const merged = pages
      .flatMap((page) => page.Items ?? [])
      .sort((a, b) => byteOrderDescending(String(a[sortKey]), String(b[sortKey])));
    const examined = merged.slice(0, limit);
    const more = merged.length > limit || pages.some((page) => page.LastEvaluatedKey !== undefined);
    for (const [index, item] of examined.entries()) {
      before = String(item[sortKey]);
      const value = query.read(item);
      if (!visible(value)) continue;
      items.push(value);
      if (items.length === limit) {
        const rest = more || index < examined.length - 1;
        return { items, ...(rest ? { cursor: encodeCursor({ before }) } : {}) };
      }
    }
    if (!more || examined.length === 0) return { items };
  }
  // Every window examined something, so `before` is the last item examined.
  return { items, cursor: encodeCursor({ before: before! }) };
}
