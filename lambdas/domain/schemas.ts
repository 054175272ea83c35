/**
 * Every contract of Countersign, schema first. Types are inferred from these schemas and
 * nowhere else; parsing with them is the only way untrusted input enters the domain.
 */
import { RequestClassification } from './classification.ts';
import { ValidationError } from './errors.ts';
import { JsonObject } from './json.ts';
import * as z from './zod.ts';

export const AGENT_SOURCE_PREFIX = 'countersign.agent.';
export const DECISION_SOURCE = 'countersign';
export const DETAIL_TYPE = { actionRequested: 'Action Requested', actionDecided: 'Action Decided' } as const;

const AGENT_ID = '[a-z0-9][a-z0-9-]{0,62}';
const IDENTIFIER = '[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}';

const Identifier = z
  .string()
  .check(z.regex(new RegExp(`^${IDENTIFIER}$`), 'letters, digits and . _ : @ + - only, at most 128'));

/** A directory group, as approver and auditor groups name them. */
export const GroupName = z
  .string()
  .check(
    z.regex(/^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$/, 'a group name: letters, digits and . _ : @ + - only'),
  );

/** An agent id never contains `:`, so the agent part of a public request id is unambiguous. */
export const AgentId = z
  .string()
  .check(
    z.regex(new RegExp(`^${AGENT_ID}$`), 'lowercase letters, digits and hyphens, at most 63 characters'),
  );

/**
 * CloudTrail event ids are UUIDs; anything that could not be one is refused (it becomes a key).
 * Here rather than in cloudtrail-event.ts: every record a privileged call is matched to carries
 * one, and importing that module built its CloudTrail schemas in every function.
 */
export const EventId = z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,127}$/, 'a CloudTrail eventID'));

/**
 * The public id of a request: `<agentId>:<clientRequestId>`, where the client request id is the
 * agent's own `requestId` (the EventBridge event id when it gave none). Scoping by agent means one
 * agent can neither claim nor block another agent's id, and the id stays unique across agents.
 */
export const RequestId = z
  .string()
  .check(
    z.regex(
      new RegExp(`^${AGENT_ID}:${IDENTIFIER}$`),
      'expected "<agentId>:<requestId>", e.g. "invoice-bot:req-2026-0001"',
    ),
  );

export function publicRequestId(agentId: string, clientRequestId: string): string {
  return `${agentId}:${clientRequestId}`;
}

/** `<service>:<Operation>` as IAM spells it, e.g. `iam:AttachRolePolicy`. */
export const ActionName = z
  .string()
  .check(
    z.regex(
      /^[a-z0-9-]{2,40}:[A-Z][A-Za-z0-9]{1,127}$/,
      'expected "<service>:<Operation>", e.g. "s3:CopyObject"',
    ),
  );

export const Arn = z
  .string()
  .check(
    z.maxLength(2048),
    z.regex(/^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:.+$/, 'expected an ARN'),
  );

/**
 * An IAM managed policy's ARN (AWS's own, `iam::aws:policy/…`, or the account's). Here rather than
 * beside the executor that checks it: every handler's environment names the policies the executor
 * may attach, and importing it from executors.ts put the executor's request readers in every bundle.
 */
export const IamPolicyArn = z
  .string()
  .check(
    z.regex(
      /^arn:aws[a-z-]*:iam::(aws|\d{12}):policy\/(?:[\x21-\x7e]+\/)?[\w+=,.@-]{1,128}$/,
      'an IAM policy ARN',
    ),
  );

