/**
 * The PrivilegedCallStore on the single table. A call is `CALL#<eventID>` (listed by status in
 * the status index); an agent's approvals and the calls they may cover share a subject partition
 * (`SUBJECT#<hash>`: `GRANT#<requestId>`, `CALL#<eventID>`), read consistently, so a call and a
 * late approval always find each other. Consuming an approval is one conditional update.
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ApprovalGrant, CallRecord, CallStatus, CallStatusValue } from '../../domain/privileged-calls.ts';
import { parse } from '../../domain/schemas.ts';
import type { CallCover, CallSubject, ListCallsQuery, Page, PrivilegedCallStore } from '../../ports/index.ts';
import { putIfAbsent, wasApplied } from './conditions.ts';
import { type Item, jsonOnly, recordOf } from './request-item.ts';
import { listByStatus } from './status-index.ts';
import { TABLE_LAYOUT, TableKey } from './table-layout.ts';

const { partitionKey: PK, sortKey: SK } = TABLE_LAYOUT;
const { partitionKey: GSI_PK, sortKey: GSI_SK } = TABLE_LAYOUT.statusIndex;

/**
 * How long an approval is kept after it expires, and a call's note after the call, before
 * DynamoDB's TTL removes them: long enough for CloudTrail's delivery (minutes, at worst hours) to
 * bring every call an approval could cover, and for every approval a call could be matched to.
 */
const KEPT_SECONDS = 7 * 24 * 3600;

const fromCallItem = (item: Item): CallRecord => recordOf(CallRecord, item, 'stored privileged call');
const fromGrantItem = (item: Item): ApprovalGrant => recordOf(ApprovalGrant, item, 'stored approval');

/** The call's second in the index, normalized so every call sorts by time whatever its spelling. */
function callSort(call: Pick<CallRecord, 'eventTime' | 'eventId'>): string {
  return TableKey.statusSort(new Date(call.eventTime).toISOString(), call.eventId);
}

function subjectOf(grant: ApprovalGrant): CallSubject {
  return { agentId: grant.agentId, action: grant.action, resourceArn: grant.resourceArn };
}

function partitionOf(subject: CallSubject): string {
  return TableKey.subjectPartition(subject.agentId, subject.action, subject.resourceArn);
}

