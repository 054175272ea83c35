/**
 * Resuming a workflow paused on `.waitForTaskToken` with the decision the store holds. Shared by
 * the vote (which decides) and the wait task (which may find the request already decided).
 */
import { WorkflowError } from '../domain/approval.ts';
import { Decision, type RequestRecord, RequestStatus } from '../domain/schemas.ts';
import type { Clock, RequestStore, Workflow } from '../ports/index.ts';

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
 * Sends the stored decision through `taskToken`, exactly once per token across concurrent callers:
 * the resumed mark (bound to the token) is claimed first and released if sending fails, so a later
 * call retries; a wait re-driven with a fresh token gets the decision again, through that token. A crash
 * between claim and send leaves the wait to its timeout, where the stored decision still wins.
 * Returns whether this call resumed the workflow.
 */
export async function resumeOnce(
  deps: ResumeDeps,
  record: RequestRecord,
  taskToken: string,
): Promise<boolean> {
  if (!(await deps.store.markResumed(record.requestId, taskToken, deps.clock.now()))) return false;
  try {
    await sendDecision(deps.workflow, record, taskToken);
  } catch (error) {
    await deps.store.clearResumed(record.requestId, taskToken);
    throw error;
  }
  return true;
}

/**
 * Resumes the workflow of a decided request unless it already was, or no wait has begun yet (the
 * wait task then finds the decision and resumes itself). Returns whether this call resumed it.
 */
export async function resumeIfWaiting(deps: ResumeDeps, record: RequestRecord): Promise<boolean> {
  if (record.status === RequestStatus.pending) return false;
  const wait = await deps.store.getWaitState(record.requestId);
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
export async function tryResume(deps: ResumeDeps, record: RequestRecord): Promise<ResumeAttempt> {
  try {
    return { resumed: await resumeIfWaiting(deps, record) };
  } catch (error) {
    return { resumed: false, error };
  }
}
