/**
 * Names in the approval state machine that other code keys off: the local twin and the ASL tests
 * find states by these names, and the vote service fails a paused approval with the error names
 * of `WorkflowError` (lambdas/domain/approval.ts), which the state machine catches.
 * Renaming one is a contract change.
 */
export const WORKFLOW_STATES = {
  unidentified: 'Unidentified',
  startClassificationJob: 'StartClassificationJob',
  waitForClassification: 'WaitForClassification',
  checkClassification: 'CheckClassification',
  classificationDone: 'ClassificationDone',
  classificationFailed: 'ClassificationFailed',
  evaluate: 'Evaluate',
  evaluationFailed: 'EvaluationFailed',
  duplicate: 'Duplicate',
  rejected: 'Rejected',
  route: 'Route',
  requestApproval: 'RequestApproval',
  expired: 'Expired',
  denied: 'Denied',
  approvalFailed: 'ApprovalFailed',
  finish: 'Finish',
  finishEvaluationFailure: 'FinishEvaluationFailure',
  recordFailed: 'RecordFailed',
  publishDecision: 'PublishDecision',
  publishFailed: 'PublishFailed',
} as const;
export type WorkflowStateName = (typeof WORKFLOW_STATES)[keyof typeof WORKFLOW_STATES];

/**
 * Error names the workflow raises. The names a paused approval is failed with (SendTaskFailure)
 * are `WorkflowError` in lambdas/domain/approval.ts, the one place both sides read them from.
 */
export const WORKFLOW_ERRORS = {
  /** The evaluate step found the request malformed; the execution fails with the reason as cause. */
  invalidRequest: 'Countersign.InvalidRequest',
  recordFailed: 'Countersign.RecordFailed',
  publishFailed: 'Countersign.PublishFailed',
} as const;
