/**
 * `countersign/agent`: the SDK for agents. Ask Countersign before acting, wait for the decision,
 * and act only on a receipt that verifies for exactly the action about to run.
 *
 *   const countersign = createAgentClient({ agentId: 'invoice-bot', endpoint: 'https://…' });
 *   await countersign.guard({ action, resource, parameters, justification }, (approved) => run(approved));
 */
export { actionHash, canonicalActionJson } from '../lambdas/domain/action-hash.ts';
export {
  approvesAction,
  permitsAction,
  type ReceiptClaims,
  ReceiptError,
  ReceiptProblem,
} from '../lambdas/domain/receipt.ts';
export type { DecisionValue, ExecutionOutcome } from '../lambdas/domain/schemas.ts';
export {
  type AgentClient,
  type AgentClientOptions,
  type ApprovalRequest,
  type ApprovalResult,
  type ApprovedAction,
  createAgentClient,
  DEFAULT_TIMEOUT_MS,
  type PendingApproval,
  type RequestApprovalOptions,
} from './client.ts';
export {
  AgentError,
  ApprovalDeniedError,
  ApprovalExpiredError,
  ApprovalPendingError,
  CountersignApiError,
} from './errors.ts';
export { type VerifyReceiptOptions, verifyReceipt } from './receipts.ts';
export type { AgentCredentials } from './transport.ts';
