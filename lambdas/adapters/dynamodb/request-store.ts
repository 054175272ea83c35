/**
 * The RequestStore on one DynamoDB table. Every mutation is a single-item conditional write: the
 * condition is the guard against races and redeliveries (no transactions). When a condition fails,
 * the item as it was (ALL_OLD, or a consistent read where the server does not return it) tells
 * the caller why.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { describeIneligibility, Ineligible, terminalStatusFor } from '../../domain/approval.ts';
import {
  AUDIT_RECORD_FIELDS,
  AUDIT_SCHEMA_VERSION,
  AuditRecord,
  NewAuditRecord,
} from '../../domain/audit-record.ts';
import { ConflictError, ForeignExecutionError, NotFoundError, ValidationError } from '../../domain/errors.ts';
import {
  ExecutionOutcome,
  ExecutionRecord,
  ExecutionStatus,
  parse,
  RequestId,
  RequestRecord,
  RequestStatus,
  RequestStatusValue,
  Vote,
} from '../../domain/schemas.ts';
import type {
  AuditReservation,
  DecideInput,
  DecideResult,
  ListRequestsQuery,
  Page,
  RequestStore,
  SavedTaskToken,
  WaitState,
} from '../../ports/index.ts';
import { isConditionFailure } from './conditions.ts';
import { Attr, fromRequestItem, type Item, jsonOnly, toRequestItem } from './request-item.ts';
import { listByStatus } from './status-index.ts';
import { TableKey } from './table-layout.ts';

export interface DynamoDbRequestStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
}

/** On the sequence item: the last number given, and per fact key the number it got (`F#<key>`). */
const SEQUENCE_NEXT = 'next';
const sequenceAttribute = (key: string) => `F#${key}`;

function notFound(requestId: string): NotFoundError {
  return new NotFoundError(`request ${requestId} does not exist`);
}

/** Where a stored request's workflow stands, from its item. */
function waitStateOf(item: Item): WaitState {
  const taskToken = item[Attr.taskToken] as string | undefined;
  return {
    ...(taskToken === undefined ? {} : { taskToken }),
    notified: item[Attr.notifiedAt] !== undefined,
    resumed: taskToken !== undefined && item[Attr.resumedToken] === taskToken,
  };
}

