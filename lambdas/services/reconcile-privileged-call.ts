/**
 * Reconciles privileged calls (CloudTrail records) with approvals, and approvals with the calls
 * that arrived before them. EventBridge delivers at least once and in no particular order, so:
 *  - a call is recorded once, by its eventID (conditional put); a redelivery finishes what the first
 *    delivery left undone (the review, the alert, the audit), and a different record claiming a
 *    recorded eventID is refused loudly (it fails, and lands in the dead-letter queue);
 *  - a call is noted under its subject before it is matched, and re-matched after it is recorded
 *    UNAPPROVED; an approval is stored before its decision is published, and on publication the
 *    calls noted under its subject are re-matched. Each side writes before it reads, so a call and
 *    an approval that race always find each other;
 *  - an approval is consumed by one call with a conditional write.
 */
import {
  callAuditRequestId,
  callReviewId,
  type Review,
  ReviewKind,
  ReviewStatus,
  requestReviewId,
  reviewAuditRequestId,
} from '../domain/after-the-fact-review.ts';
import type { AgentPrincipal } from '../domain/agent-principals.ts';
import { AuditKind } from '../domain/audit-record.ts';
import {
  actionOf,
  type CloudTrailEvent,
  CloudTrailEvent as CloudTrailEventSchema,
  principalOf,
  recordFingerprint,
} from '../domain/cloudtrail-event.ts';
import { ConflictError } from '../domain/errors.ts';
import {
  type ApprovalGrant,
  type CallRecord,
  CallStatus,
  type CoveredCall,
  grantOf,
  matchedStatus,
  reconcilableGrantOf,
  whyNotCovered,
} from '../domain/privileged-calls.ts';
import { resourceOfCall } from '../domain/privileged-resources.ts';
import { Decision, type JsonObject, PolicyOutcome, parse, type RequestRecord } from '../domain/schemas.ts';
import type {
  CallSubject,
  Clock,
  Directory,
  PolicyEngine,
  PrivilegedCallStore,
  RequestStore,
  ReviewAlerts,
  ReviewStore,
} from '../ports/index.ts';
import { recordFact, SYSTEM_ACTOR } from './audit-trail.ts';
import { resolveRequesters } from './requesters.ts';

export interface ReconcileDeps {
  readonly calls: PrivilegedCallStore;
  readonly reviews: ReviewStore;
  readonly alerts: ReviewAlerts;
  readonly store: Pick<RequestStore, 'get' | 'appendAudit'>;
  /** What the policies say about an unapproved call, and so who reviews it. */
  readonly policy: PolicyEngine;
  readonly directory: Directory;
  readonly agents: readonly AgentPrincipal[];
  /**
   * The privileged actions watched, as CloudTrail names them: only their calls reach the
   * reconciliation, so only their approvals can cover one.
   */
  readonly watchedActions: ReadonlySet<string>;
  /** Reviews a call no approval policy names reviewers for. */
  readonly defaultApproverGroup: string;
  readonly clock: Clock;
}

export interface ReconcileResult {
  readonly call: CallRecord;
  /** False when the eventID was recorded before (a redelivery). */
  readonly created: boolean;
}

/** Who reviews an unapproved call, and what to tell them the policies say. */
interface Reviewers {
  readonly groups: string[];
  readonly requesters: string[];
  readonly policy: string;
}

function subjectOf(call: CallRecord): CallSubject | undefined {
  if (call.agentId === undefined || call.resourceArn === undefined) return undefined;
  return { agentId: call.agentId, action: call.action, resourceArn: call.resourceArn };
}

function coveredCall(call: CallRecord): CoveredCall | undefined {
  const subject = subjectOf(call);
  return subject === undefined
    ? undefined
    : { ...subject, eventTime: call.eventTime, requestParameters: call.requestParameters };
}

/**
 * The first free approval that covers the call (oldest decision first), consumed for it; one this
 * call consumed on an earlier delivery counts as free.
 */
async function consumeCovering(
  calls: PrivilegedCallStore,
  call: CallRecord,
): Promise<ApprovalGrant | undefined> {
  const covered = coveredCall(call);
  if (covered === undefined) return undefined;
  for (const grant of await calls.grantsOf(covered)) {
    const free = grant.consumedBy === undefined || grant.consumedBy === call.eventId;
    if (!free || whyNotCovered(grant, covered) !== undefined) continue;
    if (await calls.consumeGrant(grant, call.eventId)) return grant;
  }
  return undefined;
}

