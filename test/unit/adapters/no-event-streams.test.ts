import { describe, expect, it } from 'vitest';
import {
  EventStreamSerde,
  EventStreamsNotBundledError,
  eventStreamSerdeProvider,
  resolveEventStreamSerdeConfig,
} from '../../../lambdas/adapters/no-event-streams.ts';

describe("the bundles' event-stream codec: none, and it says so", () => {
  it('lets a client that streams events elsewhere (S3) be configured, with a marshaller that refuses', () => {
    const config = resolveEventStreamSerdeConfig({ region: 'us-east-1', eventStreamSerdeProvider });
    expect(config.region).toBe('us-east-1');
    const marshaller = config.eventStreamMarshaller as ReturnType<typeof eventStreamSerdeProvider>;
    expect(() => marshaller.serialize()).toThrow(EventStreamsNotBundledError);
    expect(() => marshaller.deserialize()).toThrow(/not bundled/);
  });

  it('refuses an operation that streams events rather than sending it', () => {
    expect(() => new EventStreamSerde()).toThrow(EventStreamsNotBundledError);
  });
});
