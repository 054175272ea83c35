/**
 * EventBridge's API on the twin (JSON 1.1, `X-Amz-Target: AWSEvents.*`): PutEvents onto the local
 * buses and TestEventPattern with the same pattern engine the rules use.
 */
import { AwsErrorCode, AwsProtocolError } from '../front/errors.ts';
import { jsonService } from '../front/json-service.ts';
import type { JsonAwsService } from '../front/service.ts';
import { BilledUnit, type UsageMeter } from '../usage.ts';
import type { LocalEventBus, PutEventsEntry } from './event-bus.ts';
import { compilePattern, InvalidEventPatternError } from './pattern/index.ts';

function testEventPattern(input: Record<string, unknown>): { Result: boolean } {
  let event: unknown;
  try {
    event = JSON.parse(String(input.Event));
  } catch (error) {
    throw new AwsProtocolError(AwsErrorCode.validation, 'Event is not valid JSON.', 400, { cause: error });
  }
  try {
    return { Result: compilePattern(String(input.EventPattern)).matches(event) };
  } catch (error) {
    if (error instanceof InvalidEventPatternError) {
      throw new AwsProtocolError('InvalidEventPatternException', error.message, 400, { cause: error });
    }
    throw error;
  }
}

export function eventBridgeService(bus: LocalEventBus, meter?: UsageMeter): JsonAwsService {
  return jsonService({
    signingName: 'events',
    targetPrefix: 'AWSEvents',
    jsonVersion: '1.1',
    operations: {
      PutEvents: async (input, request) => {
        const result = await bus.putEvents(input.Entries as PutEventsEntry[] | undefined, request.caller);
        // EventBridge bills the events it accepted.
        meter?.add(BilledUnit.eventBridgeEvents, result.Entries.length - result.FailedEntryCount);
        return result;
      },
      TestEventPattern: (input) => testEventPattern(input),
    },
  });
}
