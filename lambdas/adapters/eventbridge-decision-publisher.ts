/**
 * Puts `Action Decided` on the Countersign bus. PutEvents answers HTTP 200 even when it rejected an
 * entry (the failure is in FailedEntryCount and the entry's ErrorCode), so that case is checked and
 * thrown here; otherwise a decision would silently never reach the agent.
 */
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PublishError } from '../domain/errors.ts';
import { type ActionDecidedDetail, DECISION_SOURCE, DETAIL_TYPE } from '../domain/schemas.ts';
import type { DecisionPublisher } from '../ports/index.ts';

export class EventBridgeDecisionPublisher implements DecisionPublisher {
  readonly #client: EventBridgeClient;
  readonly #eventBusName: string;

  constructor(props: { client: EventBridgeClient; eventBusName: string }) {
    this.#client = props.client;
    this.#eventBusName = props.eventBusName;
  }

  async publish(detail: ActionDecidedDetail): Promise<void> {
    const response = await this.#client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: this.#eventBusName,
            Source: DECISION_SOURCE,
            DetailType: DETAIL_TYPE.actionDecided,
            Detail: JSON.stringify(detail),
          },
        ],
      }),
    );
    if ((response.FailedEntryCount ?? 0) > 0) {
      const rejected = response.Entries?.find((entry) => entry.ErrorCode !== undefined);
      throw new PublishError(
        `the bus rejected the decision for ${detail.requestId}: ${rejected?.ErrorCode ?? 'unknown error'} ${rejected?.ErrorMessage ?? ''}`.trim(),
      );
    }
  }
}
