/**
 * How an agent's request becomes a stored request, for both steps that may store one: Evaluate
 * (the normal way) and RecordDecision (when Evaluate failed before storing it). One builder and one
 * intake trail, so a request looks the same whichever step stored it.
 */

import { actionHash } from '../domain/action-hash.ts';
import { expiresAtFor } from '../domain/approval.ts';
import { AuditKind, type ClassificationUsed } from '../domain/audit-record.ts';
import type { RequestClassification } from '../domain/classification.ts';
import {
  type AgentRequestEvent,
  clientRequestIdOf,
  type PolicyDecision,
  type RequestRecord,
  RequestStatus,
  requestIdOf,
} from '../domain/schemas.ts';
import type { AuditReservation, Clock, RequestStore } from '../ports/index.ts';
import { type AuditFact, recordFacts, recordReservedFacts, SYSTEM_ACTOR } from './audit-trail.ts';

export interface NewRequest {
  /** The validated EventBridge event. */
  readonly event: AgentRequestEvent;
  /** Directory ids that may never vote on the request. */
  readonly requesters: readonly string[];
  readonly policy: PolicyDecision;
  /** The classification of the S3 data the request touches, when it touches any. */
  readonly classification?: RequestClassification;
  readonly executionArn: string;
  readonly now: Date;
}

/** The request as it is stored before anyone decides it: PENDING, with its hash and expiry. */
export function newRequestRecord(request: NewRequest): RequestRecord {
  const { event, policy, now } = request;
  const { detail } = event;
  const expiresAt = expiresAtFor(policy, now);
  return {
    requestId: requestIdOf(event),
    clientRequestId: clientRequestIdOf(event),
    status: RequestStatus.pending,
    agent: detail.agent,
    requesters: [...request.requesters],
    action: detail.action,
    resource: detail.resource,
    parameters: detail.parameters,
    justification: detail.justification,
    ...(detail.context === undefined ? {} : { context: detail.context }),
    ...(detail.breakGlass === undefined ? {} : { breakGlass: detail.breakGlass }),
    ...(detail.execute === undefined ? {} : { execute: detail.execute }),
    actionHash: actionHash(detail),
    policy,
    ...(request.classification === undefined ? {} : { classification: request.classification }),
    votes: [],
    approvers: [],
    executionArn: request.executionArn,
    sourceEventId: event.id,
    createdAt: now.toISOString(),
    ...(expiresAt === undefined ? {} : { expiresAt }),
  };
}

/** The keys of the REQUESTED and EVALUATED facts, to number them ahead (`RequestStore.reserveAudit`). */
export const INTAKE_KEYS: readonly string[] = [AuditKind.requested, AuditKind.evaluated];

/**
 * The REQUESTED and EVALUATED facts of a stored request, numbered in one write, or written under
 * the numbers `reserved` for INTAKE_KEYS. Idempotent: a rewrite is a no-op.
 */
export async function recordIntake(
  deps: { store: RequestStore; clock: Clock },
  stored: RequestRecord,
  reserved?: readonly AuditReservation[],
): Promise<void> {
  if (reserved === undefined) await recordFacts(deps, intakeFacts(stored));
  else await recordReservedFacts(deps, intakeFacts(stored), reserved);
}

/** The REQUESTED and EVALUATED facts of a stored request, in that order. */
export function intakeFacts(stored: RequestRecord): [AuditFact, AuditFact] {
  return [
    {
      requestId: stored.requestId,
      kind: AuditKind.requested,
      actor: stored.agent.id,
      data: {
        action: stored.action,
        resource: stored.resource.arn,
        actionHash: stored.actionHash,
        breakGlass: stored.breakGlass,
        sourceEventId: stored.sourceEventId,
        executionArn: stored.executionArn,
      },
    },
    {
      requestId: stored.requestId,
      kind: AuditKind.evaluated,
      actor: SYSTEM_ACTOR,
      data: { ...stored.policy, expiresAt: stored.expiresAt, classification: classificationUsed(stored) },
    },
  ];
}

/**
 * The classification the policies saw, as they read it (status, severity, categories, types); the
 * findings and the subject stay on the request.
 */
function classificationUsed(stored: RequestRecord): ClassificationUsed | undefined {
  const classification: RequestClassification | undefined = stored.classification;
  if (classification === undefined) return undefined;
  const { status, severity, categories, types } = classification;
  return { status, severity, categories, types };
}
