/**
 * First step of the approval workflow: validate the agent's request, decide by policy, and record
 * the request exactly once. Every failure on the way (bad input, unknown person, policy engine
 * error) ends in DENY, never in ALLOW. The fast decision path (agent-decisions.ts) assesses a
 * request with the very same `assessRequest`.
 */

import { type PolicyOutcomeDecision, policyOutcomeOf } from '../domain/approval.ts';
import {
  ClassificationStatus,
  failedClassification,
  type RequestClassification,
  ScanOutcome,
  ScanState,
  type ScanTarget,
} from '../domain/classification.ts';
import { withExecution } from '../domain/executors.ts';
import { denyDecision, withBreakGlass } from '../domain/policy-decision.ts';
import { s3TargetOf } from '../domain/s3-target.ts';
import {
  type AgentRequestDetail,
  AgentRequestEvent,
  deliveredRequestIdOf,
  describeIssues,
  PolicyDecision,
  type RequestRecord,
  requestIdOf,
  UNIDENTIFIED_REASON,
} from '../domain/schemas.ts';
import { settleAll } from '../domain/settle-all.ts';
import type { ClassificationStore, Clock, Directory, PolicyEngine, RequestStore } from '../ports/index.ts';
import { lookUpClassification } from './classification.ts';
import { planClassification } from './classify-before-approval.ts';
import { INTAKE_KEYS, newRequestRecord, recordIntake } from './request-record.ts';
import { resolveRequesters } from './requesters.ts';

export interface EvaluateRequestDeps {
  readonly store: RequestStore;
  readonly classifications: ClassificationStore;
  readonly policy: PolicyEngine;
  readonly directory: Directory;
  readonly clock: Clock;
}

export interface EvaluateRequestInput {
  /**
   * The public request id named by the event (`<agentId>:<requestId or event id>`, see
   * deliveredRequestIdOf); it must be the one the validated event names, or the input is refused.
   */
  readonly requestId: string;
  /** The EventBridge event as the rule delivered it; untrusted. */
  readonly event: unknown;
  readonly executionArn: string;
  /** How the classify-before-approval scan ended, when the workflow ran one. */
  readonly scan?: ScanOutcome | null;
}

export interface EvaluateRequestResult {
  readonly requestId: string;
  /** Another workflow already owns this request; this one must stop without acting. */
  readonly duplicate: boolean;
  /** The event failed validation; nothing was stored. */
  readonly invalid: boolean;
  readonly policy: PolicyDecision;
  /**
   * How the policy alone decided (ALLOW, DENY, BREAK_GLASS), which the workflow records at once;
   * absent when people decide, and for a duplicate or invalid request.
   */
  readonly outcome?: PolicyOutcomeDecision;
  /** The classification's status and severity, for the log (the record keeps all of it). */
  readonly classification?: { readonly status: string; readonly severity: string | null };
}

export function denyBecause(reason: string): PolicyDecision {
  return denyDecision([], reason);
}

