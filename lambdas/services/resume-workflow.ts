/**
 * Resuming a workflow paused on `.waitForTaskToken` with the decision the store holds. Shared by
 * the vote (which decides) and the wait task (which may find the request already decided).
 */
import { WorkflowError } from '../domain/approval.ts';
import { WorkflowTokenError } from '../domain/errors.ts';
import { Decision, type RequestRecord, RequestStatus } from '../domain/schemas.ts';
import type { Clock, RequestStore, WaitState, Workflow } from '../ports/index.ts';

export interface ResumeDeps {
  readonly store: RequestStore;
  readonly workflow: Workflow;
  readonly clock: Clock;
}

/** Who ended the request and why, as the workflow's failure cause (JSON, read by the state machine). */
function failureCause(record: RequestRecord): string {
  const denier = record.votes.find((vote) => vote.vote === 'deny');
  return JSON.stringify({
    decision: record.decision,
    reason: record.reason ?? null,
    voter: denier?.voterId ?? null,
  });
}

async function sendDecision(workflow: Workflow, record: RequestRecord, taskToken: string): Promise<void> {
  const { decision } = record;
  if (decision === Decision.approved || decision === Decision.autoApproved) {
    await workflow.succeed(taskToken, { decision, approvers: record.approvers });
  } else {
    const error = decision === Decision.expired ? WorkflowError.expired : WorkflowError.denied;
    await workflow.fail(taskToken, error, failureCause(record));
  }
}

/**
 * Sends the stored decision through `taskToken`, then marks the token resumed. Step Functions takes
 * a token's result once and refuses any later one (a WorkflowTokenError), so callers racing on one
 * token resume it once, and a crash between the send and the mark only leaves the next caller a send
 * that is refused, after which it marks. Marking first would be worse: a crash after the mark and
 * before the send strands the wait until it times out. Returns whether this call resumed the workflow.
 */
async function resumeOnce(deps: ResumeDeps, record: RequestRecord, taskToken: string): Promise<boolean> {
  let resumed = true;
  try {
    await sendDecision(deps.workflow, record, taskToken);
  } catch (error) {
    // The token already ended: resumed by a racing caller, or its wait timed out. Either way it is done.
    if (!(error instanceof WorkflowTokenError)) throw error;
    resumed = false;
  }
  await deps.store.markResumed(record.requestId, taskToken, deps.clock.now());
  return resumed;
}

/**
 * Resumes the workflow of a decided request unless its current wait already was resumed, or no wait
 * has begun yet (the wait task then finds the decision and resumes itself). `known` is the wait
 * state read with the record (the decision's own write returns it); without it, it is read. Returns
 * whether this call resumed it.
 */
export async function resumeIfWaiting(
  deps: ResumeDeps,
  record: RequestRecord,
  known?: WaitState,
): Promise<boolean> {
  if (record.status === RequestStatus.pending) return false;
  const wait = known ?? (await deps.store.getWaitState(record.requestId));
  if (wait.resumed || wait.taskToken === undefined) return false;
  return resumeOnce(deps, record, wait.taskToken);
}

export type ResumeAttempt =
  | { readonly resumed: boolean }
  | { readonly resumed: false; readonly error: unknown };

/**
 * As resumeIfWaiting, but a failure to resume is returned rather than thrown: the decision is
 * already stored, and the next vote or wait task on this request tries again. The caller logs it.
 */
export async function tryResume(
  deps: ResumeDeps,
  record: RequestRecord,
  known?: WaitState,
): Promise<ResumeAttempt> {
  try {
    return { resumed: await resumeIfWaiting(deps, record, known) };
  } catch (error) {
    return { resumed: false, error };
  }
}
