/**
 * A DynamoDB request store on a local table that keeps every command it sends, for tests that count
 * the AWS calls a store method or a service step takes (one numbering write, no read first).
 */
import type { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbRequestStore } from '../../lambdas/adapters/dynamodb/request-store.ts';
import type { LocalTable } from './dynalite.ts';

export interface CountingRequestStore {
  readonly store: DynamoDbRequestStore;
  /** The commands sent, in order. */
  readonly sent: object[];
}

export function countingRequestStore(table: Pick<LocalTable, 'client' | 'tableName'>): CountingRequestStore {
  const sent: object[] = [];
  const client = {
    send: (command: object) => {
      sent.push(command);
      return table.client.send(command as PutCommand);
    },
  } as unknown as DynamoDBDocumentClient;
  return { store: new DynamoDbRequestStore({ client, tableName: table.tableName }), sent };
}
