import { createHash } from 'node:crypto';
import { FAST_PATH_OWNER } from '../../domain/schemas.ts';

/**
 * The single table's layout — its key attributes, index and TTL, and every key of every item kind —
 * shared by the DynamoDB adapters, the CDK table construct and the local twin (which creates the
 * same table in its embedded DynamoDB from the synthesized template). This is the one place that
 * spells a key prefix.
 */
export const TABLE_LAYOUT = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Epoch seconds; items past it are deleted by DynamoDB TTL. */
  ttlAttribute: 'ttl',
  statusIndex: { name: 'by-status', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
} as const;

export type ItemKey = Readonly<
  Record<typeof TABLE_LAYOUT.partitionKey | typeof TABLE_LAYOUT.sortKey, string>
>;

const REQUEST_PARTITION = 'REQ#';
const REQUEST_SORT_KEY = 'REQUEST';
const REVIEW_PARTITION = 'REVIEW#';
const AUDIT_SORT_PREFIX = 'AUDIT#';
const CLASSIFICATION_PARTITION = 'CLASS#';
const OBJECT_SORT_PREFIX = 'OBJECT#';
const BUCKET_FINDING_SORT_PREFIX = 'POLICY#';
/** DynamoDB's limit on a sort key is 1024 bytes; an S3 key may itself be 1024 bytes. */
const MAX_SORT_KEY_BYTES = 1024;

const digest = (text: string): string => createHash('sha256').update(text).digest('hex');

/** An object's sort key: the key itself when it fits, else its SHA-256 (the item keeps the key). */
function objectSortKey(key: string): string {
  const plain = `${OBJECT_SORT_PREFIX}${key}`;
  return Buffer.byteLength(plain) <= MAX_SORT_KEY_BYTES
    ? plain
    : `${OBJECT_SORT_PREFIX}#sha256:${digest(key)}`;
}

/** Audit records of an object, under a fixed-length form of its key (keys may hold `#`). */
function objectAuditPrefix(key: string): string {
  return `${AUDIT_SORT_PREFIX}OBJECT#${digest(key).slice(0, 32)}#`;
}

function itemKey(partition: string, sort: string): ItemKey {
  return { [TABLE_LAYOUT.partitionKey]: partition, [TABLE_LAYOUT.sortKey]: sort } as ItemKey;
}

function requestItem(requestId: string, sortKey: string): ItemKey {
  return itemKey(`${REQUEST_PARTITION}${requestId}`, sortKey);
}

function reviewItem(reviewId: string, sortKey: string): ItemKey {
  return itemKey(`${REVIEW_PARTITION}${reviewId}`, sortKey);
}

/**
 * The keys of the table's items. A request's items share its partition (`REQ#<id>`): the request
 * (`REQUEST`), its audit records (`AUDIT#<key>`) and their sequence (`AUDITSEQ`), its chat messages (`CHAT#<channel>`) and its
 * reminder marks (`REMINDER#<lead seconds>`); chat identity overrides have partitions of their
 * own, and the status index lists requests by status, newest first.
 * A bucket's classification items share its partition (`CLASS#<bucket>`): each object's verdict
 * (`OBJECT#<key>`), the bucket aggregate (`BUCKET`), the latest policy finding of each type
 * (`POLICY#<type>`) and the audit records of classification changes (`AUDIT#BUCKET#<key>`,
 * `AUDIT#OBJECT#<hash of the object key>#<key>`): every audit record of the table starts `AUDIT#`.
 *
 * A privileged call (CloudTrail) is `CALL#<eventID>`; the approvals an agent's calls are matched
 * against and those calls share a subject partition per (agent, action, resource), hashed because
 * an ARN may be as long as a partition key (`SUBJECT#<sha256>`: `GRANT#<requestId>`,
 * `CALL#<eventID>`). An after-the-fact review is `REVIEW#<reviewId>` with its chat messages and
 * reminder marks beside it. The status index lists calls (`CALLS#<status>`) and reviews
 * (`REVIEWS#OPEN`, `REVIEWS#CLOSED`) newest first too.
 */
