/**
 * The agent's client: asks Countersign for a decision over the fast decision path and waits for it,
 * and runs an action only once a verified receipt approves exactly that action.
 */
import { randomUUID } from 'node:crypto';
import { actionHash } from '../lambdas/domain/action-hash.ts';
import {
  AGENT_DECISIONS_PATH,
  AgentDecisionBody,
  AgentDecisionRequest,
  AgentDecisionStatus,
  type DecidedBody,
  MAX_WAIT_SECONDS,
} from '../lambdas/domain/agent-api.ts';
import {
  permitsAction,
  type ReceiptClaims,
  ReceiptError,
  ReceiptProblem,
  verifyReceipt,
} from '../lambdas/domain/receipt.ts';
import {
  Decision,
  type DecisionValue,
  type ExecutionOutcome,
  type JsonObject,
  parse,
  publicRequestId,
} from '../lambdas/domain/schemas.ts';
import {
  ApprovalDeniedError,
  ApprovalExpiredError,
  ApprovalPendingError,
  CountersignApiError,
} from './errors.ts';
import { remoteKeys } from './receipts.ts';
import { type AgentCredentials, SignedTransport } from './transport.ts';

/** The JWKS path of the HTTP API: the keys receipts verify with. */
export const JWKS_PATH = '/api/receipts/jwks.json';
/** How long requestApproval waits for a decision unless told. */
export const DEFAULT_TIMEOUT_MS = 60 * 60 * 1000;

export interface AgentClientOptions {
  /** The agent's id, as the directory and `countersign:agents` register it. */
  readonly agentId: string;
  /** @default AWS_REGION, else us-east-1 */
  readonly region?: string;
  /**
   * The HTTP API's base URL: the stack's `HttpApiUrl` output (the twin: its URL).
   * @default COUNTERSIGN_ENDPOINT, else http://127.0.0.1:4710 (the local twin)
   */
  readonly endpoint?: string;
  /** @default the standard AWS credential chain */
  readonly credentials?: AgentCredentials;
  /** @default `<endpoint>/api/receipts/jwks.json` */
  readonly jwksUrl?: string;
  /** @default DEFAULT_TIMEOUT_MS */
  readonly timeoutMs?: number;
}

/** What the agent asks to do: the `Action Requested` contract, without the agent (the client's). */
export interface ApprovalRequest {
  /** `<service>:<Operation>` as IAM spells it. */
  readonly action: string;
  readonly resource: { readonly arn: string; readonly type?: string };
  /** The exact arguments: they are hashed into the actionHash the approval binds to. */
  readonly parameters?: JsonObject;
  readonly justification: string;
  /** The human the agent acts for (a directory id or email). */
  readonly onBehalfOf?: string;
  /** The idempotency key: asking again with it answers with the same decision. @default a new UUID */
  readonly requestId?: string;
  readonly context?: JsonObject;
  /** Ask Countersign to run the action itself once approved (a policy must permit it). */
  readonly execute?: boolean;
}

export interface RequestApprovalOptions {
  /** Stops waiting (the request stays pending in Countersign). */
  readonly signal?: AbortSignal;
  /** @default the client's timeoutMs */
  readonly timeoutMs?: number;
}

export interface ApprovalResult {
  /** The public request id, `<agentId>:<requestId>`. */
  readonly requestId: string;
  readonly decision: DecisionValue;
  /** Who approved, in the order they voted (empty unless APPROVED). */
  readonly approvers: readonly string[];
  readonly reason: string | undefined;
  /** The signed receipt (compact JWS): verify it before acting. */
  readonly receipt: string;
  /** SHA-256 of the RFC 8785 canonical action (action, resource, parameters). */
  readonly actionHash: string;
  /** When Countersign ran the action itself: its outcome. The agent must not run it again. */
  readonly execution?: ExecutionOutcome;
}

/** What `guard` hands the function it runs: exactly the approved action, frozen, and its receipt. */
export interface ApprovedAction {
  readonly requestId: string;
  readonly action: string;
  readonly resource: { readonly arn: string; readonly type?: string };
  readonly parameters: Readonly<JsonObject>;
  readonly receipt: string;
  readonly claims: ReceiptClaims;
}

/** A request people (or Countersign's executor) still have to decide: ask again with getDecision. */
export interface PendingApproval {
  /** The public request id, `<agentId>:<requestId>`. */
  readonly requestId: string;
  readonly decision: typeof AgentDecisionStatus.pending;
}