export class DynamoDbRequestStore implements RequestStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;

  constructor(options: DynamoDbRequestStoreOptions) {
    this.#client = options.client;
    this.#tableName = options.tableName;
  }

  async claim(record: RequestRecord): Promise<{ created: boolean; record: RequestRecord }> {
    const valid = parse(RequestRecord, record, 'request');
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#tableName,
          // No wait task has saved a token yet (saveTaskToken's firstWait counts from here).
          Item: { ...toRequestItem(valid), [Attr.waitSaves]: 0 },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': Attr.pk },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { created: true, record: valid };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { created: false, record: fromRequestItem(await this.#itemAsFailed(valid.requestId, error)) };
    }
  }

  async get(requestId: string): Promise<RequestRecord | undefined> {
    const item = await this.#read(requestId);
    return item === undefined ? undefined : fromRequestItem(item);
  }

  async getWithWaitState(
    requestId: string,
  ): Promise<{ record: RequestRecord; waitState: WaitState } | undefined> {
    const item = await this.#read(requestId);
    return item === undefined ? undefined : { record: fromRequestItem(item), waitState: waitStateOf(item) };
  }

  /** Newest first, merged over the statuses asked for (see listByStatus). */
  list(query: ListRequestsQuery): Promise<Page<RequestRecord>> {
    const statuses = query.status === undefined ? RequestStatusValue.options : [query.status];
    return listByStatus({
      client: this.#client,
      tableName: this.#tableName,
      partitions: statuses.map((status) => TableKey.statusPartition(status)),
      ...query,
      read: fromRequestItem,
    });
  }

  async addVote(requestId: string, vote: Vote, at: Date): Promise<RequestRecord> {
    const valid = parse(Vote, vote, 'vote');
    try {
      const result = await this.#update({
        Key: TableKey.request(requestId),
        UpdateExpression: 'SET #voters.#voter = :at, #votes = list_append(#votes, :vote)',
        ConditionExpression:
          '#status = :pending AND #expiresAtMs > :now AND attribute_not_exists(#voters.#voter)',
        ExpressionAttributeNames: {
          '#voters': Attr.voters,
          '#voter': valid.voterId,
          '#votes': Attr.votes,
          '#status': Attr.status,
          '#expiresAtMs': Attr.expiresAtMs,
        },
        ExpressionAttributeValues: {
          ':at': valid.at,
          ':vote': [jsonOnly(valid)],
          ':pending': RequestStatus.pending,
          ':now': at.getTime(),
        },
      });
      return fromRequestItem(result);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      throw this.#whyVoteFailed(await this.#itemAsFailed(requestId, error), at);
    }
  }

  async decide(requestId: string, input: DecideInput): Promise<DecideResult> {
    const status = terminalStatusFor(input.decision);
    // Optional attributes are set only when given: a decision without a reason keeps none it had.
    const optional = { reason: input.reason, [Attr.receipt]: input.receipt };
    const given = Object.entries(optional).filter(([, value]) => value !== undefined);
    try {
      const result = await this.#update({
        Key: TableKey.request(requestId),
        UpdateExpression: `SET #status = :status, #gsi1pk = :gsi1pk, #decision = :decision, #approvers = :approvers, #decidedAt = :decidedAt${given
          .map(([name]) => `, #${name} = :${name}`)
          .join('')}`,
        ConditionExpression: '#status = :pending',
        ExpressionAttributeNames: {
          '#status': Attr.status,
          '#gsi1pk': Attr.gsi1pk,
          '#decision': 'decision',
          '#approvers': 'approvers',
          '#decidedAt': 'decidedAt',
          ...Object.fromEntries(given.map(([name]) => [`#${name}`, name])),
        },
        ExpressionAttributeValues: {
          ':status': status,
          ':gsi1pk': TableKey.statusPartition(status),
          ':decision': input.decision,
          ':approvers': [...input.approvers],
          ':decidedAt': input.at.toISOString(),
          ':pending': RequestStatus.pending,
          ...Object.fromEntries(given.map(([name, value]) => [`:${name}`, value])),
        },
      });
      return { applied: true, record: fromRequestItem(result), waitState: waitStateOf(result) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const item = await this.#itemAsFailed(requestId, error);
      return { applied: false, record: fromRequestItem(item), waitState: waitStateOf(item) };
    }
  }

  async saveTaskToken(requestId: string, taskToken: string, executionArn: string): Promise<SavedTaskToken> {
    try {
      const result = await this.#update({
        Key: TableKey.request(requestId),
        // An item claimed before the count existed has none: its save counts as a later one (2), never
        // as the first, so a wait retried across that deploy still looks for the earlier post.
        UpdateExpression: 'SET #taskToken = :taskToken, #saves = if_not_exists(#saves, :one) + :one',
        ConditionExpression: 'attribute_exists(#pk) AND #executionArn = :executionArn',
        ExpressionAttributeNames: {
          '#taskToken': Attr.taskToken,
          '#saves': Attr.waitSaves,
          '#pk': Attr.pk,
          '#executionArn': Attr.executionArn,
        },
        ExpressionAttributeValues: {
          ':taskToken': taskToken,
          ':executionArn': executionArn,
          ':one': 1,
        },
      });
      return {
        record: fromRequestItem(result),
        waitState: waitStateOf(result),
        firstWait: Number(result[Attr.waitSaves]) === 1,
      };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      await this.#itemAsFailed(requestId, error);
      throw new ForeignExecutionError(requestId);
    }
  }

  async getTaskToken(requestId: string): Promise<string | undefined> {
    const item = await this.#read(requestId);
    return item?.[Attr.taskToken] as string | undefined;
  }

  async getWaitState(requestId: string): Promise<WaitState> {
    const item = await this.#read(requestId);
    if (item === undefined) throw notFound(requestId);
    return waitStateOf(item);
  }

  async markNotified(requestId: string, at: Date): Promise<boolean> {
    try {
      await this.#update({
        Key: TableKey.request(requestId),
        UpdateExpression: 'SET #notifiedAt = :at',
        ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#notifiedAt)',
        ExpressionAttributeNames: { '#notifiedAt': Attr.notifiedAt, '#pk': Attr.pk },
        ExpressionAttributeValues: { ':at': at.toISOString() },
      });
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      await this.#itemAsFailed(requestId, error);
      return false;
    }
  }

  async markResumed(requestId: string, taskToken: string, at: Date): Promise<boolean> {
    try {
      await this.#update({
        Key: TableKey.request(requestId),
        UpdateExpression: 'SET #resumedToken = :token, #resumedAt = :at',
        // Only the current wait's token: a late caller's stale token never displaces the current mark.
        ConditionExpression:
          'attribute_exists(#pk) AND #taskToken = :token AND (attribute_not_exists(#resumedToken) OR #resumedToken <> :token)',
        ExpressionAttributeNames: {
          '#taskToken': Attr.taskToken,
          '#resumedToken': Attr.resumedToken,
          '#resumedAt': Attr.resumedAt,
          '#pk': Attr.pk,
        },
        ExpressionAttributeValues: { ':token': taskToken, ':at': at.toISOString() },
      });
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      await this.#itemAsFailed(requestId, error);
      return false;
    }
  }

  async attachReceipt(requestId: string, receipt: string): Promise<RequestRecord> {
    try {
      return fromRequestItem(
        await this.#update({
          Key: TableKey.request(requestId),
          UpdateExpression: 'SET #receipt = :receipt',
          ConditionExpression:
            'attribute_exists(#pk) AND attribute_not_exists(#receipt) AND #status <> :pending',
          ExpressionAttributeNames: { '#receipt': Attr.receipt, '#pk': Attr.pk, '#status': Attr.status },
          ExpressionAttributeValues: { ':receipt': receipt, ':pending': RequestStatus.pending },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const stored = fromRequestItem(await this.#itemAsFailed(requestId, error));
      if (stored.receipt !== undefined) return stored;
      throw new ConflictError('NOT_DECIDED', `request ${requestId} is not decided yet`);
    }
  }

  async claimExecution(
    requestId: string,
    started: ExecutionRecord,
  ): Promise<{ claimed: boolean; record: RequestRecord }> {
    const valid = parse(ExecutionRecord, started, 'execution');
    try {
      const result = await this.#update({
        Key: TableKey.request(requestId),
        UpdateExpression: 'SET #execution = :execution',
        ConditionExpression:
          'attribute_exists(#pk) AND attribute_not_exists(#execution) AND #status = :approved',
        ExpressionAttributeNames: { '#execution': Attr.execution, '#pk': Attr.pk, '#status': Attr.status },
        ExpressionAttributeValues: { ':execution': jsonOnly(valid), ':approved': RequestStatus.approved },
      });
      return { claimed: true, record: fromRequestItem(result) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { claimed: false, record: fromRequestItem(await this.#itemAsFailed(requestId, error)) };
    }
  }

  async finishExecution(
    requestId: string,
    outcome: ExecutionOutcome & { readonly finishedAt: Date },
  ): Promise<RequestRecord> {
    const { finishedAt, ...given } = outcome;
    const fields = {
      ...parse(ExecutionOutcome, given, 'execution outcome'),
      finishedAt: finishedAt.toISOString(),
    };
    const names = Object.keys(fields);
    try {
      return fromRequestItem(
        await this.#update({
          Key: TableKey.request(requestId),
          UpdateExpression: `SET ${names.map((name) => `#execution.#${name} = :${name}`).join(', ')}`,
          ConditionExpression: '#execution.#status = :started',
          ExpressionAttributeNames: {
            '#execution': Attr.execution,
            ...Object.fromEntries(names.map((name) => [`#${name}`, name])),
          },
          ExpressionAttributeValues: {
            ...Object.fromEntries(Object.entries(fields).map(([name, value]) => [`:${name}`, value])),
            ':started': ExecutionStatus.started,
          },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return fromRequestItem(await this.#itemAsFailed(requestId, error));
    }
  }

  async appendAudit(record: NewAuditRecord, reservation?: AuditReservation): Promise<void> {
    const valid = parse(NewAuditRecord, record, 'audit record');
    const reserved =
      reservation?.requestId === valid.requestId && reservation.key === valid.key
        ? reservation.seq
        : undefined;
    await this.#putAudit(valid, reserved ?? (await this.#auditSequenceOf(valid.requestId, valid.key)));
  }

  async appendAudits(
    records: readonly NewAuditRecord[],
    reserve: readonly string[] = [],
  ): Promise<readonly AuditReservation[]> {
    const valid = records.map((record) => parse(NewAuditRecord, record, 'audit record'));
    const requestIds = new Set(valid.map(({ requestId }) => requestId));
    const [requestId] = requestIds;
    if (reserve.length > 0 && (requestId === undefined || requestIds.size > 1)) {
      throw new ValidationError('keys are reserved beside records of one request', []);
    }
    const numbers = await this.#numbersOf([
      ...valid.map(({ requestId, key }) => ({ requestId, key })),
      ...reserve.map((key) => ({ requestId: requestId!, key })),
    ]);
    await Promise.all(valid.map((record, index) => this.#putAudit(record, numbers[index]!)));
    return reserve.map((key, index) => ({ requestId: requestId!, key, seq: numbers[valid.length + index]! }));
  }

  async reserveAudit(requestId: string, keys: readonly string[]): Promise<readonly AuditReservation[]> {
    const numbers = await this.#numbersOf(keys.map((key) => ({ requestId, key })));
    return keys.map((key, index) => ({ requestId, key, seq: numbers[index]! }));
  }

  /**
   * The numbers of facts' keys, in order: in one write when they are distinct keys of one request
   * and none has its number yet, else one at a time (a key that has its number, a retry, keeps it).
   */
  async #numbersOf(
    facts: readonly { readonly requestId: string; readonly key: string }[],
  ): Promise<number[]> {
    const [first] = facts;
    const oneWrite =
      facts.length > 1 &&
      facts.every(({ requestId }) => requestId === first!.requestId) &&
      new Set(facts.map(({ key }) => key)).size === facts.length;
    const numbered = oneWrite
      ? await this.#auditSequencesOf(
          first!.requestId,
          facts.map(({ key }) => key),
        )
      : undefined;
    if (numbered !== undefined) return numbered;
    const numbers: number[] = [];
    for (const fact of facts) numbers.push(await this.#auditSequenceOf(fact.requestId, fact.key));
    return numbers;
  }

  async #putAudit(valid: NewAuditRecord, seq: number): Promise<void> {
    const stored = parse(AuditRecord, { schemaVersion: AUDIT_SCHEMA_VERSION, ...valid, seq }, 'audit record');
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#tableName,
          Item: { ...jsonOnly(stored), ...TableKey.audit(valid.requestId, valid.key) },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': Attr.pk },
        }),
      );
    } catch (error) {
      // The same fact written again (a redelivery or a retry) keeps the first record: audit is append-only.
      if (!isConditionFailure(error)) throw error;
    }
  }

  /**
   * The number of a fact in its request's trail: the next one, given to the key in the same
   * conditional write that counts it, or (when the key has one already: a retry, a concurrent
   * write of the same fact) the one it got. One item, one write: no number is ever given twice or
   * to two keys, and a write that failed after numbering is retried with its own number.
   */
  async #auditSequenceOf(requestId: string, key: string): Promise<number> {
    const names = { '#next': SEQUENCE_NEXT, '#fact': sequenceAttribute(key) };
    try {
      const result = await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: TableKey.auditSequence(requestId),
          UpdateExpression:
            'SET #next = if_not_exists(#next, :zero) + :one, #fact = if_not_exists(#next, :zero) + :one',
          ConditionExpression: 'attribute_not_exists(#fact)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':zero': 0, ':one': 1 },
          ReturnValues: 'UPDATED_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return Number(result.Attributes?.[names['#fact']]);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const item =
        error.Item === undefined
          ? (
              await this.#client.send(
                new GetCommand({
                  TableName: this.#tableName,
                  Key: TableKey.auditSequence(requestId),
                  ConsistentRead: true,
                }),
              )
            ).Item
          : unmarshall(error.Item);
      // The condition failed because the key has its number; numbers are never removed.
      return Number(item?.[names['#fact']]);
    }
  }

  /**
   * The next numbers of a request's trail for `keys`, in order, in one conditional write that counts
   * them all; undefined (nothing numbered) when any key has its number already.
   */
  async #auditSequencesOf(requestId: string, keys: readonly string[]): Promise<number[] | undefined> {
    const facts = keys.map((key, index) => [`#fact${index}`, sequenceAttribute(key)] as const);
    try {
      const result = await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: TableKey.auditSequence(requestId),
          UpdateExpression: `SET #next = if_not_exists(#next, :zero) + :count, ${facts
            .map(([name], index) => `${name} = if_not_exists(#next, :zero) + :n${index}`)
            .join(', ')}`,
          ConditionExpression: facts.map(([name]) => `attribute_not_exists(${name})`).join(' AND '),
          ExpressionAttributeNames: { '#next': SEQUENCE_NEXT, ...Object.fromEntries(facts) },
          ExpressionAttributeValues: {
            ':zero': 0,
            ':count': keys.length,
            ...Object.fromEntries(keys.map((_, index) => [`:n${index}`, index + 1])),
          },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return facts.map(([, attribute]) => Number(result.Attributes?.[attribute]));
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return undefined;
    }
  }

  async hasAudit(requestId: string, key: string): Promise<boolean> {
    const { Item } = await this.#client.send(
      new GetCommand({
        TableName: this.#tableName,
        Key: TableKey.audit(requestId, key),
        ConsistentRead: true,
        ProjectionExpression: '#pk',
        ExpressionAttributeNames: { '#pk': Attr.pk },
      }),
    );
    return Item !== undefined;
  }

  async listAudit(requestId: string): Promise<AuditRecord[]> {
    const records: AuditRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page: QueryCommandOutput = await this.#client.send(
        new QueryCommand({
          TableName: this.#tableName,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :audit)',
          ExpressionAttributeNames: { '#pk': Attr.pk, '#sk': Attr.sk },
          ExpressionAttributeValues: {
            ':pk': TableKey.request(requestId).pk,
            ':audit': TableKey.auditPrefix,
          },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) records.push(toAuditRecord(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return records.sort((a, b) => a.at.localeCompare(b.at) || a.seq - b.seq || a.key.localeCompare(b.key));
  }

  async #update(input: Omit<UpdateCommandInput, 'TableName' | 'ReturnValues'>): Promise<Item> {
    const result = await this.#client.send(
      new UpdateCommand({
        ...input,
        TableName: this.#tableName,
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    // ALL_NEW always returns the item of a successful update.
    return result.Attributes as Item;
  }

  async #read(requestId: string): Promise<Item | undefined> {
    // Only a request id can name a stored request (claim validates it); anything else, say an id
    // past DynamoDB's key size that a hostile client put in a path or a Slack button, names none.
    if (!RequestId.safeParse(requestId).success) return undefined;
    const result = await this.#client.send(
      new GetCommand({ TableName: this.#tableName, Key: TableKey.request(requestId), ConsistentRead: true }),
    );
    return result.Item;
  }

  /**
   * The item as the failed condition saw it: DynamoDB returns it with the failure (ALL_OLD); servers
   * that do not (dynalite) get a consistent read instead. No item at all means no such request.
   */
  async #itemAsFailed(requestId: string, error: { Item?: Record<string, AttributeValue> }): Promise<Item> {
    const item = error.Item === undefined ? await this.#read(requestId) : unmarshall(error.Item);
    if (item === undefined) throw notFound(requestId);
    return item;
  }

  /** Names the clause of the vote condition that failed, in the domain's eligibility order. */
  #whyVoteFailed(item: Item, at: Date): ConflictError {
    const expiresAtMs = item[Attr.expiresAtMs] as number | undefined;
    const code =
      item[Attr.status] !== RequestStatus.pending
        ? Ineligible.notPending
        : expiresAtMs === undefined || expiresAtMs <= at.getTime()
          ? Ineligible.expired
          : // Pending and open, so the voter clause failed. Conditions only ever get stricter (a vote is
            // never removed, a decision never undone), so a later read cannot hide the failed clause.
            Ineligible.alreadyVoted;
    return new ConflictError(code, describeIneligibility(code));
  }
}

function toAuditRecord(item: Item): AuditRecord {
  return parse(
    AuditRecord,
    Object.fromEntries(AUDIT_RECORD_FIELDS.filter((name) => name in item).map((name) => [name, item[name]])),
    'stored audit record',
  );
}
