import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBridgeDecisionPublisher } from '../../../lambdas/adapters/eventbridge-decision-publisher.ts';
import { PublishError } from '../../../lambdas/domain/errors.ts';
import type { ActionDecidedDetail } from '../../../lambdas/domain/schemas.ts';

const eventBridge = mockClient(EventBridgeClient);
const publisher = new EventBridgeDecisionPublisher({
  client: new EventBridgeClient({ region: 'eu-west-1' }),
  eventBusName: 'countersign',
});
const detail: ActionDecidedDetail = {
  requestId: 'invoice-bot:req-1',
  decision: 'APPROVED',
  actionHash: 'a'.repeat(64),
  approvers: ['carol'],
  receipt: 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln',
};

afterEach(() => eventBridge.reset());

describe('EventBridgeDecisionPublisher', () => {
  it('puts one Action Decided event from source countersign on the configured bus', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });

    await publisher.publish(detail);

    expect(eventBridge.commandCalls(PutEventsCommand).map((call) => call.args[0].input)).toEqual([
      {
        Entries: [
          {
            EventBusName: 'countersign',
            Source: 'countersign',
            DetailType: 'Action Decided',
            Detail: JSON.stringify(detail),
          },
        ],
      },
    ]);
  });

  it('throws when PutEvents answers 200 but rejected the entry', async () => {
    eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }],
    });

    const failure = await publisher.publish(detail).catch((error) => error);

    expect(failure).toBeInstanceOf(PublishError);
    expect(failure.message).toContain('InternalFailure');
    expect(failure.message).toContain('req-1');
  });

  it('lets a failed call propagate', async () => {
    eventBridge.on(PutEventsCommand).rejects(new Error('network down'));

    await expect(publisher.publish(detail)).rejects.toThrow('network down');
  });
});
