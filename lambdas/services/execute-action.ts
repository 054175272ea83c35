/**
 * The executor function's service (handlers/execute-action.ts, which the workflow's Finish step
 * invokes): Countersign runs an approved action itself (the decision's `executor`), exactly as
 * approved and at most once. What runs is read from the stored request and
 * must still hash to the approved `actionHash`; an IAM policy outside the allowed list is refused
 * however many approved it. The run is claimed with a conditional write before anything is called,
 * so concurrent or retried steps never run it twice, and its outcome (EXECUTED with the AWS request
 * id, EXECUTION_FAILED with the error) is written once, then told in the decision event and the
 * audit trail. A run interrupted before it knew its outcome is never repeated: once it is older
 * than any invocation could be, it is recorded as failed with its outcome unknown.
 */
import { actionHash } from '../domain/action-hash.ts';
import {
  type ActionRunOutcome,
  type ActionRunRequest,
  countersignExecutes,
  EXECUTION_IN_PROGRESS,
} from '../domain/action-run.ts';
import { AuditKind } from '../domain/audit-record.ts';
import { ConflictError, ForeignExecutionError, NotFoundError } from '../domain/errors.ts';
import {
  type ExecutableAction,
  ExecutableActionName,
  ExecutionRefusedError,
  executableAction,
  executionSessionName,
} from '../domain/executors.ts';
import {
  type ExecutionOutcome,
  type ExecutionRecord,
  ExecutionStatus,
  type RequestRecord,
} from '../domain/schemas.ts';
import type { ActionExecutor, Clock, RequestStore } from '../ports/index.ts';
import { recordFact, SYSTEM_ACTOR } from './audit-trail.ts';

export interface ExecuteActionDeps {
  readonly store: RequestStore;
  readonly executor: ActionExecutor;
  readonly clock: Clock;
  /** The only policy ARNs the IAM executor attaches (`countersign:executorAllowedPolicyArns`). */
  readonly allowedPolicyArns: readonly string[];
  /** How old a STARTED run must be to count as interrupted: longer than any invocation runs. */
  readonly interruptedAfterMs: number;
}

/** Why the stored request must not run, or undefined when it may: checked again right before running. */
function refusalOf(record: RequestRecord, deps: ExecuteActionDeps): string | ExecutableAction {
  if (actionHash(record) !== record.actionHash) {
    return 'the stored action no longer hashes to the approved actionHash: refusing to run anything';
  }
  let action: ExecutableAction;
  try {
    action = executableAction(record);
  } catch (error) {
    if (error instanceof ExecutionRefusedError) return error.message;
    throw error;
  }
  if (
    action.action === ExecutableActionName.attachRolePolicy &&
    !deps.allowedPolicyArns.includes(action.policyArn)
  ) {
    return `${action.policyArn} is not a policy the executor may attach (countersign:executorAllowedPolicyArns)`;
  }
  return action;
}

async function finish(
  deps: ExecuteActionDeps,
  requestId: string,
  outcome: ExecutionOutcome,
): Promise<ExecutionRecord> {
  const stored = await deps.store.finishExecution(requestId, { ...outcome, finishedAt: deps.clock.now() });
  // finishExecution returns the record whose run this call (or an earlier one) finished.
  return stored.execution!;
}

/** Runs the claimed action; whatever leaves its outcome unknown is a failure, never a reason to run again. */
async function run(
  deps: ExecuteActionDeps,
  action: ExecutableAction,
  sessionName: string,
): Promise<ExecutionOutcome> {
  try {
    const result = await deps.executor.run(action, sessionName);
    return 'failure' in result
      ? { status: ExecutionStatus.failed, ...result.failure }
      : { status: ExecutionStatus.executed, ...result };
  } catch (error) {
    return {
      status: ExecutionStatus.failed,
      error: `the outcome is unknown, and the action is not run again: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

/** A run found STARTED: still running elsewhere (retry later), or interrupted (recorded as failed). */
async function startedElsewhere(
  deps: ExecuteActionDeps,
  record: RequestRecord,
  execution: ExecutionRecord,
): Promise<ExecutionRecord> {
  const age = deps.clock.now().getTime() - Date.parse(execution.startedAt);
  if (age < deps.interruptedAfterMs) {
    throw new ConflictError(EXECUTION_IN_PROGRESS, `request ${record.requestId} is being executed`);
  }
  return finish(deps, record.requestId, {
    status: ExecutionStatus.failed,
    error: `the run was interrupted before it knew its outcome, and it is not run again: look for role session ${execution.sessionName} in CloudTrail`,
  });
}

/** A run claimed before: its outcome, once it has one. */
async function settled(
  deps: ExecuteActionDeps,
  record: RequestRecord,
  execution: ExecutionRecord,
): Promise<ActionRunOutcome> {
  const done =
    execution.status === ExecutionStatus.started
      ? await startedElsewhere(deps, record, execution)
      : execution;
  return recordOutcome(deps, record.requestId, done);
}

/** The EXECUTED fact of a finished run (written once), and the step's answer. */
async function recordOutcome(
  deps: ExecuteActionDeps,
  requestId: string,
  execution: ExecutionRecord,
): Promise<ActionRunOutcome> {
  await recordFact(deps, {
    requestId,
    kind: AuditKind.executed,
    actor: SYSTEM_ACTOR,
    data: {
      status: execution.status,
      sessionName: execution.sessionName,
      awsRequestId: execution.awsRequestId,
      error: execution.error,
    },
  });
  return { requestId, execution };
}

export async function executeApprovedAction(
  deps: ExecuteActionDeps,
  input: ActionRunRequest,
): Promise<ActionRunOutcome> {
  const { requestId } = input;
  const record = await deps.store.get(requestId);
  if (record === undefined) throw new NotFoundError(`request ${requestId} does not exist`);
  if (record.executionArn !== input.executionArn) throw new ForeignExecutionError(requestId);
  if (!countersignExecutes(record)) return { requestId };

  if (record.execution !== undefined) return settled(deps, record, record.execution);
  const checked = refusalOf(record, deps);
  const sessionName = executionSessionName(requestId);
  const { claimed, record: stored } = await deps.store.claimExecution(requestId, {
    status: ExecutionStatus.started,
    sessionName,
    startedAt: deps.clock.now().toISOString(),
  });
  // Not claimed: another step claimed it between the read and the claim; its run is the one that stands.
  if (!claimed) return settled(deps, stored, stored.execution!);
  const outcome =
    typeof checked === 'string'
      ? { status: ExecutionStatus.failed, error: checked }
      : await run(deps, checked, sessionName);
  return recordOutcome(deps, requestId, await finish(deps, requestId, outcome));
}