export interface AgentClient {
  readonly agentId: string;
  /** Asks once and answers at once: the decision when policy alone decides, else the pending request. */
  submitApproval(
    request: ApprovalRequest & Pick<RequestApprovalOptions, 'signal'>,
  ): Promise<ApprovalResult | PendingApproval>;
  /** Asks for a decision and resolves once there is one (any decision: check it, or use guard). */
  requestApproval(request: ApprovalRequest & RequestApprovalOptions): Promise<ApprovalResult>;
  /**
   * Runs `run` only after an approval whose receipt verifies and whose actionHash is the hash of
   * exactly the action `run` is handed; throws ApprovalDeniedError / ApprovalExpiredError otherwise.
   */
  guard<T>(
    request: ApprovalRequest & RequestApprovalOptions,
    run: (approved: ApprovedAction) => T | Promise<T>,
  ): Promise<T>;
  /** The decision of a request asked before, waiting up to `wait` seconds (≤ 20); undefined while pending. */
  getDecision(
    requestId: string,
    options?: { readonly waitSeconds?: number; readonly signal?: AbortSignal },
  ): Promise<ApprovalResult | undefined>;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const field of Object.values(value)) deepFreeze(field);
    Object.freeze(value);
  }
  return value;
}

const DENIALS: ReadonlySet<DecisionValue> = new Set([Decision.denied, Decision.policyDenied]);

