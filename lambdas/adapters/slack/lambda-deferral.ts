/**
 * Hands a verified Slack vote to an asynchronous invocation of the same function
 * (InvocationType Event): Lambda answers Slack at once and runs the vote in a second invocation,
 * retried by Lambda on failure (the vote is idempotent per person). The twin serves the Lambda
 * Invoke API for the same client (AWS_ENDPOINT_URL_LAMBDA), so this path is the same locally.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { z } from 'zod';
import { SlackVoteJob } from './interactions.ts';

/** The self-invocation event: distinct from an API Gateway event by this one key. */
export const DeferredSlackVote = z.strictObject({ countersignSlackVote: SlackVoteJob });
export type DeferredSlackVote = z.infer<typeof DeferredSlackVote>;

export function isDeferredSlackVote(event: unknown): boolean {
  return typeof event === 'object' && event !== null && 'countersignSlackVote' in event;
}

export function lambdaSelfInvoke(client: Pick<LambdaClient, 'send'>, functionName: () => string) {
  return async (job: SlackVoteJob): Promise<void> => {
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
