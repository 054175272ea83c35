/**
 * Hands a sealed Slack vote job to an asynchronous invocation of the same function
 * (InvocationType Event): Lambda answers Slack at once and runs the vote in a second invocation,
 * retried by Lambda on failure (the vote is idempotent per person). The worker opens the seal
 * before it believes anything in the job (vote-job.ts). The twin serves the Lambda Invoke API for
 * the same client, so this path is the same locally.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { SealedVoteJob } from './vote-job.ts';

/** The self-invocation event: distinct from an API Gateway event by this one key. */
export interface DeferredSlackVote {
  readonly countersignSlackVote: unknown;
}

export function isDeferredSlackVote(event: unknown): event is DeferredSlackVote {
  return typeof event === 'object' && event !== null && 'countersignSlackVote' in event;
}

export function lambdaSelfInvoke(client: Pick<LambdaClient, 'send'>, functionName: () => string) {
  return async (job: SealedVoteJob): Promise<void> => {
    const event: DeferredSlackVote = { countersignSlackVote: job };
    const result = await client.send(
      new InvokeCommand({
        FunctionName: functionName(),
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify(event)),
      }),
    );
    if (result.StatusCode !== 202) throw new Error(`asynchronous invoke answered ${result.StatusCode}`);
  };
}
