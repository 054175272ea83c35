/**
 * Privileged calls reconciled against approvals. A call (one CloudTrail record) is:
 *  - FAILED_CALL when AWS refused or failed it (`errorCode`): nothing happened, no alert;
 *  - NOT_AN_AGENT when its principal is no agent's `principalArn`;
 *  - MATCHED when an approval of that agent for the same action and resource (and the same
 *    values of the parameters both sides name) covers it; BREAK_GLASS when that approval was a
 *    break-glass decision;
 *  - UNAPPROVED otherwise: an alert and an after-the-fact review.
 * An approval covers a call when it was decided before the call and had not expired: compared at
 * CloudTrail's one-second precision by the call's own `eventTime`, never by when the event
 * arrived, so an approval recorded after the call's event arrived still covers a call made after
 * the decision. Each approval covers one call (consumed with a conditional write). Pure.
 */
import { ReviewView } from './after-the-fact-review.ts';
import { cloudTrailAction } from './privileged-actions.ts';
import { canonicalResourceArn, disagreeingParameters } from './privileged-resources.ts';
import { receiptClaimsFor } from './receipt.ts';
import {
  AgentId,
  Decision,
  type DecisionValue,
  EventId,
  JsonObject,
  type Principal,
  RequestId,
  type RequestRecord,
} from './schemas.ts';
import * as z from './zod.ts';

export const CallStatus = {
  matched: 'MATCHED',
  unapproved: 'UNAPPROVED',
  failedCall: 'FAILED_CALL',
  notAnAgent: 'NOT_AN_AGENT',
  breakGlass: 'BREAK_GLASS',
} as const;
export const CallStatusValue = z.enum([
  CallStatus.matched,
  CallStatus.unapproved,
  CallStatus.failedCall,
  CallStatus.notAnAgent,
  CallStatus.breakGlass,
]);
export type CallStatusValue = z.infer<typeof CallStatusValue>;

/** `GET /api/privileged-calls` and `/api/privileged-calls/{eventId}`: one reconciled call. */
export const PrivilegedCall = z.strictObject({
  eventId: EventId,
  eventName: z.string(),
  eventSource: z.string(),
  /** `<service>:<eventName>`, as CloudTrail names it. */
  action: z.string(),
  /** The caller: the user or role ARN (an assumed role's issuer), or what CloudTrail names it by. */
  principalArn: z.string(),
  agentId: z.optional(AgentId),
  resourceArn: z.optional(z.string()),
  eventTime: z.iso.datetime({ offset: true }),
  status: CallStatusValue,
  /** The request whose approval covers the call (MATCHED, BREAK_GLASS). */
  requestId: z.optional(RequestId),
  /** The after-the-fact review: the call's own when UNAPPROVED, its request's when BREAK_GLASS. */
  review: z.optional(ReviewView),
});
export type PrivilegedCall = z.infer<typeof PrivilegedCall>;

/** The call as stored: the API's fields (without the review, which is its own item) and what reconciling needs. */
export const CallRecord = z.extend(z.omit(PrivilegedCall, { review: true }), {
  /** The review covering the call, when it has one. */
  reviewId: z.optional(z.string()),
  /** Groups whose members may read the call besides the auditors: its approvers or reviewers. */
  readers: z.array(z.string()),
  /** SHA-256 of the CloudTrail record: a redelivery has the same, a forgery of its eventID does not. */
  fingerprint: z.string().check(z.regex(/^[a-f0-9]{64}$/)),
  recordedAt: z.iso.datetime(),
  awsRegion: z.string(),
  sourceIPAddress: z.optional(z.string()),
  errorCode: z.optional(z.string()),
  /** As CloudTrail recorded them: what a late approval's parameters are compared with. */
  requestParameters: z.nullable(JsonObject),
});
export type CallRecord = z.infer<typeof CallRecord>;

export function toPrivilegedCall(call: CallRecord, review?: ReviewView): PrivilegedCall {
  const { reviewId: _review, readers: _readers, fingerprint: _fingerprint, recordedAt: _at, ...shown } = call;
  const {
    awsRegion: _region,
    sourceIPAddress: _ip,
    errorCode: _error,
    requestParameters: _parameters,
    ...contract
  } = shown;
  return { ...contract, ...(review === undefined ? {} : { review }) };
}

