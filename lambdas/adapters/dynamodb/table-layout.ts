/**
 * The single table's layout — its key attributes, index and TTL, and every key of every item kind —
 * shared by the DynamoDB adapters, the CDK table construct and the local twin (which creates the
 * same table in its embedded DynamoDB from the synthesized template). This is the one place that
 * spells a key prefix.
 */
export const TABLE_LAYOUT = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Epoch seconds; items past it are deleted by DynamoDB TTL (and Powertools idempotency records). */
  ttlAttribute: 'ttl',
  statusIndex: { name: 'by-status', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
} as const;

export type ItemKey = Readonly<
  Record<typeof TABLE_LAYOUT.partitionKey | typeof TABLE_LAYOUT.sortKey, string>
>;

const REQUEST_PARTITION = 'REQ#';
const AUDIT_SORT_PREFIX = 'AUDIT#';

function itemKey(partition: string, sort: string): ItemKey {
  return { [TABLE_LAYOUT.partitionKey]: partition, [TABLE_LAYOUT.sortKey]: sort } as ItemKey;
}

function requestItem(requestId: string, sortKey: string): ItemKey {
  return itemKey(`${REQUEST_PARTITION}${requestId}`, sortKey);
}

/**
 * The keys of the table's items. A request's items share its partition (`REQ#<id>`): the request
 * (`REQUEST`), its audit records (`AUDIT#<key>`), its chat messages (`CHAT#<channel>`) and its
 * reminder marks (`REMINDER#<lead seconds>`); chat identity overrides and Powertools idempotency
 * records have partitions of their own, and the status index lists requests by status, newest first.
 */
export const TableKey = {
  request: (requestId: string) => requestItem(requestId, 'REQUEST'),
  audit: (requestId: string, key: string) => requestItem(requestId, `${AUDIT_SORT_PREFIX}${key}`),
  /** Every audit record of a request: its partition, sort keys beginning with this. */
  auditPrefix: AUDIT_SORT_PREFIX,
  chatMessage: (requestId: string, channel: string) => requestItem(requestId, `CHAT#${channel}`),
  reminderMark: (requestId: string, leadSeconds: number) => requestItem(requestId, `REMINDER#${leadSeconds}`),
  identityOverride: (channel: string, chatUserId: string) =>
    itemKey(`IDENTITY#${channel}#${chatUserId}`, 'IDENTITY'),
  idempotencyPartition: (scope: string) => `IDEMPOTENCY#${scope}`,
  statusPartition: (status: string) => `STATUS#${status}`,
  /** ISO timestamps sort as text; the id breaks ties. */
  statusSort: (createdAt: string, requestId: string) => `${createdAt}#${requestId}`,
} as const;