export const TableKey = {
  request: (requestId: string) => requestItem(requestId, REQUEST_SORT_KEY),
  /** The sort key of every request item. */
  requestSortKey: REQUEST_SORT_KEY,
  audit: (requestId: string, key: string) => requestItem(requestId, `${AUDIT_SORT_PREFIX}${key}`),
  /** Every audit record of a request: its partition, sort keys beginning with this. */
  auditPrefix: AUDIT_SORT_PREFIX,
  /**
   * The request's audit sequence: the last number given (`next`) and, per fact key, the number it
   * got. Its sort key does not begin with `AUDIT#`, so it is neither listed nor archived as a record.
   */
  auditSequence: (requestId: string) => requestItem(requestId, 'AUDITSEQ'),
  chatMessage: (requestId: string, channel: string) => requestItem(requestId, `CHAT#${channel}`),
  reminderMark: (requestId: string, leadSeconds: number) => requestItem(requestId, `REMINDER#${leadSeconds}`),
  identityOverride: (channel: string, chatUserId: string) =>
    itemKey(`IDENTITY#${channel}#${chatUserId}`, 'IDENTITY'),
  statusPartition: (status: string) => `STATUS#${status}`,
  classificationPartition: (bucket: string) => `${CLASSIFICATION_PARTITION}${bucket}`,
  classificationObject: (bucket: string, key: string) =>
    itemKey(`${CLASSIFICATION_PARTITION}${bucket}`, objectSortKey(key)),
  /** Every object verdict of a bucket: its partition, sort keys beginning with this. */
  classificationObjectPrefix: OBJECT_SORT_PREFIX,
  classificationBucket: (bucket: string) => itemKey(`${CLASSIFICATION_PARTITION}${bucket}`, 'BUCKET'),
  bucketFinding: (bucket: string, type: string) =>
    itemKey(`${CLASSIFICATION_PARTITION}${bucket}`, `${BUCKET_FINDING_SORT_PREFIX}${type}`),
  bucketFindingPrefix: BUCKET_FINDING_SORT_PREFIX,
  /** A classification audit record: of the bucket itself (no object key) or of one object. */
  classificationAudit: (bucket: string, objectKey: string | undefined, key: string) =>
    itemKey(
      `${CLASSIFICATION_PARTITION}${bucket}`,
      `${objectKey === undefined ? `${AUDIT_SORT_PREFIX}BUCKET#` : objectAuditPrefix(objectKey)}${key}`,
    ),
  /** The sort-key prefix of one object's audit records, or (no key) of every audit record of the bucket. */
  classificationAuditPrefix: (objectKey: string | undefined) =>
    objectKey === undefined ? AUDIT_SORT_PREFIX : objectAuditPrefix(objectKey),
  /** ISO timestamps sort as text; the id breaks ties. */
  statusSort: (createdAt: string, requestId: string) => `${createdAt}#${requestId}`,
  call: (eventId: string) => itemKey(`CALL#${eventId}`, 'CALL'),
  callStatusPartition: (status: string) => `CALLS#${status}`,
  subjectPartition: (agentId: string, action: string, resourceArn: string) =>
    `SUBJECT#${digest(`${agentId}\n${action}\n${resourceArn}`)}`,
  subjectGrantPrefix: 'GRANT#',
  subjectCallPrefix: 'CALL#',
  review: (reviewId: string) => reviewItem(reviewId, 'REVIEW'),
  reviewStatusPartition: (open: boolean) => (open ? 'REVIEWS#OPEN' : 'REVIEWS#CLOSED'),
  reviewChatMessage: (reviewId: string, channel: string) => reviewItem(reviewId, `CHAT#${channel}`),
  reviewReminderMark: (reviewId: string, step: string) => reviewItem(reviewId, `REMINDER#${step}`),
} as const;

/**
 * The stream filter (Lambda event filtering, EventBridge pattern syntax) that lets only audit
 * records through to the archiver: inserts of items whose sort key begins `AUDIT#`.
 */
export const AUDIT_INSERT_STREAM_FILTER = {
  eventName: ['INSERT'],
  dynamodb: { Keys: { [TABLE_LAYOUT.sortKey]: { S: [{ prefix: AUDIT_SORT_PREFIX }] } } },
} as const;

/** The request item's attribute that names its owner (an execution's ARN, or the fast path): `Attr.executionArn`. */
export const REQUEST_OWNER_ATTRIBUTE = 'executionArn';

/**
 * The stream filter that lets only the fast path's decisions through to their follow-up
 * (announce-fast-decisions): inserts of request items the fast path owns. The fast path inserts a
 * request once, already decided (a conditional put), so each of its decisions passes once.
 */
export const FAST_DECISION_INSERT_STREAM_FILTER = {
  eventName: ['INSERT'],
  dynamodb: {
    Keys: { [TABLE_LAYOUT.sortKey]: { S: [REQUEST_SORT_KEY] } },
    NewImage: { [REQUEST_OWNER_ATTRIBUTE]: { S: [FAST_PATH_OWNER] } },
  },
} as const;