/**
 * Who may read a call: the auditors, and the members of the groups that approve or review it.
 * Everyone else is told it does not exist.
 */
export function canReadCall(
  call: CallRecord,
  principal: Principal,
  auditorGroups: readonly string[],
): boolean {
  return principal.groups.some((group) => call.readers.includes(group) || auditorGroups.includes(group));
}

const GRANTING: ReadonlySet<DecisionValue> = new Set([
  Decision.approved,
  Decision.autoApproved,
  Decision.breakGlass,
]);

/** An approval a call may be matched against: one per approving decision, consumed by one call. */
export const ApprovalGrant = z.strictObject({
  requestId: RequestId,
  agentId: AgentId,
  /** As CloudTrail names it. */
  action: z.string(),
  /** Canonical (see canonicalResourceArn). */
  resourceArn: z.string(),
  decision: z.enum([Decision.approved, Decision.autoApproved, Decision.breakGlass]),
  decidedAt: z.iso.datetime(),
  /** The receipt's `exp`: no call after it is covered. */
  expiresAt: z.iso.datetime(),
  parameters: JsonObject,
  /** The request's approver groups: they may read the calls it covers. */
  groups: z.array(z.string()),
  /** The eventID of the call it covers, once consumed. */
  consumedBy: z.optional(EventId),
});
export type ApprovalGrant = z.infer<typeof ApprovalGrant>;

/**
 * The approval a decided request grants, or undefined when its decision does not let the agent act:
 * not approved, or approved for Countersign to execute (the agent's own call of it is unapproved).
 */
export function grantOf(record: RequestRecord): ApprovalGrant | undefined {
  if (
    record.decision === undefined ||
    !GRANTING.has(record.decision) ||
    record.decidedAt === undefined ||
    record.policy.executor !== undefined
  ) {
    return undefined;
  }
  return {
    requestId: record.requestId,
    agentId: record.agent.id,
    action: cloudTrailAction(record.action),
    resourceArn: canonicalResourceArn(record.resource.arn),
    decision: record.decision as ApprovalGrant['decision'],
    decidedAt: record.decidedAt,
    expiresAt: new Date(receiptClaimsFor(record).exp * 1000).toISOString(),
    parameters: record.parameters,
    groups: [...record.policy.groups],
  };
}

/**
 * The approval kept for the CloudTrail reconciliation: an approving decision (grantOf) of a watched
 * action, as CloudTrail names it. No call of another action is ever reconciled, so its approval
 * would be read by nobody.
 */
export function reconcilableGrantOf(
  record: RequestRecord,
  watchedActions: ReadonlySet<string>,
): ApprovalGrant | undefined {
  const grant = grantOf(record);
  return grant !== undefined && watchedActions.has(grant.action) ? grant : undefined;
}

/** What of a call an approval is compared with. */
export interface CoveredCall {
  readonly agentId: string;
  readonly action: string;
  readonly resourceArn: string;
  readonly eventTime: string;
  readonly requestParameters: Readonly<Record<string, unknown>> | null | undefined;
}

/**
 * Why `grant` does not cover `call`, or undefined when it does (consumption aside). Times compare
 * in whole seconds, CloudTrail's precision: a call in the same second as the decision counts as
 * after it (it cannot be told apart), a call in the second the approval expires is not covered.
 */
export function whyNotCovered(grant: ApprovalGrant, call: CoveredCall): string | undefined {
  if (
    grant.agentId !== call.agentId ||
    grant.action !== call.action ||
    grant.resourceArn !== call.resourceArn
  ) {
    return 'another agent, action or resource';
  }
  const second = (iso: string) => Math.floor(Date.parse(iso) / 1000);
  if (second(grant.decidedAt) > second(call.eventTime)) return 'decided after the call';
  if (second(call.eventTime) >= second(grant.expiresAt)) return 'expired before the call';
  const disagreeing = disagreeingParameters(call.action, grant.parameters, call.requestParameters);
  if (disagreeing.length > 0) return `parameters differ: ${disagreeing.join(', ')}`;
  return undefined;
}

/** The status a call covered by `grant` gets. */
export function matchedStatus(
  grant: ApprovalGrant,
): typeof CallStatus.matched | typeof CallStatus.breakGlass {
  return grant.decision === Decision.breakGlass ? CallStatus.breakGlass : CallStatus.matched;
}
