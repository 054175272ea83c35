/**
 * The twin's DynamoDB Streams under concurrent writes: every write that changes an item makes one
 * record, in the stream's order with strictly increasing sequence numbers, though journal lines
 * handed in together are written together; and the stream read back at the next start is the same.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TwinTable } from '../../../../../local/aws/cloudformation/template.ts';
import { type LocalDynamo, startLocalDynamo } from '../../../../../local/aws/dynamodb/dynalite-server.ts';
import { LocalDynamoStreams } from '../../../../../local/aws/dynamodb/streams.ts';

const STREAM_ARN = 'arn:aws:dynamodb:local:000000000000:table/things/stream/2026-01-01T00:00:00.000';
const TABLE: TwinTable = {
  logicalId: 'Table',
  name: 'things',
  keySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
  attributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
  globalSecondaryIndexes: [],
  localSecondaryIndexes: [],
  stream: { viewType: 'NEW_AND_OLD_IMAGES', arn: STREAM_ARN },
};
const HEADERS = {
  'content-type': 'application/x-amz-json-1.0',
  'x-amz-target': 'DynamoDB_20120810.PutItem',
  'x-amz-date': '20260101T000000Z',
  authorization:
    'AWS4-HMAC-SHA256 Credential=k/20260101/local/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
};

describe('the twin’s DynamoDB Streams', () => {
  let dir: string;
  let dynamo: LocalDynamo;
  let streams: LocalDynamoStreams;

  const open = () =>
    LocalDynamoStreams.open({
      directory: join(dir, 'streams'),
      tables: [TABLE],
      dynalite: dynamo,
      region: 'local',
      log: () => undefined,
    });

  const put = (item: Record<string, unknown>) => {
    const input = { TableName: 'things', Item: item };
    const body = Buffer.from(JSON.stringify(input));
    return streams.capture('PutItem', input, () => dynamo.request(HEADERS, body));
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'countersign-streams-'));
    dynamo = await startLocalDynamo({ path: join(dir, 'dynamodb'), tables: [TABLE], log: () => undefined });
    streams = await open();
  });

  afterEach(async () => {
    await streams.close();
    await dynamo.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('records every concurrent write once, in one order, numbered strictly upwards', async () => {
    const count = 60;
    const answers = await Promise.all(
      Array.from({ length: count }, (_, n) => put({ pk: { S: `item-${n % 20}` }, n: { N: String(n) } })),
    );
    expect(answers.every((answer) => answer.statusCode === 200)).toBe(true);
    // The same item put again unchanged makes no record.
    await put({ pk: { S: 'item-0' }, n: { N: '40' } });
    await streams.settled();

    const records = streams.source(STREAM_ARN, 'test')!.read(undefined, 1000);
    expect(records).toHaveLength(count);
    const numbers = records.map((record) => record.dynamodb.SequenceNumber);
    expect([...numbers].sort()).toEqual(numbers);
    expect(new Set(numbers).size).toBe(count);
    // Per item: one INSERT, then MODIFYs whose old image is the previous new image.
    for (let item = 0; item < 20; item += 1) {
      const own = records.filter((record) => (record.dynamodb.Keys.pk as { S: string }).S === `item-${item}`);
      expect(own.map((record) => record.eventName)).toEqual(['INSERT', 'MODIFY', 'MODIFY']);
      for (let i = 1; i < own.length; i += 1) {
        expect(own[i]!.dynamodb.OldImage).toEqual(own[i - 1]!.dynamodb.NewImage);
      }
    }
    // Every intent has its `done`: nothing is left for the next start to finish.
    const journal = (await readFile(join(dir, 'streams', 'journal.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { t: string; id?: string });
    const intents = journal.filter((line) => line.t === 'intent').map((line) => line.id);
    const done = journal.filter((line) => line.t === 'done').map((line) => line.id);
    expect(new Set(done)).toEqual(new Set(intents));

    await streams.close();
    streams = await open();
    expect(streams.source(STREAM_ARN, 'test')!.read(undefined, 1000)).toEqual(records);
  });

  it('makes no record for an item put again with its attributes in another order, one for any change', async () => {
    const map = (first: string) => ({
      M:
        first === 'x'
          ? { x: { N: '1' }, y: { L: [{ S: 'a' }, { S: 'b' }] } }
          : { y: { L: [{ S: 'a' }, { S: 'b' }] }, x: { N: '1' } },
    });
    await put({ pk: { S: 'ordered' }, m: map('x'), s: { S: 'v' } });
    await put({ s: { S: 'v' }, m: map('y'), pk: { S: 'ordered' } });
    const changes = [
      {
        pk: { S: 'ordered' },
        m: { M: { x: { N: '1' }, y: { L: [{ S: 'b' }, { S: 'a' }] } } },
        s: { S: 'v' },
      },
      { pk: { S: 'ordered' }, m: { M: { x: { N: '1' }, y: { L: [{ S: 'b' }, { S: 'a' }] } } } },
      { pk: { S: 'ordered' }, m: { M: { x: { S: '1' }, y: { L: [{ S: 'b' }, { S: 'a' }] } } } },
      { pk: { S: 'ordered' }, m: { L: [{ S: 'b' }, { S: 'a' }] } },
    ];
    for (const item of changes) await put(item);
    await streams.settled();
    const records = streams.source(STREAM_ARN, 'test')!.read(undefined, 1000);
    expect(records.map((record) => record.eventName)).toEqual([
      'INSERT',
      'MODIFY',
      'MODIFY',
      'MODIFY',
      'MODIFY',
    ]);
    expect(records.at(-1)!.dynamodb.NewImage).toEqual(changes.at(-1));
  });

  it('answers a write before its record is appended; the next write to the item is recorded after it', async () => {
    await streams.close();
    let reads = 0;
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The read after the first write (its new image) waits until released.
    const slowAfterFirstWrite: Pick<LocalDynamo, 'readItem'> = {
      readItem: async (table, key) => {
        reads += 1;
        if (reads === 2) await held;
        return dynamo.readItem(table, key);
      },
    };
    streams = await LocalDynamoStreams.open({
      directory: join(dir, 'streams'),
      tables: [TABLE],
      dynalite: slowAfterFirstWrite,
      region: 'local',
      log: () => undefined,
    });
    const first = await put({ pk: { S: 'item' }, n: { N: '1' } });
    expect(first.statusCode).toBe(200);
    const source = streams.source(STREAM_ARN, 'test')!;
    expect(source.read(undefined, 10)).toEqual([]);
    let secondAnswered = false;
    const second = put({ pk: { S: 'item' }, n: { N: '2' } }).then((answer) => {
      secondAnswered = true;
      return answer;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(secondAnswered).toBe(false);
    release();
    expect((await second).statusCode).toBe(200);
    await streams.settled();
    const records = source.read(undefined, 10);
    expect(records.map((record) => [record.eventName, record.dynamodb.NewImage?.n])).toEqual([
      ['INSERT', { N: '1' }],
      ['MODIFY', { N: '2' }],
    ]);
    expect(records[1]!.dynamodb.OldImage).toEqual(records[0]!.dynamodb.NewImage);
  });
});
