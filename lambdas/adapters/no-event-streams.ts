/**
 * What a bundled handler's AWS SDK clients get for `@smithy/core/event-streams` (the bundler
 * substitutes this module for it: lib/handler-bundle.ts). No handler calls an operation with an
 * event stream (S3 SelectObjectContent, Lambda InvokeWithResponseStream and the like). Yet the SDK's
 * protocols load the codec with a dynamic `import()`, which makes esbuild wrap that module and the
 * ~290 modules of the client core it reaches in lazily run closures, parsed once more when they
 * run at init; with the codec (~15 KB) they cost Evaluate ~4.5 ms of CPU per cold start
 * (docs/PERFORMANCE.md). The S3 client builds a marshaller when constructed: it gets one that
 * refuses to work, and so does any operation that would stream events, with an error that says why.
 */
import { CountersignError } from '../domain/errors.ts';

/** An operation with an event stream was called from a handler bundle, which carries no codec. */
export class EventStreamsNotBundledError extends CountersignError {
  constructor() {
    super(
      'event streams are not bundled into Countersign handlers (lambdas/adapters/no-event-streams.ts); no handler calls an operation that streams events',
    );
  }
}

function refuse(): never {
  throw new EventStreamsNotBundledError();
}

/** The marshaller clients with event-stream operations (S3) build when constructed. */
export const eventStreamSerdeProvider = () => ({ serialize: refuse, deserialize: refuse });

/** As `@smithy/core/event-streams`'s: clients call it with their configuration when constructed. */
export function resolveEventStreamSerdeConfig<Config extends object>(
  input: Config & { eventStreamSerdeProvider: (config: Config) => unknown },
): Config & { eventStreamMarshaller: unknown } {
  return Object.assign(input, { eventStreamMarshaller: input.eventStreamSerdeProvider(input) });
}

/** What the protocols build when an operation streams events: it refuses. */
export class EventStreamSerde {
  constructor() {
    refuse();
  }
}
