/**
 * The twin's embedded dynalite served in process: the same answers as over its HTTP port (errors
 * included), persisted, and table descriptions that follow UpdateTable although they are kept
 * in memory.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TwinTable } from '../../../../../local/aws/cloudformation/template.ts';
import { type LocalDynamo, startLocalDynamo } from '../../../../../local/aws/dynamodb/dynalite-server.ts';

const TABLE: TwinTable = {
  logicalId: 'Table',
  name: 'things',
  keySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ],
  attributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' },
    { AttributeName: 'sk', AttributeType: 'S' },
  ],
  globalSecondaryIndexes: [],
  localSecondaryIndexes: [],
};

/** A DynamoDB request as the SDK sends it (dynalite wants a SigV4 header; the twin's front verifies it). */
function headersFor(operation: string): Record<string, string> {
  const amzDate = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  return {
    'content-type': 'application/x-amz-json-1.0',
    'x-amz-target': `DynamoDB_20120810.${operation}`,
    'x-amz-date': amzDate,
    authorization: `AWS4-HMAC-SHA256 Credential=test/${amzDate.slice(0, 8)}/local/dynamodb/aws4_request, SignedHeaders=host, Signature=test`,
  };
}

/** One operation through `request`: its output, or an Error with dynalite's error type and message. */
async function call(
  dynamo: LocalDynamo,
  operation: string,
  input: Readonly<Record<string, unknown>>,
): Promise<Record<string, unknown>> {
  const answer = await dynamo.request(headersFor(operation), Buffer.from(JSON.stringify(input)));
  const output = JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
  if (answer.statusCode !== 200) {
    throw new Error(`dynalite ${operation}: ${String(output.__type)}: ${String(output.message ?? '')}`);
  }
  return output;
}

const item = (pk: string, extra: Record<string, unknown> = {}) => ({
  pk: { S: pk },
  sk: { S: 'v' },
  ...extra,
});