/** An IAM Identity Center identity store id as its API accepts it: `d-` and ten hex digits, or a UUID. */
export const IdentityStoreId = z
  .string()
  .check(
    z.regex(
      /^(d-[0-9a-f]{10}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/,
      'must be an identity store id such as d-1234567890',
    ),
  );

export { JsonObject } from './json.ts';

/**
 * An agent's emergency: it asks to act at once and be reviewed afterwards. Only a policy annotated
 * `@breakGlass("true")` lets it; otherwise the request is denied with the reason.
 */
export const BreakGlass = z.strictObject({
  reason: z.string().check(z.trim(), z.minLength(1, 'a break-glass reason is required'), z.maxLength(2000)),
  /** The incident it is for (a ticket id or URL). */
  incident: z.optional(z.string().check(z.trim(), z.minLength(1), z.maxLength(256))),
});
export type BreakGlass = z.infer<typeof BreakGlass>;

export const AgentRequestDetail = z.strictObject({
  requestId: z.optional(Identifier),
  agent: z.strictObject({
    id: AgentId,
    onBehalfOf: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
  }),
  action: ActionName,
  resource: z.strictObject({
    arn: Arn,
    type: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  }),
  parameters: z._default(JsonObject, {}),
  justification: z.string().check(z.trim(), z.minLength(1, 'a justification is required'), z.maxLength(4000)),
  context: z.optional(JsonObject),
  breakGlass: z.optional(BreakGlass),
  /**
   * Asks Countersign to run the action itself once approved (a built-in executor, see
   * domain/executors.ts); allowed only when a policy permits execution (`@executor("countersign")`).
   */
  execute: z.optional(z.boolean()),
});
export type AgentRequestDetail = z.infer<typeof AgentRequestDetail>;

/** The EventBridge event as a rule target receives it. */
export const AgentRequestEvent = z
  .object({
    version: z.string(),
    /** EventBridge's event id; it names the request when the agent gave no requestId. */
    id: Identifier,
    'detail-type': z.literal(DETAIL_TYPE.actionRequested),
    source: z.string().check(z.startsWith(AGENT_SOURCE_PREFIX)),
    account: z.string(),
    time: z.string(),
    region: z.string(),
    resources: z.array(z.string()),
    detail: AgentRequestDetail,
  })
  .check(
    z.refine((event) => event.source === `${AGENT_SOURCE_PREFIX}${event.detail.agent.id}`, {
      message: 'source must be countersign.agent.<detail.agent.id>: an agent can only ask for itself',
      path: ['source'],
    }),
  );
export type AgentRequestEvent = z.infer<typeof AgentRequestEvent>;

/** The agent's own requestId, or the EventBridge event id when it gave none. */
export function clientRequestIdOf(event: AgentRequestEvent): string {
  return event.detail.requestId ?? event.id;
}

/** The public id of the request an (already validated) event asks for. */
export function requestIdOf(event: AgentRequestEvent): string {
  return publicRequestId(event.detail.agent.id, clientRequestIdOf(event));
}

/** Why an event whose agent id is not a string is refused: it names nobody. */
export const UNIDENTIFIED_REASON = 'detail.agent.id must be a string';

function fieldOf(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

/**
 * The public id of the request an event asks for, read before the event is validated: the workflow
 * names its request with it, and a failed evaluation records under it. `<detail.agent.id>:<the
 * agent's requestId>`, the event id standing in when `detail.requestId` is not a string. Undefined
 * when the event names no agent (`detail.agent.id` is not a string) or, with no requestId, no event
 * id. For a valid event it is `requestIdOf`.
 */
export function deliveredRequestIdOf(event: unknown): string | undefined {
  const detail = fieldOf(event, 'detail');
  const agentId = fieldOf(fieldOf(detail, 'agent'), 'id');
  if (typeof agentId !== 'string') return undefined;
  const clientRequestId = fieldOf(detail, 'requestId');
  if (typeof clientRequestId === 'string') return publicRequestId(agentId, clientRequestId);
  const eventId = fieldOf(event, 'id');
  return typeof eventId === 'string' ? publicRequestId(agentId, eventId) : undefined;
}

export const PolicyOutcome = {
  allow: 'ALLOW',
  deny: 'DENY',
  requireApproval: 'REQUIRE_APPROVAL',
  /** A break-glass request a policy lets run at once, to be reviewed by `groups` afterwards. */
  breakGlass: 'BREAK_GLASS',
} as const;

/** Who runs an approved action when the agent does not: Countersign's built-in executors. */
export const EXECUTOR = 'countersign';
export const Executor = z.literal(EXECUTOR);
export const PolicyDecision = z.strictObject({
  decision: z.enum([
    PolicyOutcome.allow,
    PolicyOutcome.deny,
    PolicyOutcome.requireApproval,
    PolicyOutcome.breakGlass,
  ]),
  groups: z.array(z.string()),
  quorum: z.number().check(z.int(), z.gte(0)),
  timeoutSeconds: z.number().check(z.int(), z.gte(0)),
  stepUp: z.boolean(),
  policyIds: z.array(z.string()),
  reason: z.string(),
  /** How long a decision may be acted on (the receipt's `exp` - `iat`); the default when absent. */
  approvalValidForSeconds: z.optional(z.number().check(z.int(), z.positive())),
  /** REQUIRE_APPROVAL only: every determining approval policy says `@breakGlass("true")`. */
  breakGlassAllowed: z.optional(z.literal(true)),
  /** Set when Countersign runs the approved action itself (`@executor`, or an `execute` request a policy permits). */
  executor: z.optional(Executor),
});
export type PolicyDecision = z.infer<typeof PolicyDecision>;

export const Decision = {
  approved: 'APPROVED',
  denied: 'DENIED',
  expired: 'EXPIRED',
  autoApproved: 'AUTO_APPROVED',
  policyDenied: 'POLICY_DENIED',
  /** Run at once under break-glass, reviewed afterwards. */
  breakGlass: 'BREAK_GLASS',
} as const;
export const DecisionValue = z.enum([
  Decision.approved,
  Decision.denied,
  Decision.expired,
  Decision.autoApproved,
  Decision.policyDenied,
  Decision.breakGlass,
]);
export type DecisionValue = z.infer<typeof DecisionValue>;

/** Lifecycle of a request. PENDING → APPROVED | DENIED | EXPIRED, and nothing else. */
export const RequestStatus = {
  pending: 'PENDING',
  approved: 'APPROVED',
  denied: 'DENIED',
  expired: 'EXPIRED',
} as const;
export const RequestStatusValue = z.enum([
  RequestStatus.pending,
  RequestStatus.approved,
  RequestStatus.denied,
  RequestStatus.expired,
]);
export type RequestStatusValue = z.infer<typeof RequestStatusValue>;

/** How Countersign's own run of an approved action went. STARTED until it knows. */
export const ExecutionStatus = {
  started: 'STARTED',
  executed: 'EXECUTED',
  failed: 'EXECUTION_FAILED',
} as const;

/** The outcome an agent is told: EXECUTED with the AWS request id, or EXECUTION_FAILED with the error. */
export const ExecutionOutcome = z.strictObject({
  status: z.enum([ExecutionStatus.executed, ExecutionStatus.failed]),
  /** EXECUTED: the id AWS gave the call (`x-amz-request-id` / `x-amzn-requestid`), to find it in CloudTrail. */
  awsRequestId: z.optional(z.string().check(z.minLength(1))),
  /** EXECUTION_FAILED: what went wrong, in words (AWS's error code and message; never credentials). */
  error: z.optional(z.string().check(z.minLength(1))),
});
export type ExecutionOutcome = z.infer<typeof ExecutionOutcome>;

/** Countersign's run of the approved action, as stored on the request: claimed once, then finished once. */
export const ExecutionRecord = z.strictObject({
  status: z.enum([ExecutionStatus.started, ExecutionStatus.executed, ExecutionStatus.failed]),
  /** The role session the action ran in (the sanitised request id): CloudTrail's `roleSessionName`. */
  sessionName: z.string().check(z.minLength(2), z.maxLength(64)),
  startedAt: z.iso.datetime(),
  finishedAt: z.optional(z.iso.datetime()),
  awsRequestId: ExecutionOutcome.shape.awsRequestId,
  error: ExecutionOutcome.shape.error,
});
export type ExecutionRecord = z.infer<typeof ExecutionRecord>;

export const ActionDecidedDetail = z.strictObject({
  requestId: RequestId,
  decision: DecisionValue,
  actionHash: z.string().check(z.regex(/^[a-f0-9]{64}$/)),
  approvers: z.array(z.string()),
  reason: z.optional(z.string()),
  /** The signed decision receipt (compact JWS, see domain/receipt.ts): what the agent trusts. */
  receipt: z.string().check(z.minLength(1)),
  /** Present when Countersign ran the action itself: the agent must not run it again. */
  execution: z.optional(ExecutionOutcome),
});
export type ActionDecidedDetail = z.infer<typeof ActionDecidedDetail>;

export const Channel = { api: 'api', console: 'console', slack: 'slack', teams: 'teams' } as const;
export const ChannelValue = z.enum([Channel.api, Channel.console, Channel.slack, Channel.teams]);
export type ChannelValue = z.infer<typeof ChannelValue>;

export const PrincipalType = { user: 'user', agent: 'agent', service: 'service' } as const;
/** A directory identity: who someone is once their chat, token or key identity is resolved. */
export const Principal = z.strictObject({
  id: Identifier,
  type: z.enum([PrincipalType.user, PrincipalType.agent, PrincipalType.service]),
  groups: z.array(z.string()),
  email: z.optional(z.string()),
  displayName: z.optional(z.string()),
});
export type Principal = z.infer<typeof Principal>;

/** What a reviewer sends: `POST /api/requests/{id}/votes`. */
export const VoteInput = z
  .strictObject({
    vote: z.enum(['approve', 'deny']),
    reason: z.optional(z.string().check(z.trim(), z.maxLength(2000))),
    /** Step-up approvals only: the name of the resource, as the reviewer typed it. */
    stepUpConfirmation: z.optional(z.string().check(z.trim(), z.maxLength(2048))),
  })
  .check(
    z.refine((input) => input.vote === 'approve' || (input.reason ?? '').length > 0, {
      message: 'a reason is required to deny',
      path: ['reason'],
    }),
  );
export type VoteInput = z.infer<typeof VoteInput>;

export const Vote = z.strictObject({
  voterId: Identifier,
  vote: z.enum(['approve', 'deny']),
  reason: z.optional(z.string()),
  channel: ChannelValue,
  at: z.iso.datetime(),
});
export type Vote = z.infer<typeof Vote>;

/**
 * The owner of a request the fast path decided (`executionArn`), in the place of the execution ARN
 * that owns a workflow's request. No workflow step accepts it (they take execution ARNs only), so no
 * execution can ever decide, wait on or publish such a request; the table stream's follow-up
 * (announce-fast-decisions) picks the requests it owns by it.
 */
export const FAST_PATH_OWNER = 'countersign:fast-path';

/** The request as stored: the agent's ask, the policy outcome, votes and the decision. */
export const RequestRecord = z.strictObject({
  requestId: RequestId,
  /** The agent's own requestId (or the EventBridge event id): the part after `<agentId>:`. */
  clientRequestId: Identifier,
  status: RequestStatusValue,
  decision: z.optional(DecisionValue),
  reason: z.optional(z.string()),
  agent: AgentRequestDetail.shape.agent,
  /** Directory ids that may never vote on this request: the agent, whom it acts for, its owner. */
  requesters: z.array(z.string()),
  action: ActionName,
  resource: AgentRequestDetail.shape.resource,
  parameters: JsonObject,
  justification: z.string(),
  context: z.optional(JsonObject),
  /** The agent asked to act at once (break-glass), with why. */
  breakGlass: z.optional(BreakGlass),
  actionHash: z.string().check(z.regex(/^[a-f0-9]{64}$/)),
  policy: PolicyDecision,
  /** The classification of the S3 object or bucket the request touches (absent for other resources). */
  classification: z.optional(RequestClassification),
  votes: z.array(Vote),
  approvers: z.array(z.string()),
  /** The workflow execution that owns the request, or FAST_PATH_OWNER. */
  executionArn: z.string(),
  sourceEventId: z.string(),
  createdAt: z.iso.datetime(),
  expiresAt: z.optional(z.iso.datetime()),
  decidedAt: z.optional(z.iso.datetime()),
  /** The signed decision receipt, set once when the decision is published. */
  receipt: z.optional(z.string().check(z.minLength(1))),
  /** The agent asked Countersign to run the action itself (`execute: true`). */
  execute: z.optional(z.boolean()),
  /** Countersign's own run of the approved action (policy `executor`): claimed once, finished once. */
  execution: z.optional(ExecutionRecord),
});
export type RequestRecord = z.infer<typeof RequestRecord>;

/** Turns a zod failure into one line per problem, with the path that failed. */
export function describeIssues(error: z.core.$ZodError): string[] {
  return error.issues.map(
    (issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`,
  );
}

/** Parses untrusted input, throwing a ValidationError that lists every problem. */
export function parse<S extends z.core.$ZodType>(schema: S, input: unknown, what: string): z.infer<S> {
  const result = z.safeParse(schema, input);
  if (!result.success) {
    const issues = describeIssues(result.error);
    throw new ValidationError(`invalid ${what}: ${issues.join('; ')}`, issues, { cause: result.error });
  }
  return result.data;
}
