/**
 * The fast decision path: an agent asks over HTTP (`POST /api/agent/decisions`) and what policy
 * alone decides is answered at once. The request is assessed by the same code as the workflow's
 * Evaluate step (`assessRequest`: directory, Cedar, execution rules, fail closed); an ALLOW or DENY
 * is signed and stored already decided, with its receipt, in one conditional write, and answered:
 * that write is all the agent waits for. The rest follows from the table's stream
 * (announce-fast-decisions.ts, retried until done): the approval privileged calls (CloudTrail) are
 * matched against, the workflow's audit trail (REQUESTED, EVALUATED, DECIDED, SIGNED, PUBLISHED)
 * and `Action Decided` on the bus. Everything else (people decide, Countersign executes the action,
 * a break-glass request, whose review the workflow opens, or the S3 object it reads or exports must
 * first be classified by Macie) starts the same approval workflow, under a name derived from the
 * request id, and answers PENDING; `GET …/{requestId}` waits for the outcome. Idempotent on the
 * request id: the same request asked again gets the decision already stored, and an id reused for
 * another action is refused.
 */
import { createHash } from 'node:crypto';
import { actionHash } from '../domain/action-hash.ts';
import {
  type AgentDecisionBody,
  type AgentDecisionRequest,
  AgentDecisionStatus,
  MAX_WAIT_SECONDS,
} from '../domain/agent-api.ts';
import { decidedRecord } from '../domain/approval.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../domain/errors.ts';
import { receiptClaimsFor } from '../domain/receipt.ts';
import {
  AGENT_SOURCE_PREFIX,
  AgentRequestEvent,
  DETAIL_TYPE,
  Decision,
  FAST_PATH_OWNER,
  PolicyOutcome,
  parse,
  publicRequestId,
  type RequestRecord,
} from '../domain/schemas.ts';
import type {
  ApprovalWorkflows,
  ClassificationStore,
  Clock,
  Directory,
  PolicyEngine,
  ReceiptSigner,
  RequestStore,
} from '../ports/index.ts';
import { planClassification } from './classify-before-approval.ts';
import { assessRequest } from './evaluate-request.ts';
import { decisionEventOf } from './publish-decision.ts';

export interface AgentDecisionDeps {
  readonly store: RequestStore;
  readonly classifications: ClassificationStore;
  /** Whether the workflow classifies data before approval (then unclassified data goes to it). */
  readonly classifyBeforeApproval: boolean;
  readonly policy: PolicyEngine;
  readonly directory: Directory;
  readonly signer: ReceiptSigner;
  readonly workflows: ApprovalWorkflows;
  readonly clock: Clock;
  /** Waits `ms` milliseconds (between reads of a long poll). */
  readonly sleep: (ms: number) => Promise<void>;
  /** Where the stack runs: the `region` and `account` of the event a started workflow receives. */
  readonly region: string;
  readonly account: string;
}

/** How often a long poll reads the request: soon at first, then less often. */
const POLL_INTERVALS_MS = [50, 100, 200, 400] as const;
const POLL_INTERVAL_MAX_MS = 500;

/** The calling agent (resolved from its IAM principal) and what it asks. */
export interface RequestDecisionInput {
  readonly agentId: string;
  readonly request: AgentDecisionRequest;
}

