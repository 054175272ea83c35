/**
 * The twin's DynamoDB: an embedded dynalite persisted under `<dataDir>/dynamodb`, listening on an
 * internal loopback port, with the stack's table created from the template when it is missing.
 * The protocol front forwards DynamoDB requests to it after checking their signature; handlers in
 * the twin talk to it directly.
 */
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DynamoDBClient,
  ListTablesCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import type { TwinTable } from '../cloudformation/template.ts';

export interface LocalDynamo {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  stop(): Promise<void>;
}

function createTableInput(table: TwinTable): CreateTableCommandInput {
  const onDemand = (indexes: unknown[]) =>
    indexes.map((index) => {
      const { ProvisionedThroughput: _throughput, ...rest } = index as Record<string, unknown>;
      return rest;
    });
  return {
    TableName: table.name,
    KeySchema: table.keySchema as CreateTableCommandInput['KeySchema'],
    AttributeDefinitions: table.attributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
    BillingMode: 'PAY_PER_REQUEST',
    ...(table.globalSecondaryIndexes.length > 0
      ? {
          GlobalSecondaryIndexes: onDemand(
            table.globalSecondaryIndexes,
          ) as unknown as CreateTableCommandInput['GlobalSecondaryIndexes'],
        }
      : {}),
    ...(table.localSecondaryIndexes.length > 0
      ? {
          LocalSecondaryIndexes:
            table.localSecondaryIndexes as CreateTableCommandInput['LocalSecondaryIndexes'],
        }
      : {}),
  };
}

/** Creates each table that does not exist yet, exactly as the template declares it. */
async function ensureTables(endpoint: string, tables: readonly TwinTable[], log: (line: string) => void) {
  const client = new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'twin', secretAccessKey: 'twin-internal' },
  });
  try {
    const existing = new Set((await client.send(new ListTablesCommand({}))).TableNames ?? []);
    for (const table of tables) {
      if (existing.has(table.name)) continue;
      log(`creating DynamoDB table ${table.name}`);
      await client.send(new CreateTableCommand(createTableInput(table)));
      await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 0.05 }, { TableName: table.name });
    }
  } finally {
    client.destroy();
  }
}

export async function startLocalDynamo(options: {
  path: string;
  tables: readonly TwinTable[];
  log: (line: string) => void;
}): Promise<LocalDynamo> {
  const server = dynalite({ path: options.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const stop = () =>
    new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  try {
    await ensureTables(endpoint, options.tables, options.log);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, stop };
}
