/**
 * The workflow's Finish step: how a request ended is recorded (exactly once, a conditional write),
 * the approved action runs when Countersign executes it (at most once, a conditional claim, in the
 * executor function, which Finish asks and waits for), and the decision is published. Each part is
 * idempotent, so the state machine retries the step as a whole. A part that fails is named
 * (FinishStepError), so the state machine tells them apart: a run claimed by an invocation still
 * running is a ConflictError (EXECUTION_IN_PROGRESS), asked again until that one has finished; an execution failing for good is published without its outcome.
 */
import { type ActionRunOutcome, type ActionRunRequest, isExecutionInProgress } from '../domain/action-run.ts';
import { FinishStepError, type FinishStepErrorName } from '../domain/approval.ts';
import { FinishStepFailure } from '../domain/errors.ts';
import type { ActionDecidedDetail, RequestRecord } from '../domain/schemas.ts';
import type { AuditReservation } from '../ports/index.ts';
import type { PublishDecisionInput } from './publish-decision.ts';
import type { RecordDecisionInput } from './record-decision.ts';

/** The three parts, as the handler wires them (each idempotent per request by its own conditional writes). */
export interface FinishSteps {
  readonly record: (input: RecordDecisionInput) => Promise<{
    readonly applied: boolean;
    /** The request as recorded. */
    readonly record: RequestRecord;
    /** The numbers recording took for the facts publishing writes (RecordDecisionResult). */
    readonly reserved?: readonly AuditReservation[];
    /** The stored request is one Countersign runs (countersignExecutes): only then is `execute` asked. */
    readonly executes: boolean;
  }>;
  /** Runs the approved action, or answers the outcome of its run (a ConflictError while it runs elsewhere). */
  readonly execute: (input: ActionRunRequest) => Promise<ActionRunOutcome>;
  readonly publish: (input: PublishDecisionInput) => Promise<ActionDecidedDetail>;
}

export interface FinishRequestInput {
  readonly requestId: string;
  readonly executionArn: string;
  /**
   * How the request ended, to record, then run when it is an approval Countersign executes. Absent:
   * recorded already and its execution failed for good; the decision is only published.
   */
  readonly outcome?: RecordDecisionInput['outcome'];
  /** After a failed evaluation: the event as delivered, to store a request Evaluate never stored. */
  readonly event?: unknown;
}

export interface FinishRequestResult {
  readonly requestId: string;
  /** This call recorded the decision; false when an earlier call (or a vote) had. */
  readonly applied: boolean;
  readonly published: ActionDecidedDetail;
  readonly execution?: ActionRunOutcome['execution'];
}

/** Runs a part, naming its failure; an error `passes` lets through keeps its own name. */
async function part<T>(
  name: FinishStepErrorName,
  run: () => Promise<T>,
  passes: (error: unknown) => boolean = () => false,
): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (passes(error)) throw error;
    // The cause's name leads the message: the log names what failed, not only which part.
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new FinishStepFailure(name, message, { cause: error });
  }
}

export async function finishRequest(
  steps: FinishSteps,
  input: FinishRequestInput,
): Promise<FinishRequestResult> {
  const { requestId, executionArn, outcome } = input;
  let applied = false;
  let execution: ActionRunOutcome['execution'];
  // What recording handed on to publishing, when nothing ran between them (a run writes its outcome
  // and its facts): the request as recorded, and the numbers reserved for the publish step's facts.
  let handedOn: Pick<PublishDecisionInput, 'recorded' | 'reserved'> = {};
  if (outcome !== undefined) {
    const recorded = await part(FinishStepError.record, () =>
      steps.record({
        requestId,
        outcome,
        executionArn,
        ...(input.event === undefined ? {} : { event: input.event }),
      }),
    );
    applied = recorded.applied;
    // Only an approval whose policy names an executor: the executor function checks the stored
    // request again, and most requests never invoke it.
    if (recorded.executes) {
      ({ execution } = await part(
        FinishStepError.execute,
        () => steps.execute({ requestId, executionArn }),
        // The run is claimed by an invocation still running: the step is asked again, later.
        isExecutionInProgress,
      ));
    } else {
      handedOn = {
        recorded: recorded.record,
        ...(recorded.reserved === undefined ? {} : { reserved: recorded.reserved }),
      };
    }
  }
  const published = await part(FinishStepError.publish, () =>
    steps.publish({ requestId, executionArn, ...handedOn }),
  );
  return { requestId, applied, published, ...(execution === undefined ? {} : { execution }) };
}