export class DynamoDbPrivilegedCallStore implements PrivilegedCallStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;

  constructor(options: { readonly client: DynamoDBDocumentClient; readonly tableName: string }) {
    this.#client = options.client;
    this.#tableName = options.tableName;
  }

  async putCall(call: CallRecord): Promise<{ created: boolean; call: CallRecord }> {
    const valid = parse(CallRecord, call, 'privileged call');
    const created = await putIfAbsent(this.#client, this.#tableName, {
      ...jsonOnly(valid),
      ...TableKey.call(valid.eventId),
      [GSI_PK]: TableKey.callStatusPartition(valid.status),
      [GSI_SK]: callSort(valid),
    });
    // A put fails its condition only on an existing item, and calls are never deleted.
    return created ? { created, call: valid } : { created, call: (await this.getCall(valid.eventId))! };
  }

  async getCall(eventId: string): Promise<CallRecord | undefined> {
    const { Item } = await this.#client.send(
      new GetCommand({ TableName: this.#tableName, Key: TableKey.call(eventId), ConsistentRead: true }),
    );
    return Item === undefined ? undefined : fromCallItem(Item);
  }

  listCalls(query: ListCallsQuery): Promise<Page<CallRecord>> {
    const statuses = query.status === undefined ? CallStatusValue.options : [query.status];
    return listByStatus({
      client: this.#client,
      tableName: this.#tableName,
      partitions: statuses.map((status) => TableKey.callStatusPartition(status)),
      ...query,
      read: fromCallItem,
    });
  }

  coverCall(eventId: string, cover: CallCover): Promise<boolean> {
    return wasApplied(
      this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: TableKey.call(eventId),
          UpdateExpression: `SET #status = :status, #gsi = :gsi, #requestId = :requestId, #readers = :readers${
            cover.reviewId === undefined ? ' REMOVE #reviewId' : ', #reviewId = :reviewId'
          }`,
          ConditionExpression: '#status = :unapproved',
          ExpressionAttributeNames: {
            '#status': 'status',
            '#gsi': GSI_PK,
            '#requestId': 'requestId',
            '#readers': 'readers',
            '#reviewId': 'reviewId',
          },
          ExpressionAttributeValues: {
            ':status': cover.status,
            ':gsi': TableKey.callStatusPartition(cover.status),
            ':requestId': cover.requestId,
            ':readers': [...cover.readers],
            ':unapproved': CallStatus.unapproved,
            ...(cover.reviewId === undefined ? {} : { ':reviewId': cover.reviewId }),
          },
        }),
      ),
    );
  }

  async noteCall(subject: CallSubject, eventId: string, eventTime: string): Promise<void> {
    await this.#client.send(
      new PutCommand({
        TableName: this.#tableName,
        Item: {
          [PK]: partitionOf(subject),
          [SK]: `${TableKey.subjectCallPrefix}${eventId}`,
          eventId,
          [TABLE_LAYOUT.ttlAttribute]: Math.floor(Date.parse(eventTime) / 1000) + KEPT_SECONDS,
        },
      }),
    );
  }

  async callsOf(subject: CallSubject): Promise<string[]> {
    const items = await this.#querySubject(subject, TableKey.subjectCallPrefix);
    return items.map((item) => String(item.eventId));
  }

  async putGrant(grant: ApprovalGrant): Promise<void> {
    const valid = parse(ApprovalGrant, grant, 'approval');
    // Written before (a retried publish): the stored approval, consumed or not, stands.
    await putIfAbsent(this.#client, this.#tableName, {
      ...jsonOnly(valid),
      [PK]: partitionOf(subjectOf(valid)),
      [SK]: `${TableKey.subjectGrantPrefix}${valid.requestId}`,
      [TABLE_LAYOUT.ttlAttribute]: Math.floor(Date.parse(valid.expiresAt) / 1000) + KEPT_SECONDS,
    });
  }

  async grantsOf(subject: CallSubject): Promise<ApprovalGrant[]> {
    const items = await this.#querySubject(subject, TableKey.subjectGrantPrefix);
    return items.map(fromGrantItem).sort((a, b) => a.decidedAt.localeCompare(b.decidedAt));
  }

  async getGrant(subject: CallSubject, requestId: string): Promise<ApprovalGrant | undefined> {
    const { Item } = await this.#client.send(
      new GetCommand({
        TableName: this.#tableName,
        Key: this.#grantKey({ ...subject, requestId }),
        ConsistentRead: true,
      }),
    );
    return Item === undefined ? undefined : fromGrantItem(Item);
  }

  consumeGrant(grant: ApprovalGrant, eventId: string): Promise<boolean> {
    return wasApplied(
      this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: this.#grantKey(grant),
          UpdateExpression: 'SET #consumedBy = :eventId',
          ConditionExpression:
            'attribute_exists(#pk) AND (attribute_not_exists(#consumedBy) OR #consumedBy = :eventId)',
          ExpressionAttributeNames: { '#consumedBy': 'consumedBy', '#pk': PK },
          ExpressionAttributeValues: { ':eventId': eventId },
        }),
      ),
    );
  }

  async releaseGrant(grant: ApprovalGrant, eventId: string): Promise<void> {
    // Not this call's (any more): nothing of ours to free.
    await wasApplied(
      this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: this.#grantKey(grant),
          UpdateExpression: 'REMOVE #consumedBy',
          ConditionExpression: '#consumedBy = :eventId',
          ExpressionAttributeNames: { '#consumedBy': 'consumedBy' },
          ExpressionAttributeValues: { ':eventId': eventId },
        }),
      ),
    );
  }

  #grantKey(grant: CallSubject & Pick<ApprovalGrant, 'requestId'>): Item {
    return { [PK]: partitionOf(grant), [SK]: `${TableKey.subjectGrantPrefix}${grant.requestId}` };
  }

  async #querySubject(subject: CallSubject, prefix: string): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page: QueryCommandOutput = await this.#client.send(
        new QueryCommand({
          TableName: this.#tableName,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
          ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
          ExpressionAttributeValues: { ':pk': partitionOf(subject), ':prefix': prefix },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }
}
