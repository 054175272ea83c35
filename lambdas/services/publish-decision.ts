/** The workflow's last step: tells the agent how its request ended (`Action Decided` on the bus). */
import { ConflictError, ForeignExecutionError, NotFoundError } from '../domain/errors.ts';
import { ActionDecidedDetail, AuditKind, parse, RequestStatus } from '../domain/schemas.ts';
import type { Clock, DecisionPublisher, RequestStore } from '../ports/index.ts';
import { recordFact, SYSTEM_ACTOR } from './audit-trail.ts';

export interface PublishDecisionDeps {
  readonly store: RequestStore;
  readonly publisher: DecisionPublisher;
  readonly clock: Clock;
}

export interface PublishDecisionInput {
  readonly requestId: string;
  /** The execution publishing; only the one that owns the request may. */
  readonly executionArn: string;
}

export async function publishDecision(
  deps: PublishDecisionDeps,
  input: PublishDecisionInput,
): Promise<ActionDecidedDetail> {
  const { requestId } = input;
  const record = await deps.store.get(requestId);
  if (record === undefined) throw new NotFoundError(`request ${requestId} does not exist`);
  if (record.executionArn !== input.executionArn) throw new ForeignExecutionError(requestId);
  if (record.status === RequestStatus.pending || record.decision === undefined) {
    throw new ConflictError('NOT_DECIDED', `request ${requestId} is not decided yet`);
  }
  const detail = parse(
    ActionDecidedDetail,
    {
      requestId,
      decision: record.decision,
      actionHash: record.actionHash,
      approvers: record.approvers,
      ...(record.reason === undefined ? {} : { reason: record.reason }),
    },
    'decision event',
  );
  await deps.publisher.publish(detail);
  await recordFact(deps, {
    requestId,
    kind: AuditKind.published,
    actor: SYSTEM_ACTOR,
    data: { decision: detail.decision, actionHash: detail.actionHash },
  });
  return detail;
}