function nameOf(error: unknown): string {
  return error instanceof Error ? error.name : 'Error';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The classification of the S3 data the request touches (none for other resources). After a scan
 * that failed, FAILED; after one that succeeded, the stored verdict, which must then exist.
 */
async function classificationOf(
  deps: Pick<EvaluateRequestDeps, 'classifications'>,
  detail: AgentRequestDetail,
  scan: ScanOutcome | null | undefined,
): Promise<RequestClassification | undefined> {
  const found = await lookUpClassification({ store: deps.classifications }, s3TargetOf(detail));
  if (found === undefined || scan === undefined || scan === null) return found;
  if (scan.state !== ScanState.done) {
    return failedClassification(scan.reason ?? 'the Macie scan did not finish', found.subject);
  }
  return found.status === ClassificationStatus.unclassified
    ? failedClassification('the Macie scan finished but left no classification', found.subject)
    : found;
}

function evaluatePolicy(
  engine: PolicyEngine,
  detail: AgentRequestDetail,
  classification: RequestClassification | undefined,
): PolicyDecision {
  try {
    const result = PolicyDecision.safeParse(
      engine.evaluate({
        agent: detail.agent,
        action: detail.action,
        resource: detail.resource,
        parameters: detail.parameters,
        ...(detail.context === undefined ? {} : { context: detail.context }),
        ...(classification === undefined ? {} : { classification }),
        ...(detail.execute === undefined ? {} : { execute: detail.execute }),
      }),
    );
    return result.success
      ? withExecution(result.data, detail)
      : denyBecause(
          `policy evaluation returned an invalid decision: ${describeIssues(result.error).join('; ')}`,
        );
  } catch (error) {
    return denyBecause(`policy evaluation failed: ${messageOf(error)}`);
  }
}

function invalid(requestId: string, reason: string): EvaluateRequestResult {
  return { requestId, duplicate: false, invalid: true, policy: denyBecause(`invalid request: ${reason}`) };
}

/**
 * A validated request as the policies decide it, not stored yet: its requesters resolved in the
 * directory (an unresolvable one denies), the classification of the S3 data it touches (FAILED
 * after a scan that failed), the Cedar decision, and whether Countersign may and can run it. Reads only; `owner` is the execution (or the fast path) that will store it.
 */
export async function assessRequest(
  deps: Pick<EvaluateRequestDeps, 'policy' | 'directory' | 'classifications' | 'clock'>,
  event: AgentRequestEvent,
  owner: string,
  scan?: ScanOutcome | null,
): Promise<RequestRecord> {
  const { detail } = event;
  const [requesters, classification] = await Promise.all([
    resolveRequesters(deps.directory, detail.agent),
    classificationOf(deps, detail, scan),
  ]);
  const policy =
    requesters.problem === undefined
      ? withBreakGlass(detail, evaluatePolicy(deps.policy, detail, classification))
      : denyBecause(requesters.problem);
  return newRequestRecord({
    event,
    requesters: requesters.ids,
    policy,
    classification,
    executionArn: owner,
    now: deps.clock.now(),
  });
}

export async function evaluateRequest(
  deps: EvaluateRequestDeps,
  input: EvaluateRequestInput,
): Promise<EvaluateRequestResult> {
  const parsed = AgentRequestEvent.safeParse(input.event);
  if (!parsed.success) return invalid(input.requestId, describeIssues(parsed.error).join('; '));
  const event = parsed.data;
  const requestId = requestIdOf(event);
  if (requestId !== input.requestId) {
    // Only a caller other than the workflow gets this wrong: refuse rather than store under either id.
    return invalid(
      input.requestId,
      `the workflow's requestId does not name this event's request (${requestId})`,
    );
  }

  const record = await assessRequest(deps, event, input.executionArn, input.scan);

  // The id is scoped by agent, so a stored request with this id is this agent's: a redelivery, or a
  // second execution for the same request (which stops without acting). The intake facts are
  // numbered beside the claim rather than after it, one round trip less before the request is
  // pending: a redelivery's or a second execution's numbering of the same keys gets the same numbers.
  const [claimed, intakeNumbers] = await settleAll([
    deps.store.claim(record),
    deps.store.reserveAudit(requestId, INTAKE_KEYS),
  ]);
  const stored = claimed.record;
  if (!claimed.created && stored.executionArn !== input.executionArn) {
    return { requestId, duplicate: true, invalid: false, policy: stored.policy };
  }
  // Created now, or a redelivery to the workflow that created it: (re)write the trail, which is idempotent.
  await recordIntake(deps, stored, intakeNumbers);
  const outcome = policyOutcomeOf(stored.policy);
  return {
    requestId,
    duplicate: false,
    invalid: false,
    policy: stored.policy,
    ...(outcome === undefined ? {} : { outcome }),
    ...(stored.classification === undefined
      ? {}
      : {
          classification: { status: stored.classification.status, severity: stored.classification.severity },
        }),
  };
}

/**
 * What the workflow's Evaluate step is given: the execution's state, which is the EventBridge event
 * as the rule delivered it (untrusted), carrying `scan` once a classification ran (and, then, the
 * previous answer at `evaluation`; both are not part of the event and are not stored with it).
 */
export interface EvaluateStepInput {
  readonly state: unknown;
  readonly executionArn: string;
  /** Classify before approve: first ask whether the request's object must be classified. */
  readonly classifyFirst: boolean;
}

/** Evaluate's other answer: classify this object first, then evaluate again with the scan's outcome. */
export interface ClassifyFirst {
  readonly requestId: string;
  readonly classify: ScanTarget;
}

/** Evaluate's answer to an event that names no agent, so no request: the workflow fails it. */
export interface Unidentified extends Omit<EvaluateRequestResult, 'requestId'> {
  readonly requestId: null;
}

/** How a classification the workflow ran ended, read from its state (absent: none ran). */
function scanIn(state: unknown): ScanOutcome | undefined {
  const scan = typeof state === 'object' && state !== null ? (state as { scan?: unknown }).scan : undefined;
  // The workflow writes it; anything else there is a scan that did not finish: evaluated as FAILED.
  if (scan === undefined) return undefined;
  const parsed = ScanOutcome.safeParse(scan);
  return parsed.success ? parsed.data : { state: ScanState.failed, reason: 'the scan outcome is unreadable' };
}

/**
 * The workflow's Evaluate step: the first time (no scan yet), a request that reads or exports an S3
 * object nobody has classified is answered with that object (the workflow classifies it and asks
 * again with the scan); otherwise the request is evaluated. The public request id is computed here
 * from the event, so the workflow needs no states of its own to name the request.
 */
export async function evaluateStep(
  deps: EvaluateRequestDeps,
  input: EvaluateStepInput,
): Promise<EvaluateRequestResult | ClassifyFirst | Unidentified> {
  const requestId = deliveredRequestIdOf(input.state);
  if (requestId === undefined) {
    return {
      requestId: null,
      duplicate: false,
      invalid: true,
      policy: denyBecause(`invalid request: ${UNIDENTIFIED_REASON}`),
    };
  }
  let scan = scanIn(input.state);
  if (input.classifyFirst && scan === undefined) {
    try {
      const target = await planClassification(
        { store: deps.classifications, policy: deps.policy },
        input.state,
      );
      if (target !== null) return { requestId, classify: target };
    } catch (error) {
      // Not knowing whether to classify is a classification that failed: never unclassified.
      scan = { state: ScanState.failed, reason: `the classification failed (${nameOf(error)})` };
    }
  }
  return evaluateRequest(deps, {
    requestId,
    event: input.state,
    executionArn: input.executionArn,
    ...(scan === undefined ? {} : { scan }),
  });
}
