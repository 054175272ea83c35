/**
 * The table's stream as the fast path's follow-up reads it: each record's sequence number and, when
 * the record is the insert of a request the fast path decided, that request, read from the new image
 * by the request store's own item mapping (the event source mapping's filter lets only those
 * through; anything else that arrives is passed over).
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { FAST_PATH_OWNER, parse } from '../../domain/schemas.ts';
import type * as z from '../../domain/zod.ts';
import type { StreamedFastDecision } from '../../ports/index.ts';
import { DynamoDbStreamEvent } from './audit-stream.ts';
import { Attr, fromRequestItem } from './request-item.ts';
import { TABLE_LAYOUT, TableKey } from './table-layout.ts';

type StreamRecord = z.infer<typeof DynamoDbStreamEvent>['Records'][number];

function fastDecisionImage(record: StreamRecord): Record<string, unknown> | undefined {
  const sortKey = record.dynamodb.Keys?.[TABLE_LAYOUT.sortKey] as { S?: unknown } | undefined;
  const image = record.dynamodb.NewImage;
  if (record.eventName !== 'INSERT' || image === undefined) return undefined;
  if (sortKey?.S !== TableKey.requestSortKey) return undefined;
  const item = unmarshall(image as Record<string, AttributeValue>);
  return item[Attr.executionArn] === FAST_PATH_OWNER ? item : undefined;
}

function read(record: StreamRecord): StreamedFastDecision {
  const sequenceNumber = record.dynamodb.SequenceNumber;
  const item = fastDecisionImage(record);
  if (item === undefined) return { sequenceNumber };
  try {
    return { sequenceNumber, record: fromRequestItem(item) };
  } catch (error) {
    return { sequenceNumber, unreadable: error };
  }
}

export function streamedFastDecisions(event: unknown): StreamedFastDecision[] {
  return parse(DynamoDbStreamEvent, event, 'DynamoDB stream event').Records.map(read);
}
