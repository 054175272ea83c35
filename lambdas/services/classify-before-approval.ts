/**
 * Classify before approve: a request that reads or exports an S3 object nobody has classified yet
 * waits for Amazon Macie. The state machine asks `planClassification` whether to scan; the scan
 * itself (a one-time Macie job, polled until the verdict is stored) is classification-scans.ts's,
 * apart so that Evaluate and the fast path, which only plan, do not build the finding's schema.
 */
import { CLASSIFY_FIRST_GROUPS, type ScanTarget } from '../domain/classification.ts';
import { s3TargetOf } from '../domain/s3-target.ts';
import { AgentRequestEvent } from '../domain/schemas.ts';
import type { ClassificationStore, PolicyEngine } from '../ports/index.ts';

/**
 * The object to classify before the request is evaluated, or null: only for a valid request whose
 * action reads or exports data (its policy groups) and that touches one S3 object with no stored
 * verdict. A failing lookup throws (the state machine then evaluates the request as FAILED).
 */
export async function planClassification(
  deps: { readonly store: ClassificationStore; readonly policy: PolicyEngine },
  event: unknown,
): Promise<ScanTarget | null> {
  const parsed = AgentRequestEvent.safeParse(event);
  // An invalid request is rejected by Evaluate; there is nothing to classify for it.
  if (!parsed.success) return null;
  const { detail } = parsed.data;
  const groups = deps.policy.actionGroups(detail.action);
  if (!groups.some((group) => CLASSIFY_FIRST_GROUPS.includes(group))) return null;
  const target = s3TargetOf(detail);
  if (target.kind !== 'object') return null;
  const stored = await deps.store.objectVerdict(target.bucket, target.key);
  return stored === undefined ? { bucket: target.bucket, key: target.key } : null;
}
