/**
 * The single table's key layout, shared by the DynamoDB adapter, the CDK table construct and the
 * local twin (which creates the same table in its embedded DynamoDB from the synthesized template).
 */
export const TABLE_LAYOUT = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Epoch seconds; items past it are deleted by DynamoDB TTL (and Powertools idempotency records). */
  ttlAttribute: 'ttl',
  statusIndex: { name: 'by-status', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
} as const;
