/**
 * The table's stream as the archiver reads it: each record's sequence number and stream, and the
 * new image when the record is an audit item's insert (the event source mapping's filter lets only
 * those through; anything else that arrives is passed over, never archived).
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { parse } from '../../domain/schemas.ts';
import * as z from '../../domain/zod.ts';
import type { StreamedAuditRecord } from '../../ports/index.ts';
import { TABLE_LAYOUT, TableKey } from './table-layout.ts';

/** What Lambda hands a function for a DynamoDB stream: the parts its readers here use. */
export const DynamoDbStreamEvent = z.object({
  Records: z.array(
    z.object({
      eventName: z.enum(['INSERT', 'MODIFY', 'REMOVE']),
      eventSourceARN: z.string().check(z.minLength(1)),
      dynamodb: z.object({
        SequenceNumber: z.string().check(z.regex(/^\d{1,40}$/)),
        Keys: z.optional(z.record(z.string(), z.unknown())),
        NewImage: z.optional(z.record(z.string(), z.unknown())),
      }),
    }),
  ),
});

function isAuditInsert(record: z.infer<typeof DynamoDbStreamEvent>['Records'][number]): boolean {
  const sortKey = record.dynamodb.Keys?.[TABLE_LAYOUT.sortKey] as { S?: unknown } | undefined;
  return (
    record.eventName === 'INSERT' &&
    typeof sortKey?.S === 'string' &&
    sortKey.S.startsWith(TableKey.auditPrefix) &&
    record.dynamodb.NewImage !== undefined
  );
}

export function streamedAuditRecords(event: unknown): StreamedAuditRecord[] {
  return parse(DynamoDbStreamEvent, event, 'DynamoDB stream event').Records.map((record) => ({
    sequenceNumber: record.dynamodb.SequenceNumber,
    eventSourceArn: record.eventSourceARN,
    ...(isAuditInsert(record)
      ? { auditImage: unmarshall(record.dynamodb.NewImage as Record<string, AttributeValue>) }
      : {}),
  }));
}
