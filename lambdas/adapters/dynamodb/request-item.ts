/**
 * How a request and its audit records map onto the single table (keys from table-layout.ts).
 * The request item carries, beside the record, the attributes only the store needs: the voter map
 * that makes "one vote per person" a condition, the numeric expiry the vote condition compares,
 * and the state of the paused workflow (task token, notified, resumed).
 */
import { parse, RequestRecord, type RequestStatusValue } from '../../domain/schemas.ts';

const REQUEST_PREFIX = 'REQ#';
const AUDIT_PREFIX = 'AUDIT#';
const STATUS_PREFIX = 'STATUS#';
const REQUEST_SORT_KEY = 'REQUEST';

export type Item = Record<string, unknown>;

/** Attribute names of the store-only attributes on the request item. */
export const Attr = {
  pk: 'pk',
  sk: 'sk',
  gsi1pk: 'gsi1pk',
  gsi1sk: 'gsi1sk',
  status: 'status',
  votes: 'votes',
  voters: 'voters',
  expiresAtMs: 'expiresAtMs',
  taskToken: 'taskToken',
  notifiedAt: 'notifiedAt',
  resumedAt: 'resumedAt',
} as const;

export const AUDIT_SORT_KEY_PREFIX = AUDIT_PREFIX;

export function requestKey(requestId: string): { pk: string; sk: string } {
  return { pk: `${REQUEST_PREFIX}${requestId}`, sk: REQUEST_SORT_KEY };
}

export function auditKey(requestId: string, key: string): { pk: string; sk: string } {
  return { pk: `${REQUEST_PREFIX}${requestId}`, sk: `${AUDIT_PREFIX}${key}` };
}

export function statusPartition(status: RequestStatusValue): string {
  return `${STATUS_PREFIX}${status}`;
}

/** Sorts newest first within a status (ISO timestamps sort as text); the id breaks ties. */
export function statusSortKey(record: Pick<RequestRecord, 'createdAt' | 'requestId'>): string {
  return `${record.createdAt}#${record.requestId}`;
}

/**
 * Records are JSON data; a JSON round trip drops `undefined` at every depth, which DynamoDB
 * cannot store, without relying on how the document client was configured.
 */
export function jsonOnly<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export function toRequestItem(record: RequestRecord): Item {
  const item: Item = {
    ...jsonOnly(record),
    ...requestKey(record.requestId),
    [Attr.gsi1pk]: statusPartition(record.status),
    [Attr.gsi1sk]: statusSortKey(record),
    [Attr.voters]: Object.fromEntries(record.votes.map((vote) => [vote.voterId, vote.at])),
  };
  if (record.expiresAt !== undefined) item[Attr.expiresAtMs] = Date.parse(record.expiresAt);
  return item;
}

const RECORD_FIELDS = Object.keys(RequestRecord.shape);

/** Keeps only the record's own fields and checks them: what was stored is validated on the way out. */
export function fromRequestItem(item: Item): RequestRecord {
  const fields = Object.fromEntries(
    RECORD_FIELDS.filter((name) => name in item).map((name) => [name, item[name]]),
  );
  return parse(RequestRecord, fields, 'stored request');
}
