/** Telling a failed write condition (the guard against races and redeliveries) from a real failure. */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/** DynamoDB refused the write because its condition did not hold; `Item` is the item as it was, when returned. */
export function isConditionFailure(
  error: unknown,
): error is Error & { Item?: Record<string, AttributeValue> } {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}
