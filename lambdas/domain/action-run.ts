/**
 * The hand-off between the workflow's Finish step and the function that runs approved actions
 * (handlers/execute-action.ts), which alone may assume the executor role. Finish names the request
 * and the execution that owns it, nothing more: the executor function reads what to run from the
 * stored request itself, so whoever else may invoke it can make it run nothing that was not
 * approved. It answers the run's outcome, that there was nothing to run, or that another
 * invocation's run of the same request is still going on (Finish is then asked again later).
 */
import { ConflictError } from './errors.ts';
import { ExecutionRecord, RequestId, type RequestRecord, RequestStatus } from './schemas.ts';
import * as z from './zod.ts';

/** The ConflictError code of a run claimed by an invocation still running (asked again later). */
export const EXECUTION_IN_PROGRESS = 'EXECUTION_IN_PROGRESS';

/** Whether an error says the run is claimed by an invocation still running. */
export function isExecutionInProgress(error: unknown): boolean {
  return error instanceof ConflictError && error.code === EXECUTION_IN_PROGRESS;
}

/** Whether Countersign runs this request's action: approved, under a policy that names an executor. */
export function countersignExecutes(record: Pick<RequestRecord, 'policy' | 'status'>): boolean {
  return record.policy.executor !== undefined && record.status === RequestStatus.approved;
}

/** The executor function's event. */
export const ActionRunRequest = z.strictObject({
  requestId: RequestId,
  /** The execution running the Finish step; only the one that owns the request may run its action. */
  executionArn: z.string().check(z.minLength(1)),
});
export type ActionRunRequest = z.infer<typeof ActionRunRequest>;

/** The run of the request's action (once it has an outcome), or none when there is nothing to run. */
export const ActionRunOutcome = z.strictObject({
  requestId: RequestId,
  execution: z.optional(ExecutionRecord),
});
export type ActionRunOutcome = z.infer<typeof ActionRunOutcome>;

/** The run is claimed by an invocation still running: nothing was done, ask again later. */
export const ActionRunInProgress = z.strictObject({
  requestId: RequestId,
  inProgress: z.literal(true),
});
export type ActionRunInProgress = z.infer<typeof ActionRunInProgress>;

/** The executor function's answer. */
export const ActionRunAnswer = z.union([ActionRunOutcome, ActionRunInProgress]);
export type ActionRunAnswer = z.infer<typeof ActionRunAnswer>;