/** An event id that is the same for every ask of one request (so a retried start has the same input). */
function eventIdFor(requestId: string): string {
  const hex = createHash('sha256').update(requestId, 'utf8').digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The `Action Requested` event the agent-request rule would have delivered for this request. */
function eventFor(deps: AgentDecisionDeps, input: RequestDecisionInput): AgentRequestEvent {
  const requestId = publicRequestId(input.agentId, input.request.requestId);
  return parse(
    AgentRequestEvent,
    {
      version: '0',
      id: eventIdFor(requestId),
      'detail-type': DETAIL_TYPE.actionRequested,
      source: `${AGENT_SOURCE_PREFIX}${input.agentId}`,
      account: deps.account,
      // EventBridge's own format: whole seconds.
      time: deps.clock
        .now()
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z'),
      region: deps.region,
      resources: [],
      detail: input.request,
    },
    'agent request',
  );
}

/** What the agent is told about a stored request: the decision once it carries its receipt. */
function answerFor(record: RequestRecord): AgentDecisionBody {
  return record.receipt === undefined
    ? { status: AgentDecisionStatus.pending, requestId: record.requestId }
    : { status: AgentDecisionStatus.decided, ...decisionEventOf(record) };
}

/** A request id names one action: asking again with another is refused, never answered with the first's decision. */
function checkSameAction(stored: RequestRecord, request: AgentDecisionRequest): void {
  if (stored.actionHash !== actionHash(request)) {
    throw new ConflictError(
      'REQUEST_ID_REUSED',
      `request ${stored.requestId} already names another action; use a new requestId for a new action`,
    );
  }
}

/**
 * Whether policy alone decides: an ALLOW or a DENY that Countersign does not have to execute. A
 * BREAK_GLASS decision is the workflow's: it records the decision and opens the after-the-fact review.
 */
function decidedByPolicy(record: RequestRecord): boolean {
  const { decision, executor } = record.policy;
  return decision === PolicyOutcome.deny || (decision === PolicyOutcome.allow && executor === undefined);
}

/** The policy's decision of an assessed request, with its signed receipt. */
async function decisionOf(deps: AgentDecisionDeps, assessed: RequestRecord): Promise<RequestRecord> {
  const decision =
    assessed.policy.decision === PolicyOutcome.allow ? Decision.autoApproved : Decision.policyDenied;
  const { reason } = assessed.policy;
  const decided = decidedRecord(assessed, {
    decision,
    approvers: assessed.approvers,
    ...(reason === undefined ? {} : { reason }),
    at: deps.clock.now(),
  });
  return { ...decided, receipt: await deps.signer.sign(receiptClaimsFor(decided)) };
}

/** A request asked again: answered from the store (the same action only). */
function askedAgain(request: AgentDecisionRequest, stored: RequestRecord): AgentDecisionBody {
  checkSameAction(stored, request);
  return answerFor(stored);
}

/**
 * What policy decides, signed and stored in one conditional write that only a request not stored
 * yet passes, and answered: a new request is not read first (one call fewer), one asked again is
 * answered from what its failed write finds, the first decision stored standing. The write's stream
 * record carries the decision on (announce-fast-decisions.ts). When KMS fails, a request asked
 * again is still answered from the store; a new one fails closed, nothing stored.
 */
async function decideByPolicy(
  deps: AgentDecisionDeps,
  request: AgentDecisionRequest,
  assessed: RequestRecord,
): Promise<AgentDecisionBody> {
  let decided: RequestRecord;
  try {
    decided = await decisionOf(deps, assessed);
  } catch (error) {
    const stored = await deps.store.get(assessed.requestId);
    if (stored === undefined) throw error;
    return askedAgain(request, stored);
  }
  const { created, record } = await deps.store.claim(decided);
  return created ? answerFor(record) : askedAgain(request, record);
}

export async function requestDecision(
  deps: AgentDecisionDeps,
  input: RequestDecisionInput,
): Promise<AgentDecisionBody> {
  const { agentId, request } = input;
  if (request.agent.id !== agentId) {
    throw new ForbiddenError(
      'NOT_THIS_AGENT',
      `agent.id is "${request.agent.id}", but the caller is the agent "${agentId}": an agent asks only for itself`,
    );
  }
  const event = eventFor(deps, input);
  const requestId = publicRequestId(agentId, request.requestId);
  const [assessed, scan] = await Promise.all([
    assessRequest(deps, event, FAST_PATH_OWNER),
    deps.classifyBeforeApproval
      ? planClassification({ store: deps.classifications, policy: deps.policy }, event)
      : null,
  ]);
  // Data Macie has not classified yet is classified before anyone decides: the workflow does that.
  if (scan === null && decidedByPolicy(assessed)) return decideByPolicy(deps, request, assessed);
  // People decide, Countersign executes, or the data is classified first: the workflow does it (and
  // its Evaluate stores the request), unless the request is stored already.
  const stored = await deps.store.get(requestId);
  if (stored !== undefined) return askedAgain(request, stored);
  await deps.workflows.start(requestId, event);
  return { status: AgentDecisionStatus.pending, requestId };
}

export interface AwaitDecisionInput {
  readonly agentId: string;
  /** The public request id `<agentId>:<requestId>`. */
  readonly requestId: string;
  /** How long to wait for the decision, 0 to MAX_WAIT_SECONDS. */
  readonly waitSeconds: number;
}

/**
 * The request's decision, waiting up to `waitSeconds` for it: DECIDED as soon as it carries its
 * receipt, PENDING when the wait ends first. NotFoundError for a request that neither exists nor
 * has a workflow started by the fast path; ForbiddenError for another agent's request.
 */
export async function awaitDecision(
  deps: AgentDecisionDeps,
  input: AwaitDecisionInput,
): Promise<AgentDecisionBody> {
  const { agentId, requestId } = input;
  if (!requestId.startsWith(`${agentId}:`)) {
    throw new ForbiddenError('NOT_THIS_AGENT', `an agent reads only its own requests (${agentId}:…)`);
  }
  const deadline = deps.clock.now().getTime() + Math.min(input.waitSeconds, MAX_WAIT_SECONDS) * 1000;
  let knownToExist = false;
  for (let attempt = 0; ; attempt += 1) {
    const record = await deps.store.get(requestId);
    if (record?.receipt !== undefined) return answerFor(record);
    if (record === undefined && !knownToExist && !(await deps.workflows.hasStarted(requestId))) {
      throw new NotFoundError(`no request with id ${requestId}`);
    }
    knownToExist = true;
    const remaining = deadline - deps.clock.now().getTime();
    if (remaining <= 0) return { status: AgentDecisionStatus.pending, requestId };
    await deps.sleep(Math.min(POLL_INTERVALS_MS[attempt] ?? POLL_INTERVAL_MAX_MS, remaining));
  }
}