describe('the twin’s dynalite, in process', () => {
  let dir: string;
  let dynamo: LocalDynamo;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'countersign-dynalite-'));
    dynamo = await startLocalDynamo({ path: dir, tables: [TABLE], log: () => undefined });
  });

  afterEach(async () => {
    await dynamo.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers a request as over HTTP: the same status, error and body', async () => {
    await call(dynamo, 'PutItem', { TableName: 'things', Item: item('a') });
    const headers = {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-date': '20260101T000000Z',
      authorization:
        'AWS4-HMAC-SHA256 Credential=k/20260101/local/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
    };
    const conditional = JSON.stringify({
      TableName: 'things',
      Item: item('a'),
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    for (const target of ['DynamoDB_20120810.PutItem', 'DynamoDB_20120810.GetItem']) {
      const body = target.endsWith('PutItem')
        ? conditional
        : JSON.stringify({ TableName: 'things', Key: item('a') });
      const inProcess = await dynamo.request({ ...headers, 'x-amz-target': target }, Buffer.from(body));
      const overHttp = await fetch(dynamo.endpoint, {
        method: 'POST',
        headers: { ...headers, 'x-amz-target': target },
        body,
      });
      expect(inProcess.statusCode).toBe(overHttp.status);
      expect(JSON.parse(inProcess.body.toString('utf8'))).toEqual(await overHttp.json());
      expect(inProcess.headers['x-amz-crc32']).toBe(overHttp.headers.get('x-amz-crc32'));
    }
    const refused = await dynamo.request(
      { ...headers, 'x-amz-target': 'DynamoDB_20120810.PutItem' },
      Buffer.from(conditional),
    );
    expect(JSON.parse(refused.body.toString('utf8')).__type).toBe(
      'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
    );
    await expect(call(dynamo, 'GetItem', { TableName: 'nope', Key: item('a') })).rejects.toThrow(
      /ResourceNotFoundException/,
    );
    await expect(call(dynamo, 'GetItem', { TableName: 'things' })).rejects.toThrow(/ValidationException/);
  });

  it('reads an item for the twin as GetItem reads it, its key checked, without the request’s envelope', async () => {
    const stored = item('read', {
      n: { N: '1.50' },
      tags: { SS: ['b', 'a'] },
      nested: { M: { x: { BOOL: true } } },
    });
    await call(dynamo, 'PutItem', { TableName: 'things', Item: stored });
    const { Item } = await call(dynamo, 'GetItem', {
      TableName: 'things',
      Key: item('read'),
      ConsistentRead: true,
    });
    await expect(dynamo.readItem('things', item('read'))).resolves.toEqual(Item);
    await expect(dynamo.readItem('things', item('missing'))).resolves.toBeUndefined();
    await expect(dynamo.readItem('nope', item('read'))).rejects.toThrow(/ResourceNotFoundException/);
    await expect(dynamo.readItem('things', { pk: { S: 'read' } })).rejects.toThrow(/ValidationException/);
    await dynamo.stop();
    await expect(dynamo.readItem('things', item('read'))).rejects.toThrow(/stopped/);
    dynamo = await startLocalDynamo({ path: dir, tables: [TABLE], log: () => undefined });
  });

  it('refuses requests once stopped, as its closed port would, instead of leaving them unanswered', async () => {
    await dynamo.stop();
    await expect(call(dynamo, 'GetItem', { TableName: 'things', Key: item('a') })).rejects.toThrow(/stopped/);
    dynamo = await startLocalDynamo({ path: dir, tables: [TABLE], log: () => undefined });
  });

  it('keeps what it wrote across a restart', async () => {
    await call(dynamo, 'PutItem', { TableName: 'things', Item: item('kept', { n: { N: '1' } }) });
    await dynamo.stop();
    dynamo = await startLocalDynamo({ path: dir, tables: [TABLE], log: () => undefined });
    const { Item } = await call(dynamo, 'GetItem', { TableName: 'things', Key: item('kept') });
    expect(Item).toEqual(item('kept', { n: { N: '1' } }));
  });

  it('sees a table’s new description after UpdateTable, though descriptions are kept in memory', async () => {
    const billing = async () =>
      (
        (await call(dynamo, 'DescribeTable', { TableName: 'things' })) as {
          Table: { BillingModeSummary?: { BillingMode: string } };
        }
      ).Table.BillingModeSummary?.BillingMode;
    // Read (and kept) before the update.
    expect(await billing()).toBe('PAY_PER_REQUEST');
    await call(dynamo, 'PutItem', { TableName: 'things', Item: item('a') });
    await call(dynamo, 'UpdateTable', {
      TableName: 'things',
      BillingMode: 'PROVISIONED',
      ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 },
    });
    expect(await billing()).toBe('PROVISIONED');
    expect((await call(dynamo, 'GetItem', { TableName: 'things', Key: item('a') })).Item).toEqual(item('a'));
  });

  it('sees a table made again under the same name with another key', async () => {
    await call(dynamo, 'PutItem', { TableName: 'things', Item: item('a') });
    await call(dynamo, 'DeleteTable', { TableName: 'things' });
    while (((await call(dynamo, 'ListTables', {})).TableNames as string[]).includes('things')) {
      await setTimeout(5);
    }
    await call(dynamo, 'CreateTable', {
      TableName: 'things',
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    });
    for (;;) {
      const { Table } = (await call(dynamo, 'DescribeTable', { TableName: 'things' })) as {
        Table: { TableStatus: string };
      };
      if (Table.TableStatus === 'ACTIVE') break;
      await setTimeout(5);
    }
    await call(dynamo, 'PutItem', { TableName: 'things', Item: { id: { S: 'b' } } });
    await expect(call(dynamo, 'PutItem', { TableName: 'things', Item: item('c') })).rejects.toThrow(
      /ValidationException/,
    );
  });
});
