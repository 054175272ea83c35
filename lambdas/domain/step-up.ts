/**
 * Step-up: for a request whose policy asks for it, an approval must be a deliberate act, so the
 * approving reviewer types the name of the resource they approve an action on. The server checks
 * it for every channel (API, console, Slack, Teams); the channels only collect what was typed.
 */
import { StepUpRequiredError } from './errors.ts';
import type { RequestRecord, VoteInput } from './schemas.ts';

/** The name a step-up reviewer must type: the last segment of the ARN's resource part (after `/` or `:`). */
export function resourceNameOf(arn: string): string {
  const resource = arn.split(':').slice(5).join(':');
  return (
    resource
      .split(/[/:]/)
      .filter((part) => part.length > 0)
      .pop() ?? arn
  );
}

/** Throws StepUpRequiredError unless the ballot carries what a step-up approval of `record` needs. */
export function assertStepUp(record: RequestRecord, ballot: VoteInput): void {
  if (!record.policy.stepUp || ballot.vote !== 'approve') return;
  const expected = resourceNameOf(record.resource.arn);
  if (ballot.stepUpConfirmation !== expected) {
    throw new StepUpRequiredError(
      `This approval needs a step-up confirmation: type the resource name "${expected}" (stepUpConfirmation) to approve.`,
    );
  }
}
