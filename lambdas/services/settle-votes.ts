/**
 * Settling a request: the decision its stored votes make is stored (once: a conditional write),
 * and a decided request's paused workflow is resumed unless it already was. The vote write and
 * the decision write are two writes, so a crash between them leaves a request with its quorum and
 * no decision; every path that reads a request to act on it (a vote, a reviewer's read, the
 * reminder sweep) settles it first, so such a request is decided by whoever comes next.
 */
import { decisionByVotes } from '../domain/approval.ts';
import { AuditKind } from '../domain/audit-record.ts';
import { type RequestRecord, RequestStatus } from '../domain/schemas.ts';
import { recordFact } from './audit-trail.ts';
import { type ResumeAttempt, type ResumeDeps, tryResume } from './resume-workflow.ts';

export interface Settled {
  /** The request as stored after settling. */
  readonly record: RequestRecord;
  /** This call stored the decision. */
  readonly decided: boolean;
  /** Whether this call resumed the workflow, or why it could not (the next settle retries). */
  readonly resume: ResumeAttempt;
}

export async function settleVotes(deps: ResumeDeps, record: RequestRecord): Promise<Settled> {
  const voted = record.status === RequestStatus.pending ? decisionByVotes(record) : undefined;
  if (voted === undefined) return { record, decided: false, resume: await tryResume(deps, record) };
  const decided = await deps.store.decide(record.requestId, { ...voted, at: deps.clock.now() });
  if (decided.applied) {
    await recordFact(deps, {
      requestId: record.requestId,
      kind: AuditKind.decided,
      // Who decided: the denier (any deny decides), else the approver who completed the quorum.
      actor: (record.votes.find((vote) => vote.vote === 'deny') ?? record.votes.at(-1)!).voterId,
      data: {
        decision: decided.record.decision,
        approvers: decided.record.approvers,
        reason: decided.record.reason,
      },
    });
  }
  return {
    record: decided.record,
    decided: decided.applied,
    resume: await tryResume(deps, decided.record, decided.waitState),
  };
}
