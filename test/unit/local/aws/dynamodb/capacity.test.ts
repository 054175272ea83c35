/**
 * The cost model's DynamoDB request units: dynalite's own consumed capacity for item operations,
 * item sizes for Query and Scan, and the caller's answer unchanged by the counting.
 */
import { describe, expect, it } from 'vitest';
import { itemBytes, meterCapacity } from '../../../../../local/aws/dynamodb/capacity.ts';
import { BilledUnit, UsageMeter } from '../../../../../local/aws/usage.ts';

describe('DynamoDB request units for the cost model', () => {
  it('sizes an item as DynamoDB does: names plus values', () => {
    expect(itemBytes({ pk: { S: 'abc' } })).toBe(5);
    expect(itemBytes({ n: { N: '12345' } })).toBe(1 + 4);
    expect(itemBytes({ ok: { BOOL: true }, gone: { NULL: true } })).toBe(2 + 1 + 4 + 1);
    expect(itemBytes({ l: { L: [{ S: 'ab' }] }, m: { M: { k: { S: 'v' } } } })).toBe(
      1 + 3 + 1 + 2 + (1 + 3 + 2 + 1),
    );
    expect(itemBytes({ é: { S: 'é' } })).toBe(4);
  });

  it('asks dynalite for the capacity it does not ask for itself, counts it and hides it from the caller', () => {
    const meter = new UsageMeter();
    const { request, count } = meterCapacity(meter, 'PutItem', { TableName: 't', Item: {} });
    expect(request.ReturnConsumedCapacity).toBe('TOTAL');
    expect(count({ ConsumedCapacity: { TableName: 't', CapacityUnits: 2 } })).toEqual({});
    const batch = meterCapacity(meter, 'BatchGetItem', { RequestItems: {}, ReturnConsumedCapacity: 'TOTAL' });
    expect(batch.request.ReturnConsumedCapacity).toBe('TOTAL');
    const answer = { Responses: {}, ConsumedCapacity: [{ CapacityUnits: 0.5 }, { CapacityUnits: 1 }] };
    expect(batch.count(answer)).toBe(answer);
    expect(meter.snapshot().units).toEqual({ [BilledUnit.dynamoDbWrite]: 2, [BilledUnit.dynamoDbRead]: 1.5 });
  });

  it('bills a Query by the size of what it read, rounded up once to 4 KB, half when eventually consistent', () => {
    const meter = new UsageMeter();
    const items = Array.from({ length: 3 }, () => ({ pk: { S: 'x'.repeat(2000) } }));
    meterCapacity(meter, 'Query', { TableName: 't' }).count({ Items: items, Count: 3 });
    meterCapacity(meter, 'Query', { TableName: 't', ConsistentRead: true }).count({ Items: [], Count: 0 });
    expect(meter.snapshot().units[BilledUnit.dynamoDbRead]).toBe(2 / 2 + 1);
  });
});
