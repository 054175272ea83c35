/**
 * How a request and its audit records map onto the single table (keys from table-layout.ts).
 * The request item carries, beside the record, the attributes only the store needs: the voter map
 * that makes "one vote per person" a condition, the numeric expiry the vote condition compares,
 * and the state of the paused workflow (task token, notified, resumed).
 */
import { parse, RequestRecord } from '../../domain/schemas.ts';
import type * as z from '../../domain/zod.ts';
import { REQUEST_OWNER_ATTRIBUTE, TABLE_LAYOUT, TableKey } from './table-layout.ts';

export type Item = Record<string, unknown>;

/** Attribute names of the store-only attributes on the request item. */
export const Attr = {
  pk: TABLE_LAYOUT.partitionKey,
  sk: TABLE_LAYOUT.sortKey,
  gsi1pk: TABLE_LAYOUT.statusIndex.partitionKey,
  gsi1sk: TABLE_LAYOUT.statusIndex.sortKey,
  status: 'status',
  executionArn: REQUEST_OWNER_ATTRIBUTE,
  receipt: 'receipt',
  execution: 'execution',
  votes: 'votes',
  voters: 'voters',
  expiresAtMs: 'expiresAtMs',
  taskToken: 'taskToken',
  /** How many times a wait task saved its token: the first save knows no wait task asked reviewers before. */
  waitSaves: 'waitSaves',
  notifiedAt: 'notifiedAt',
  resumedAt: 'resumedAt',
  /** The task token the decision was sent through: the resumed mark holds for that wait only. */
  resumedToken: 'resumedToken',
} as const;

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
    ...TableKey.request(record.requestId),
    [Attr.gsi1pk]: TableKey.statusPartition(record.status),
    [Attr.gsi1sk]: TableKey.statusSort(record.createdAt, record.requestId),
    [Attr.voters]: Object.fromEntries(record.votes.map((vote) => [vote.voterId, vote.at])),
  };
  if (record.expiresAt !== undefined) item[Attr.expiresAtMs] = Date.parse(record.expiresAt);
  return item;
}

/**
 * The record `schema` describes, from an item that keeps it beside the table's own attributes: only
 * the schema's fields, checked, so what was stored is validated on the way out.
 */
export function recordOf<S extends z.ZodMiniObject>(schema: S, item: Item, what: string): z.infer<S> {
  const fields = Object.fromEntries(
    Object.keys(schema.shape).flatMap((name) => (name in item ? [[name, item[name]]] : [])),
  );
  return parse(schema, fields, what);
}

export function fromRequestItem(item: Item): RequestRecord {
  return recordOf(RequestRecord, item, 'stored request');
}
