/**
 * The fast path's follow-up, fed by the table's own stream (a transactional outbox: the stored
 * decision is the message). The fast path answers the agent once its decision and receipt are
 * stored in one conditional write; the insert of that request item is then delivered here, at least
 * once, and the rest is done from it: the approval privileged calls are matched against (an ALLOW),
 * the audit trail (REQUESTED, EVALUATED, DECIDED, SIGNED, with the PUBLISHED fact's number reserved
 * in the same write), `Action Decided` on the bus, and the PUBLISHED fact.
 *
 * Every step is idempotent, so a redelivered record (a retried batch, a crash after some steps)
 * changes nothing already written: the approval and the facts stay as first written, PUBLISHED is
 * written once under the number reserved for it, and the event may be published again (agents
 * deduplicate by requestId). A decision's follow-up that fails is reported at its record (partial
 * batch failure), so Lambda retries from it until the stream is about to drop it, then parks its
 * position in the dead-letter queue; both are alarmed.
 *
 * A privileged call (CloudTrail) the agent makes between the answer and the approval's write is
 * recorded UNAPPROVED; the reconciler covers it when `Action Decided` arrives, which is published
 * only after the approval is stored (reconcileDecision).
 */
import { AuditKind } from '../domain/audit-record.ts';
import { reconcilableGrantOf } from '../domain/privileged-calls.ts';
import type { RequestRecord } from '../domain/schemas.ts';
import { settleAll } from '../domain/settle-all.ts';
import type {
  Clock,
  DecisionPublisher,
  PrivilegedCallStore,
  RequestStore,
  StreamedFastDecision,
} from '../ports/index.ts';
import type { BatchResponse } from './archive-audit-records.ts';
import { recordFacts } from './audit-trail.ts';
import { decidedFact, signedFact } from './decision-facts.ts';
import { publishSigned } from './publish-decision.ts';
import { intakeFacts } from './request-record.ts';

export interface AnnounceFastDecisionsDeps {
  readonly store: Pick<RequestStore, 'appendAudit' | 'appendAudits'>;
  readonly publisher: DecisionPublisher;
  /** Where approvals are kept for the CloudTrail reconciliation. */
  readonly grants: Pick<PrivilegedCallStore, 'putGrant'>;
  /** The privileged actions watched, as CloudTrail names them: only their approvals are kept. */
  readonly watchedActions: ReadonlySet<string>;
  readonly clock: Clock;
}

export interface AnnounceResult extends BatchResponse {
  /** The requests whose follow-up is done, in stream order. */
  readonly announced: readonly string[];
  /** Why the batch stopped where it did (the first failed record's error, or its issues). */
  readonly failure?: unknown;
}

/**
 * The approval, the audit trail and the announcement of one request the fast path decided. The
 * approval is stored before the decision is announced, so the reconciler that `Action Decided`
 * wakes finds it; the facts are numbered in one write, which also numbers the PUBLISHED fact to
 * come, so that after the event it is one write.
 */
export async function announceFastDecision(
  deps: AnnounceFastDecisionsDeps,
  record: RequestRecord,
): Promise<void> {
  const grant = reconcilableGrantOf(record, deps.watchedActions);
  const [, [published]] = await settleAll([
    grant === undefined ? undefined : deps.grants.putGrant(grant),
    recordFacts(
      deps,
      [...intakeFacts(record), decidedFact(record), signedFact(record)],
      [AuditKind.published],
    ),
  ]);
  await publishSigned(deps, record, published);
}

/**
 * A batch of the stream: every decision's follow-up, concurrently (each is its own request's), and
 * the first record that failed, in stream order, reported for retry (Lambda retries from it; the
 * ones after it that were done are done again, which changes nothing). A fast-path insert that
 * cannot be read as a request fails there too: never skipped quietly.
 */
export async function announceFastDecisions(
  deps: AnnounceFastDecisionsDeps,
  batch: readonly StreamedFastDecision[],
): Promise<AnnounceResult> {
  const outcomes = await Promise.allSettled(
    batch.map(async (streamed) => {
      if (streamed.unreadable !== undefined) throw streamed.unreadable;
      if (streamed.record !== undefined) await announceFastDecision(deps, streamed.record);
    }),
  );
  const failed = outcomes.findIndex((outcome) => outcome.status === 'rejected');
  const done = failed === -1 ? batch : batch.slice(0, failed);
  const announced = done.flatMap((streamed) =>
    streamed.record === undefined ? [] : [streamed.record.requestId],
  );
  if (failed === -1) return { batchItemFailures: [], announced };
  return {
    batchItemFailures: [{ itemIdentifier: batch[failed]!.sequenceNumber }],
    announced,
    failure: (outcomes[failed] as PromiseRejectedResult).reason,
  };
}
