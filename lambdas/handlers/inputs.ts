/**
 * What the state machine passes to each workflow handler (the `Payload` of its LambdaInvoke task in
 * lib/approval-workflow.ts). Parsed at the handler's edge; the services get typed input.
 */
import { z } from 'zod';
import { DecisionValue } from '../domain/schemas.ts';

/**
 * The requestId chosen by the state machine: the agent's, or the EventBridge event id. Checked
 * loosely here; the evaluate service validates the whole event and reports a bad one as invalid.
 */
const WorkflowRequestId = z.string().min(1).max(256);

export const EvaluateInput = z.strictObject({
  requestId: WorkflowRequestId,
  /** The EventBridge event as the rule delivered it. */
  event: z.json(),
  executionArn: z.string().min(1),
});
export type EvaluateInput = z.infer<typeof EvaluateInput>;

export const RequestApprovalInput = z.strictObject({
  taskToken: z.string().min(1),
  requestId: WorkflowRequestId,
});
export type RequestApprovalInput = z.infer<typeof RequestApprovalInput>;

/**
 * How the execution ended for this request: set by a Pass state (AutoApproved, PolicyDenied,
 * Expired, Denied, ApprovalFailed, EvaluationFailed) or by the vote service's SendTaskSuccess.
 */
export const WorkflowOutcome = z.strictObject({
  decision: DecisionValue,
  approvers: z.array(z.string()).optional(),
  reason: z.string().optional(),
});
export type WorkflowOutcome = z.infer<typeof WorkflowOutcome>;

export const RecordDecisionInput = z.strictObject({
  requestId: WorkflowRequestId,
  outcome: WorkflowOutcome,
  /**
   * Only from EvaluationFailed (through RecordEvaluationFailure): the EventBridge event as the rule
   * delivered it and the execution, so a request the failed evaluation never stored is stored,
   * denied. Untrusted: the service validates the event.
   */
  event: z.json().optional(),
  executionArn: z.string().min(1).optional(),
});
export type RecordDecisionInput = z.infer<typeof RecordDecisionInput>;

export const PublishDecisionInput = z.strictObject({ requestId: WorkflowRequestId });
export type PublishDecisionInput = z.infer<typeof PublishDecisionInput>;
