import { CountersignError } from '../../../../lambdas/domain/errors.ts';

/**
 * A pattern EventBridge would refuse. The message is phrased as AWS phrases
 * `InvalidEventPatternException` ("Event pattern is not valid. Reason: …") so that the twin's
 * `TestEventPattern`/`PutRule` answers read like the real service; `reason` is the part after the prefix.
 */
export class InvalidEventPatternError extends CountersignError {
  readonly reason: string;
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`Event pattern is not valid. Reason: ${reason}`, options);
    this.reason = reason;
  }
}
