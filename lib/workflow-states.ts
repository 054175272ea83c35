import { WorkflowError } from '../lambdas/domain/approval.ts';

/**
 * Names in the approval state machine that other code keys off: the local twin and the ASL tests
 * find states by these names, and the vote service fails a paused approval with the error names
 * of `WorkflowError` (lambdas/domain/approval.ts), which the state machine catches.
 * Renaming one is a contract change.
 */
export const WORKFLOW_STATES = {
  resolveRequestId: 'ResolveRequestId',
  withRequestId: 'WithRequestId',
  withEventId: 'WithEventId',
  evaluate: 'Evaluate',
  evaluationFailed: 'EvaluationFailed',
  isDuplicate: 'IsDuplicate',
  duplicate: 'Duplicate',
  isValid: 'IsValid',
  rejected: 'Rejected',
  route: 'Route',
  autoApproved: 'AutoApproved',
  policyDenied: 'PolicyDenied',
  requestApproval: 'RequestApproval',
  expired: 'Expired',
  denied: 'Denied',
  approvalFailed: 'ApprovalFailed',
  recordDecision: 'RecordDecision',
  recordFailed: 'RecordFailed',
  publishDecision: 'PublishDecision',
  publishFailed: 'PublishFailed',
  done: 'Done',
} as const;
export type WorkflowStateName = (typeof WORKFLOW_STATES)[keyof typeof WORKFLOW_STATES];

/** Error names raised into, or by, the workflow. */
export const WORKFLOW_ERRORS = {
  /** The evaluate step found the request malformed; the execution fails with the reason as cause. */
  invalidRequest: 'Countersign.InvalidRequest',
  /** Sent with SendTaskFailure by the vote service when an eligible reviewer denies. */
  denied: WorkflowError.denied,
  /** Sent with SendTaskFailure when the stored decision is EXPIRED (the request ran out first). */
  expired: WorkflowError.expired,
  recordFailed: 'Countersign.RecordFailed',
  publishFailed: 'Countersign.PublishFailed',
} as const;
