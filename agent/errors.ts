/**
 * What the agent SDK throws. Every error is a CountersignError (`name`, `cause`) and says which
 * request it is about and, once there is one, its decision.
 */
import { CountersignError } from '../lambdas/domain/errors.ts';
import type { DecisionValue } from '../lambdas/domain/schemas.ts';

export interface AgentErrorOptions {
  /** The public request id `<agentId>:<requestId>`. */
  readonly requestId: string;
  readonly decision?: DecisionValue;
  readonly cause?: unknown;
}

export class AgentError extends CountersignError {
  readonly requestId: string;
  readonly decision: DecisionValue | undefined;
  constructor(message: string, options: AgentErrorOptions) {
    super(message, { cause: options.cause });
    this.requestId = options.requestId;
    this.decision = options.decision;
  }
}

/**
 * The action may not run: it was denied (by people or by policy), its receipt does not verify or is
 * for another action, or Countersign runs it itself.
 */
export class ApprovalDeniedError extends AgentError {}

/** The action may not run because time ran out: nobody decided before the request expired, or the receipt expired. */
export class ApprovalExpiredError extends AgentError {}

/**
 * Waiting ended (the timeout, or the signal) before a decision: the request stays pending in
 * Countersign; asking again with the same requestId keeps waiting for the same decision.
 */
export class ApprovalPendingError extends AgentError {}

/** Countersign refused the call (HTTP 4xx), or kept failing (5xx) until the SDK gave up. */
export class CountersignApiError extends CountersignError {
  readonly status: number;
  /** The API's error code: NOT_AN_AGENT, NOT_THIS_AGENT, REQUEST_ID_REUSED, INVALID_REQUEST … */
  readonly code: string;
  readonly issues: readonly string[];
  constructor(
    message: string,
    options: {
      readonly status: number;
      readonly code: string;
      readonly issues?: readonly string[];
      readonly cause?: unknown;
    },
  ) {
    super(message, { cause: options.cause });
    this.status = options.status;
    this.code = options.code;
    this.issues = options.issues ?? [];
  }
}
