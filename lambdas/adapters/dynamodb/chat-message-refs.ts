/**
 * ChatMessageRefs in the single table, beside what the message is about: a request
 * (`pk=REQ#<id>, sk=CHAT#<channel>`, the default) or a review (TableKey.reviewChatMessage).
 * Written once with a conditional put, so two writers agree on one message per channel.
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import * as z from '../../domain/zod.ts';
import type { ChatMessageRef, ChatMessageRefs } from '../../ports/index.ts';
import { type ItemKey, TABLE_LAYOUT, TableKey } from './table-layout.ts';

const StoredRef = z.object({
  channel: z.enum(['slack', 'teams', 'slack-dm']),
  conversationId: z.string(),
  messageId: z.string(),
  serviceUrl: z.optional(z.string()),
});

export class DynamoDbChatMessageRefs implements ChatMessageRefs {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;
  readonly #keyOf: (id: string, channel: string) => ItemKey;

  constructor(options: {
    readonly client: DynamoDBDocumentClient;
    readonly tableName: string;
    /** Where a message's ref is kept. @default beside the request, TableKey.chatMessage */
    readonly keyOf?: (id: string, channel: string) => ItemKey;
  }) {
    this.#client = options.client;
    this.#tableName = options.tableName;
    this.#keyOf = options.keyOf ?? TableKey.chatMessage;
  }

  async save(requestId: string, ref: ChatMessageRef): Promise<{ created: boolean; ref: ChatMessageRef }> {
    const valid = StoredRef.parse(ref);
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#tableName,
          Item: { ...this.#keyOf(requestId, valid.channel), ...valid },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': TABLE_LAYOUT.partitionKey },
        }),
      );
      return { created: true, ref: valid };
    } catch (error) {
      if (!(error instanceof Error && error.name === 'ConditionalCheckFailedException')) throw error;
      const stored = await this.get(requestId, valid.channel);
      if (stored === undefined) throw error;
      return { created: false, ref: stored };
    }
  }

  async get(requestId: string, channel: ChatMessageRef['channel']): Promise<ChatMessageRef | undefined> {
    const { Item } = await this.#client.send(
      new GetCommand({
        TableName: this.#tableName,
        Key: this.#keyOf(requestId, channel),
        ConsistentRead: true,
      }),
    );
    return Item === undefined ? undefined : StoredRef.parse(Item);
  }
}
