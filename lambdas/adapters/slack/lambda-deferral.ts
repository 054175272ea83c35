/**
 * Hands a sealed Slack vote job to an asynchronous invocation of the same function
 * (InvocationType Event): Lambda answers Slack at once and runs the vote in a second invocation,
 * retried by Lambda on failure (the vote is idempotent per person). The worker opens the seal
 * before it believes anything in the job (vote-job.ts). The call itself is lambda-invoke.ts.
 */
import { InvocationType, type LambdaInvoke } from '../lambda-invoke.ts';
import type { SealedVoteJob } from './vote-job.ts';

/** The self-invocation event: distinct from an API Gateway event by this one key. */
export interface DeferredSlackVote {
  readonly countersignSlackVote: unknown;
}

export function isDeferredSlackVote(event: unknown): event is DeferredSlackVote {
  return typeof event === 'object' && event !== null && 'countersignSlackVote' in event;
}

/** The hand-over, its retries included, with room left to answer inside Slack's 3 s acknowledgement. */
const HAND_OVER_TIMEOUT_MS = 2000;

export function lambdaSelfInvoke(invoke: LambdaInvoke, functionName: () => string) {
  return async (job: SealedVoteJob): Promise<void> => {
    const event: DeferredSlackVote = { countersignSlackVote: job };
    await invoke({
      functionName: functionName(),
      invocationType: InvocationType.event,
      payload: event,
      timeoutMs: HAND_OVER_TIMEOUT_MS,
    });
  };
}
