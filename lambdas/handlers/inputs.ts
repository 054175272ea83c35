/**
 * What the state machine passes to each workflow handler (the `Payload` of its LambdaInvoke task in
 * lib/approval-workflow.ts). Parsed at the handler's edge; the services get typed input.
 */
import { ClassificationScan, ScanTarget } from '../domain/classification.ts';
import { Json } from '../domain/json.ts';
import { DecisionValue, RequestId } from '../domain/schemas.ts';
import * as z from '../domain/zod.ts';

/**
 * The execution running the step. Every step that stores, decides or publishes names it, and
 * refuses a request another execution owns: a direct invocation by anyone else decides nothing.
 */
const ExecutionArn = z
  .string()
  .check(z.regex(/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:.+$/, 'an execution ARN'));

/** The Evaluate step (see evaluateStep in lambdas/services/evaluate-request.ts). */
export const EvaluateInput = z.strictObject({
  /** The execution's state: the EventBridge event as the rule delivered it, `scan` once classified. */
  state: Json,
  executionArn: ExecutionArn,
  /** Whether the workflow classifies before it evaluates (it runs classification jobs). */
  classifyFirst: z.boolean(),
});
export type EvaluateInput = z.infer<typeof EvaluateInput>;

/** StartClassificationJob: the object to scan for this request. */
export const StartScanInput = z.strictObject({ requestId: RequestId, target: ScanTarget });
/** CheckClassification: the scan as the last step left it. */
export const CheckScanInput = z.strictObject({ scan: ClassificationScan });
/** The classification-jobs function: one of its two steps. */
export const ClassificationJobInput = z.union([StartScanInput, CheckScanInput]);

export const RequestApprovalInput = z.strictObject({
  taskToken: z.string().check(z.minLength(1)),
  requestId: RequestId,
  executionArn: ExecutionArn,
});
export type RequestApprovalInput = z.infer<typeof RequestApprovalInput>;

/**
 * How the execution ended for this request: Evaluate's (what the policy decided alone), a Pass
 * state's (Expired, Denied, ApprovalFailed, EvaluationFailed) or the vote service's SendTaskSuccess.
 */
export const WorkflowOutcome = z.strictObject({
  decision: DecisionValue,
  approvers: z.optional(z.array(z.string())),
  reason: z.optional(z.string()),
});
export type WorkflowOutcome = z.infer<typeof WorkflowOutcome>;

/** The Finish step (see finishRequest in lambdas/services/finish-request.ts). */
export const FinishInput = z.union([
  /** Finish: record the outcome of the request Evaluate stored, run it if so, publish. */
  z.strictObject({ requestId: RequestId, outcome: WorkflowOutcome, executionArn: ExecutionArn }),
  /**
   * FinishEvaluationFailure (after EvaluationFailed): the execution's state, the EventBridge event
   * as the rule delivered it, so a request the failed evaluation never stored is stored, denied,
   * under the id the event names. Untrusted: the service validates the event.
   */
  z.strictObject({ event: Json, outcome: WorkflowOutcome, executionArn: ExecutionArn }),
  /** PublishDecision: recorded already, its execution failed for good; only published. */
  z.strictObject({ requestId: RequestId, executionArn: ExecutionArn }),
]);
export type FinishInput = z.infer<typeof FinishInput>;
