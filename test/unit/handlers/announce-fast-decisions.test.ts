/**
 * The fast path's follow-up handler as Lambda runs it: imported with the stack's environment,
 * invoked by the stream's event source mapping with a batch of inserts (DynamoDB's stream record
 * format) and a Lambda context, against a local DynamoDB (dynalite), EventBridge mocked at the SDK.
 * It answers Lambda's partial-batch format: nothing to retry, or the record to retry from.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toRequestItem } from '../../../lambdas/adapters/dynamodb/request-item.ts';
import { DynamoDbRequestStore } from '../../../lambdas/adapters/dynamodb/request-store.ts';
import { receiptClaimsFor } from '../../../lambdas/domain/receipt.ts';
import { FAST_PATH_OWNER, type RequestRecord } from '../../../lambdas/domain/schemas.ts';
import { type LocalTable, startDynalite } from '../../support/dynalite.ts';
import { setEnvironment, workflowHandlerEnvironment } from '../../workflow/support/handler-environment.ts';
import { type LambdaHandler, lambdaContext } from '../../workflow/support/lambda-context.ts';
import { aRecord, NOW } from '../domain/fixtures.ts';
import { TestReceiptSigner } from '../services/fakes.ts';

const eventBridge = mockClient(EventBridgeClient);
let table: LocalTable;
let store: DynamoDbRequestStore;
let signer: TestReceiptSigner;
let restoreEnvironment: () => void;
let handler: LambdaHandler;
let sequence = 0;

beforeAll(async () => {
  table = await startDynalite();
  store = new DynamoDbRequestStore({ client: table.client, tableName: table.tableName });
  signer = await TestReceiptSigner.create();
  restoreEnvironment = setEnvironment(await workflowHandlerEnvironment(table));
  handler = (await import('../../../lambdas/handlers/announce-fast-decisions.ts')).handler;
});

afterAll(async () => {
  eventBridge.restore();
  restoreEnvironment();
  await table.close();
});

beforeEach(() => {
  eventBridge.reset();
});

/** A decision the fast path stored: decided, signed, owned by the fast path. */
async function storedFastDecision(): Promise<RequestRecord> {
  sequence += 1;
  const decided = aRecord({
    requestId: `invoice-bot:fast-${sequence}`,
    clientRequestId: `fast-${sequence}`,
    action: 's3:GetObject',
    status: 'APPROVED',
    decision: 'AUTO_APPROVED',
    policy: { ...aRecord().policy, decision: 'ALLOW', groups: [], quorum: 0 },
    executionArn: FAST_PATH_OWNER,
    decidedAt: NOW.toISOString(),
  });
  const record = { ...decided, receipt: await signer.sign(receiptClaimsFor(decided)) };
  await store.claim(record);
  return record;
}

function streamEvent(records: readonly RequestRecord[]) {
  return {
    Records: records.map((record, index) => {
      const item = toRequestItem(record);
      return {
        eventID: `event-${sequence}-${index}`,
        eventName: 'INSERT',
        eventSource: 'aws:dynamodb',
        eventSourceARN: 'arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2025-06-01T00:00:00.000',
        dynamodb: {
          Keys: marshall({ pk: item.pk, sk: item.sk }),
          NewImage: marshall(item, { removeUndefinedValues: true }),
          SequenceNumber: `${sequence}00${index}`,
          StreamViewType: 'NEW_AND_OLD_IMAGES',
        },
      };
    }),
  };
}

const invoke = (event: unknown) => handler(event, lambdaContext('announce-fast-decisions'));

describe('announce-fast-decisions handler', () => {
  it('records, publishes and answers that nothing is to be retried', async () => {
    const record = await storedFastDecision();
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    await expect(invoke(streamEvent([record]))).resolves.toEqual({ batchItemFailures: [] });
    const [call] = eventBridge.commandCalls(PutEventsCommand);
    const [entry] = call!.args[0].input.Entries!;
    expect(entry).toMatchObject({ Source: 'countersign', DetailType: 'Action Decided' });
    expect(JSON.parse(entry!.Detail!)).toMatchObject({
      requestId: record.requestId,
      receipt: record.receipt,
    });
    expect((await store.listAudit(record.requestId)).map((fact) => fact.kind)).toEqual([
      'REQUESTED',
      'EVALUATED',
      'DECIDED',
      'SIGNED',
      'PUBLISHED',
    ]);
  });

  it('names the record to retry from when the bus fails it', async () => {
    const [done, failing] = [await storedFastDecision(), await storedFastDecision()];
    eventBridge
      .on(PutEventsCommand)
      .callsFake(async (input) =>
        JSON.parse(input.Entries[0].Detail).requestId === failing.requestId
          ? Promise.reject(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }))
          : { FailedEntryCount: 0, Entries: [{ EventId: 'e-2' }] },
      );
    const event = streamEvent([done, failing]);
    await expect(invoke(event)).resolves.toEqual({
      batchItemFailures: [{ itemIdentifier: event.Records[1]!.dynamodb.SequenceNumber }],
    });
  });

  it('fails a batch that is not a stream event (Lambda retries it, then parks it)', async () => {
    await expect(invoke({ detail: 'not a stream' })).rejects.toThrow(/DynamoDB stream event/);
  });
});
