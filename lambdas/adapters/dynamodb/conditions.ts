/**
 * Conditional writes, the guard against races and redeliveries: telling a failed condition from a
 * real failure, and the one put every store makes once (unless its key exists).
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { TABLE_LAYOUT } from './table-layout.ts';

/** DynamoDB refused the write because its condition did not hold; `Item` is the item as it was, when returned. */
export function isConditionFailure(
  error: unknown,
): error is Error & { Item?: Record<string, AttributeValue> } {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** A conditional write: true when it was applied, false when its condition did not hold. */
export async function wasApplied(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** Puts `item` unless an item with its key exists: true when this call wrote it. */
export function putIfAbsent(
  client: DynamoDBDocumentClient,
  tableName: string,
  item: Record<string, unknown>,
): Promise<boolean> {
  return wasApplied(
    client.send(
      new PutCommand({
        TableName: tableName,
        Item: item,
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': TABLE_LAYOUT.partitionKey },
      }),
    ),
  );
}