function coverOf(grant: ApprovalGrant) {
  const status = matchedStatus(grant);
  return {
    status,
    requestId: grant.requestId,
    readers: grant.groups,
    ...(status === CallStatus.breakGlass ? { reviewId: requestReviewId(grant.requestId) } : {}),
  };
}

/** The call as CloudTrail recorded it, before it is matched. */
function callOf(event: CloudTrailEvent, agents: readonly AgentPrincipal[], now: Date): CallRecord {
  const record = event.detail;
  const action = actionOf(record);
  const principalArn = principalOf(record.userIdentity);
  const agentId = agents.find((agent) => agent.principalArn === principalArn)?.id;
  const resourceArn = resourceOfCall(action, record, event.account);
  const status =
    record.errorCode !== undefined
      ? CallStatus.failedCall
      : agentId === undefined
        ? CallStatus.notAnAgent
        : CallStatus.unapproved;
  return {
    eventId: record.eventID,
    eventName: record.eventName,
    eventSource: record.eventSource,
    action,
    principalArn,
    ...(agentId === undefined ? {} : { agentId }),
    ...(resourceArn === undefined ? {} : { resourceArn }),
    eventTime: record.eventTime,
    status,
    readers: [],
    fingerprint: recordFingerprint(record),
    recordedAt: now.toISOString(),
    awsRegion: record.awsRegion,
    ...(record.sourceIPAddress === undefined ? {} : { sourceIPAddress: record.sourceIPAddress }),
    ...(record.errorCode === undefined ? {} : { errorCode: record.errorCode }),
    // CloudTrail writes JSON; the schema checks it is.
    requestParameters: (record.requestParameters ?? null) as JsonObject | null,
  };
}

/**
 * Who reviews an unapproved call: the approvers the policies would have asked had the agent asked
 * (the default group when they name none, or the resource cannot be told), never the agent or its owner.
 */
async function reviewersOf(deps: ReconcileDeps, call: CallRecord, agentId: string): Promise<Reviewers> {
  const requesters = (await resolveRequesters(deps.directory, { id: agentId })).ids;
  if (call.resourceArn === undefined) {
    return {
      groups: [deps.defaultApproverGroup],
      requesters,
      policy:
        'The resource could not be told from the call, so no policy applies; the default group reviews it.',
    };
  }
  const decision = deps.policy.evaluate({
    agent: { id: agentId },
    action: call.action,
    resource: { arn: call.resourceArn },
    parameters: call.requestParameters ?? {},
  });
  const named = decision.decision === PolicyOutcome.requireApproval && decision.groups.length > 0;
  return {
    groups: named ? decision.groups : [deps.defaultApproverGroup],
    requesters,
    policy: decision.reason,
  };
}

function reviewOfCall(call: CallRecord, agentId: string, reviewers: Reviewers, now: Date): Review {
  return {
    reviewId: callReviewId(call.eventId),
    kind: ReviewKind.unapprovedCall,
    status: ReviewStatus.open,
    groups: reviewers.groups,
    openedAt: now.toISOString(),
    requesters: reviewers.requesters,
    subject: {
      agentId,
      action: call.action,
      ...(call.resourceArn === undefined ? {} : { resourceArn: call.resourceArn }),
      principalArn: call.principalArn,
      eventId: call.eventId,
      eventTime: call.eventTime,
      ...(call.sourceIPAddress === undefined ? {} : { sourceIPAddress: call.sourceIPAddress }),
      policy: reviewers.policy,
    },
  };
}

/** Opens the review (once) and alerts every channel (once per channel) while it is open. */
async function openAndAlert(deps: ReconcileDeps, review: Review): Promise<void> {
  const { review: stored } = await deps.reviews.open(review);
  if (stored.status === ReviewStatus.open) await deps.alerts.alert(stored);
}

/**
 * The call's RECONCILED record: under the request whose approval covers it (its timeline shows the
 * call), or, for an agent's call no request covers, under the call's own audit id. A call of no
 * agent is in the calls list only: humans are out of scope.
 */
