/**
 * ReminderMarks in the single table, beside the request: `pk=REQ#<id>, sk=REMINDER#<lead seconds>`.
 * Claimed with a conditional put, so two scheduler runs whose windows overlap send one reminder.
 * A mark only matters while a later run could still see the same due time, so it expires a day on.
 */
import { DeleteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ReminderMarks } from '../../ports/index.ts';
import { putIfAbsent } from './conditions.ts';
import { TABLE_LAYOUT, TableKey } from './table-layout.ts';

const MARK_LIFETIME_SECONDS = 24 * 60 * 60;

export class DynamoDbReminderMarks implements ReminderMarks {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;

  constructor(options: { readonly client: DynamoDBDocumentClient; readonly tableName: string }) {
    this.#client = options.client;
    this.#tableName = options.tableName;
  }

  claim(requestId: string, leadSeconds: number, at: Date): Promise<boolean> {
    return putIfAbsent(this.#client, this.#tableName, {
      ...TableKey.reminderMark(requestId, leadSeconds),
      sentAt: at.toISOString(),
      [TABLE_LAYOUT.ttlAttribute]: Math.floor(at.getTime() / 1000) + MARK_LIFETIME_SECONDS,
    });
  }

  async release(requestId: string, leadSeconds: number): Promise<void> {
    await this.#client.send(
      new DeleteCommand({ TableName: this.#tableName, Key: TableKey.reminderMark(requestId, leadSeconds) }),
    );
  }
}
