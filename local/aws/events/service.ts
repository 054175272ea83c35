/**
 * EventBridge's API on the twin (JSON 1.1, `X-Amz-Target: AWSEvents.*`): PutEvents onto the local
 * buses and TestEventPattern with the same pattern engine the rules use.
 */
import * as z from 'zod';
import { AwsErrorCode, AwsProtocolError } from '../front/errors.ts';
import { jsonService } from '../front/json-service.ts';
import type { JsonAwsService } from '../front/service.ts';
import { BilledUnit, type UsageMeter } from '../usage.ts';
import type { LocalEventBus } from './event-bus.ts';
import { compilePattern, InvalidEventPatternError } from './pattern/index.ts';

/**
 * PutEvents' input as EventBridge's service model types it. A member of the wrong JSON type (a
 * Detail that is an array or an object instead of a string, Entries that is not a list, an entry
 * that is null) is refused whole with SerializationException, as AWS's JSON protocol refuses what
 * it cannot deserialize; nothing of it is put on a bus.
 */
const PutEventsRequest = z.looseObject({
  Entries: z
    .array(
      z.looseObject({
        Source: z.string().optional(),
        DetailType: z.string().optional(),
        Detail: z.string().optional(),
        EventBusName: z.string().optional(),
        Resources: z.array(z.string()).optional(),
        /** Epoch seconds. */
        Time: z.number().optional(),
        TraceHeader: z.string().optional(),
      }),
    )
    .optional(),
  EndpointId: z.string().optional(),
});

function putEventsRequest(input: Record<string, unknown>): z.infer<typeof PutEventsRequest> {
  const parsed = PutEventsRequest.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new AwsProtocolError(
    AwsErrorCode.serialization,
    `Unable to deserialize ${issue.path.join('.') || 'the request'}: ${issue.message}`,
    400,
    { cause: parsed.error },
  );
}

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
        const result = await bus.putEvents(putEventsRequest(input).Entries, request.caller);
        // EventBridge bills the events it accepted.
        meter?.add(BilledUnit.eventBridgeEvents, result.Entries.length - result.FailedEntryCount);
        return result;
      },
      TestEventPattern: (input) => testEventPattern(input),
    },
  });
}