async function recordReconciled(deps: ReconcileDeps, call: CallRecord): Promise<void> {
  const requestId =
    call.requestId ??
    (call.agentId === undefined ? undefined : callAuditRequestId(call.agentId, call.eventId));
  if (requestId === undefined) return;
  await recordFact(deps, {
    requestId,
    kind: AuditKind.reconciled,
    key: `${AuditKind.reconciled}#${call.eventId}`,
    actor: SYSTEM_ACTOR,
    data: {
      eventId: call.eventId,
      status: call.status,
      action: call.action,
      resourceArn: call.resourceArn,
      principalArn: call.principalArn,
      eventTime: call.eventTime,
    },
  });
}

/** What a recorded call still needs: its audit record, and for an unapproved call its review and alert. */
async function finish(deps: ReconcileDeps, call: CallRecord, known?: Reviewers): Promise<void> {
  await recordReconciled(deps, call);
  const { agentId } = call;
  if (call.status !== CallStatus.unapproved || agentId === undefined) return;
  const stored = await deps.reviews.get(callReviewId(call.eventId));
  const review =
    stored ??
    reviewOfCall(call, agentId, known ?? (await reviewersOf(deps, call, agentId)), deps.clock.now());
  await openAndAlert(deps, review);
}

/** Classifies a call not seen before: FAILED_CALL, NOT_AN_AGENT, covered by an approval, or UNAPPROVED. */
async function classify(deps: ReconcileDeps, call: CallRecord): Promise<CallRecord> {
  const subject = subjectOf(call);
  if (call.status !== CallStatus.unapproved || subject === undefined) return call;
  await deps.calls.noteCall(subject, call.eventId, call.eventTime);
  const grant = await consumeCovering(deps.calls, call);
  return grant === undefined ? call : { ...call, ...coverOf(grant) };
}

/**
 * Covers an UNAPPROVED call with an approval consumed for it. When someone else covered it first
 * (a concurrent delivery or the decision's re-match), the approval is freed unless it is the one
 * that covers it. Returns the call as it stands.
 */
async function coverWith(
  calls: PrivilegedCallStore,
  call: CallRecord,
  grant: ApprovalGrant,
): Promise<CallRecord> {
  await calls.coverCall(call.eventId, coverOf(grant));
  // The call was stored before it could be covered, and calls are never deleted.
  const stands = (await calls.getCall(call.eventId))!;
  if (stands.requestId !== grant.requestId) await calls.releaseGrant(grant, call.eventId);
  return stands;
}

/**
 * Reconciles one CloudTrail event (untrusted: validated here). Throws ValidationError for an event
 * that is not a CloudTrail API call, ConflictError `EVENT_ID_CONFLICT` for a record that claims a
 * recorded eventID with other content.
 */
export async function reconcilePrivilegedCall(deps: ReconcileDeps, input: unknown): Promise<ReconcileResult> {
  const event = parse(CloudTrailEventSchema, input, 'CloudTrail event');
  const arrived = callOf(event, deps.agents, deps.clock.now());
  const earlier = await deps.calls.getCall(arrived.eventId);
  if (earlier !== undefined) return redelivered(deps, earlier, arrived);

  let call = await classify(deps, arrived);
  let reviewers: Reviewers | undefined;
  if (call.status === CallStatus.unapproved && call.agentId !== undefined) {
    // Its readers and its review are known before it is stored: nobody ever reads it unscoped.
    reviewers = await reviewersOf(deps, call, call.agentId);
    call = { ...call, readers: reviewers.groups, reviewId: callReviewId(call.eventId) };
  }
  const put = await deps.calls.putCall(call);
  if (!put.created) return redelivered(deps, put.call, arrived);
  if (call.status === CallStatus.unapproved) {
    // An approval stored while this call was being matched is found now (see the module comment).
    const grant = await consumeCovering(deps.calls, call);
    if (grant !== undefined) call = await coverWith(deps.calls, call, grant);
  }
  await finish(deps, call, reviewers);
  return { call, created: true };
}

