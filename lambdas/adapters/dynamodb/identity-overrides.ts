/**
 * IdentityOverrides in the single table: `pk=IDENTITY#<channel>#<chat user id>, sk=IDENTITY`, with
 * the directory `userName` it belongs to. Operators write them; a binding is never overwritten in
 * place (conditional put), so re-pointing a chat account at someone else is a deliberate delete
 * and bind, not a silent edit.
 */
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { DirectoryError } from '../../domain/errors.ts';
import * as z from '../../domain/zod.ts';
import type { ChatIdentityChannel, IdentityOverrides } from '../../ports/index.ts';
import { putIfAbsent } from './conditions.ts';
import { TableKey } from './table-layout.ts';

const OverrideItem = z.object({ userName: z.string().check(z.minLength(1)) });

export class DynamoDbIdentityOverrides implements IdentityOverrides {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;

  constructor(options: { readonly client: DynamoDBDocumentClient; readonly tableName: string }) {
    this.#client = options.client;
    this.#tableName = options.tableName;
  }

  async userNameFor(channel: ChatIdentityChannel, chatUserId: string): Promise<string | undefined> {
    const { Item } = await this.#client.send(
      new GetCommand({ TableName: this.#tableName, Key: TableKey.identityOverride(channel, chatUserId) }),
    );
    if (Item === undefined) return undefined;
    const item = OverrideItem.safeParse(Item);
    // A malformed binding must not fall through to "unbound" and then to an email match: refuse.
    if (!item.success) throw new DirectoryError(`the ${channel} identity override is malformed`);
    return item.data.userName;
  }

  /** Binds a chat account to a directory user name; false when the account is already bound. */
  bind(channel: ChatIdentityChannel, chatUserId: string, userName: string, at: Date): Promise<boolean> {
    return putIfAbsent(this.#client, this.#tableName, {
      ...TableKey.identityOverride(channel, chatUserId),
      userName,
      boundAt: at.toISOString(),
    });
  }
}