export function createAgentClient(options: AgentClientOptions): AgentClient {
  const { agentId } = options;
  const endpoint = options.endpoint ?? process.env.COUNTERSIGN_ENDPOINT ?? 'http://127.0.0.1:4710';
  const transport = new SignedTransport({
    endpoint,
    region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  });
  const keys = remoteKeys(options.jwksUrl ?? new URL(JWKS_PATH.slice(1), transport.endpoint));
  const clientTimeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  /** The detail as the API takes it, validated here first, so a bad request fails before any call. */
  const detailOf = (request: ApprovalRequest): AgentDecisionRequest =>
    parse(
      AgentDecisionRequest,
      {
        requestId: request.requestId ?? randomUUID(),
        agent: {
          id: agentId,
          ...(request.onBehalfOf === undefined ? {} : { onBehalfOf: request.onBehalfOf }),
        },
        action: request.action,
        resource: request.resource,
        parameters: request.parameters ?? {},
        justification: request.justification,
        ...(request.context === undefined ? {} : { context: request.context }),
        ...(request.execute === undefined ? {} : { execute: request.execute }),
      },
      'approval request',
    );

  const resultOf = (body: DecidedBody, expectedHash: string): ApprovalResult => {
    if (body.actionHash !== expectedHash) {
      throw new CountersignApiError(
        `Countersign answered about another action than ${body.requestId} asked (actionHash differs)`,
        { status: 200, code: 'ACTION_HASH_MISMATCH' },
      );
    }
    return {
      requestId: body.requestId,
      decision: body.decision,
      approvers: body.approvers,
      reason: body.reason,
      receipt: body.receipt,
      actionHash: body.actionHash,
      ...(body.execution === undefined ? {} : { execution: body.execution }),
    };
  };

  const askDecision = async (
    requestId: string,
    waitSeconds: number,
    signal: AbortSignal | undefined,
  ): Promise<AgentDecisionBody> => {
    const { body } = await transport.call('GET', `${AGENT_DECISIONS_PATH}/${encodeURIComponent(requestId)}`, {
      query: { wait: String(waitSeconds) },
      ...(signal === undefined ? {} : { signal }),
    });
    return parse(AgentDecisionBody, body, 'decision');
  };

  /** One POST: the decision when policy decides at once, else the pending request (no waiting). */
  const submit = async (
    request: ApprovalRequest,
    signal: AbortSignal | undefined,
  ): Promise<{ readonly detail: AgentDecisionRequest; readonly answer: AgentDecisionBody }> => {
    const detail = detailOf(request);
    const { body } = await transport.call('POST', AGENT_DECISIONS_PATH, {
      body: detail,
      ...(signal === undefined ? {} : { signal }),
    });
    return { detail, answer: parse(AgentDecisionBody, body, 'decision') };
  };

  const submitApproval = async (
    request: ApprovalRequest & Pick<RequestApprovalOptions, 'signal'>,
  ): Promise<ApprovalResult | PendingApproval> => {
    const { detail, answer } = await submit(request, request.signal);
    return answer.status === AgentDecisionStatus.pending
      ? { requestId: answer.requestId, decision: AgentDecisionStatus.pending }
      : resultOf(answer, actionHash(detail));
  };

  const requestApproval = async (
    request: ApprovalRequest & RequestApprovalOptions,
  ): Promise<ApprovalResult> => {
    // The id is fixed before the first call, so every retry and every later ask names the same request.
    const asked = { ...request, requestId: request.requestId ?? randomUUID() };
    const requestId = publicRequestId(agentId, asked.requestId);
    const timeout = AbortSignal.timeout(request.timeoutMs ?? clientTimeoutMs);
    const signal = request.signal === undefined ? timeout : AbortSignal.any([request.signal, timeout]);
    try {
      const { detail, answer: first } = await submit(asked, signal);
      let answer = first;
      while (answer.status !== AgentDecisionStatus.decided) {
        answer = await askDecision(requestId, MAX_WAIT_SECONDS, signal);
      }
      return resultOf(answer, actionHash(detail));
    } catch (error) {
      if (!signal.aborted) throw error;
      throw new ApprovalPendingError(
        timeout.aborted
          ? `no decision on ${requestId} within the timeout; it is still pending (ask again with requestId "${asked.requestId}")`
          : `stopped waiting for the decision on ${requestId}; it is still pending`,
        { requestId, cause: signal.reason },
      );
    }
  };

  /** The receipt's claims if it approves exactly this action for this agent to run; else why not. */
  const approvedClaims = async (result: ApprovalResult, expectedHash: string): Promise<ReceiptClaims> => {
    const { requestId, decision } = result;
    if (DENIALS.has(decision)) {
      throw new ApprovalDeniedError(`${requestId} was ${decision}: ${result.reason ?? 'no reason given'}`, {
        requestId,
        decision,
      });
    }
    if (decision === Decision.expired) {
      throw new ApprovalExpiredError(`${requestId} expired before anyone decided it`, {
        requestId,
        decision,
      });
    }
    let claims: ReceiptClaims;
    try {
      claims = await verifyReceipt(result.receipt, { keys, actionHash: expectedHash, agentId });
    } catch (error) {
      if (!(error instanceof ReceiptError)) throw error;
      const Refusal = error.code === ReceiptProblem.expired ? ApprovalExpiredError : ApprovalDeniedError;
      throw new Refusal(`the receipt of ${requestId} does not allow this action: ${error.message}`, {
        requestId,
        decision,
        cause: error,
      });
    }
    if (claims.decision !== decision || claims.requestId !== requestId || !permitsAction(claims)) {
      throw new ApprovalDeniedError(
        claims.executor === undefined
          ? `the receipt of ${requestId} says ${claims.decision}, not an approval of ${requestId}`
          : `Countersign runs ${requestId} itself (its executor): the agent must not run it too`,
        { requestId, decision },
      );
    }
    return claims;
  };

  return {
    agentId,
    submitApproval,
    requestApproval,
    async guard(request, run) {
      if (request.execute === true) {
        throw new TypeError(
          'guard runs the action itself; a request with execute: true asks Countersign to run it',
        );
      }
      const { signal, timeoutMs, ...asked } = request;
      // What runs is what was asked: a frozen copy, so nothing can change it after it is hashed.
      const frozen = deepFreeze(structuredClone({ ...asked, requestId: asked.requestId ?? randomUUID() }));
      const detail = detailOf(frozen);
      const result = await requestApproval({
        ...frozen,
        ...(signal === undefined ? {} : { signal }),
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
      });
      const claims = await approvedClaims(result, actionHash(detail));
      return run({
        requestId: result.requestId,
        action: detail.action,
        resource: deepFreeze(detail.resource),
        parameters: deepFreeze(detail.parameters),
        receipt: result.receipt,
        claims,
      });
    },
    async getDecision(requestId, getOptions = {}) {
      const id = requestId.startsWith(`${agentId}:`) ? requestId : publicRequestId(agentId, requestId);
      const answer = await askDecision(id, getOptions.waitSeconds ?? 0, getOptions.signal);
      if (answer.status === AgentDecisionStatus.pending) return undefined;
      return resultOf(answer, answer.actionHash);
    },
  };
}
