/**
 * The agents' HTTP API, the fast decision path (IAM/SigV4-authenticated, agents only):
 *
 *   POST /api/agent/decisions             body: AgentDecisionRequest
 *     200 AgentDecisionBody DECIDED  what policy alone decides (ALLOW, DENY), with its signed receipt
 *     202 AgentDecisionBody PENDING  people decide, or Countersign executes: the approval workflow runs
 *   GET  /api/agent/decisions/{requestId}?wait=0..20
 *     200 DECIDED, 202 PENDING (after waiting up to `wait` seconds for the decision), 404 unknown
 *
 * One schema per body, shared by the handler and the SDK (agent/), which is why it lives here.
 */
import { ActionDecidedDetail, AgentRequestDetail, RequestId } from './schemas.ts';
import * as z from './zod.ts';

export const AGENT_DECISIONS_PATH = '/api/agent/decisions';
/** The longest a GET waits for the decision: well inside API Gateway's 30-second integration limit. */
export const MAX_WAIT_SECONDS = 20;
/** API Gateway's signing name, which the agent signs its calls with (SigV4). */
export const EXECUTE_API_SIGNING_NAME = 'execute-api';

/**
 * What an agent sends: the `Action Requested` detail, with its `requestId` required (the
 * idempotency key: sending the same request again answers with the same decision).
 */
export const AgentDecisionRequest = z.extend(AgentRequestDetail, {
  requestId: AgentRequestDetail.shape.requestId._zod.def.innerType,
});
export type AgentDecisionRequest = z.infer<typeof AgentDecisionRequest>;

export const AgentDecisionStatus = { decided: 'DECIDED', pending: 'PENDING' } as const;

/** A decided request: the `Action Decided` detail (with its receipt) the bus carries too. */
export const DecidedBody = z.extend(ActionDecidedDetail, { status: z.literal(AgentDecisionStatus.decided) });
export type DecidedBody = z.infer<typeof DecidedBody>;

/** Not decided yet: ask again with GET (the SDK long-polls). */
export const PendingBody = z.strictObject({
  status: z.literal(AgentDecisionStatus.pending),
  requestId: RequestId,
});
export type PendingBody = z.infer<typeof PendingBody>;

export const AgentDecisionBody = z.discriminatedUnion('status', [DecidedBody, PendingBody]);
export type AgentDecisionBody = z.infer<typeof AgentDecisionBody>;

/** `?wait=` of the GET: whole seconds from 0 (answer at once) to MAX_WAIT_SECONDS. */
export const WaitSeconds = z.coerce
  .number<string>()
  .check(
    z.int('wait must be whole seconds'),
    z.gte(0, 'wait must be 0 or more'),
    z.lte(MAX_WAIT_SECONDS, `wait is at most ${MAX_WAIT_SECONDS} seconds`),
  );