async function redelivered(
  deps: ReconcileDeps,
  stored: CallRecord,
  arrived: CallRecord,
): Promise<ReconcileResult> {
  if (stored.fingerprint !== arrived.fingerprint) {
    throw new ConflictError(
      'EVENT_ID_CONFLICT',
      `CloudTrail eventID ${stored.eventId} is recorded with other content: this record is not the call that was reconciled`,
    );
  }
  await finish(deps, stored);
  return { call: stored, created: false };
}

/**
 * After a decision is published: a break-glass decision opens its review and alerts; an approving
 * decision of a watched action is matched with the calls of its subject that were recorded
 * UNAPPROVED before the approval was stored (oldest call first; it covers one). Idempotent.
 * Returns the call it covered.
 */
export async function reconcileDecision(
  deps: ReconcileDeps,
  requestId: string,
): Promise<CallRecord | undefined> {
  const record = await deps.store.get(requestId);
  if (record === undefined) return undefined;
  if (grantOf(record)?.decision === Decision.breakGlass)
    await openAndAlert(deps, breakGlassReview(record, deps.clock.now()));
  // Most approvals (reads) have none: no call of theirs is ever reconciled, so there is none to cover.
  const grant = reconcilableGrantOf(record, deps.watchedActions);
  if (grant === undefined) return undefined;
  // This request's approval alone: the subject's others (every earlier approval of the same action
  // on the same resource, kept a week past expiry) are not read for each decision.
  const storedGrant = () => deps.calls.getGrant(grant, grant.requestId);
  // The publish step stores the approval before it announces the decision: it is read first and
  // written only when missing, so that the usual delivery costs no conditional write that fails.
  let stored = await storedGrant();
  if (stored === undefined) {
    await deps.calls.putGrant(grant);
    stored = await storedGrant();
  }
  if (stored === undefined || stored.consumedBy !== undefined) return undefined;
  const noted = await Promise.all(
    (await deps.calls.callsOf(grant)).map((eventId) => deps.calls.getCall(eventId)),
  );
  const waiting = noted
    .filter((call): call is CallRecord => call?.status === CallStatus.unapproved)
    .filter((call) => {
      const covered = coveredCall(call);
      return covered !== undefined && whyNotCovered(stored, covered) === undefined;
    })
    .sort((a, b) => Date.parse(a.eventTime) - Date.parse(b.eventTime));
  for (const call of waiting) {
    if (!(await deps.calls.consumeGrant(stored, call.eventId))) return undefined;
    const covered = await coverWith(deps.calls, call, stored);
    if (covered.requestId !== stored.requestId) continue;
    await withdrawReview(deps, covered);
    await recordReconciled(deps, covered);
    return covered;
  }
  return undefined;
}

/** The review of a call an approval covered after all is withdrawn, and its alert says so. */
async function withdrawReview(deps: ReconcileDeps, call: CallRecord): Promise<void> {
  const reviewId = callReviewId(call.eventId);
  if ((await deps.reviews.get(reviewId)) === undefined) return;
  const reason = `covered by request ${call.requestId}, approved before the call and recorded after its event arrived`;
  const { review, applied } = await deps.reviews.close(reviewId, {
    status: ReviewStatus.withdrawn,
    by: SYSTEM_ACTOR,
    reason,
    at: deps.clock.now(),
  });
  // A review a person closed first keeps their outcome; a retried withdrawal records it again (a no-op).
  const auditId = reviewAuditRequestId(review);
  if (review.status === ReviewStatus.withdrawn && auditId !== undefined) {
    await recordFact(deps, {
      requestId: auditId,
      kind: AuditKind.reviewed,
      actor: SYSTEM_ACTOR,
      data: { outcome: ReviewStatus.withdrawn, reason },
    });
  }
  if (applied) await deps.alerts.update(review);
}

function breakGlassReview(record: RequestRecord, now: Date): Review {
  return {
    reviewId: requestReviewId(record.requestId),
    kind: ReviewKind.breakGlass,
    status: ReviewStatus.open,
    groups: [...record.policy.groups],
    openedAt: now.toISOString(),
    requesters: [...record.requesters],
    subject: {
      agentId: record.agent.id,
      action: record.action,
      resourceArn: record.resource.arn,
      requestId: record.requestId,
      ...(record.breakGlass === undefined ? {} : { breakGlass: record.breakGlass }),
      policy: record.policy.reason,
    },
  };
}
