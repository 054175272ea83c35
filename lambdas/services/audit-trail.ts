/** Writing the audit trail: one record per fact, under a key that makes a repeated write a no-op. */
import { type AuditKind, AuditRecord, parse } from '../domain/schemas.ts';
import type { Clock, RequestStore } from '../ports/index.ts';

/** The actor of facts that Countersign itself establishes (evaluation, notification, expiry). */
export const SYSTEM_ACTOR = 'countersign';

export interface AuditFact {
  readonly requestId: string;
  readonly kind: (typeof AuditKind)[keyof typeof AuditKind];
  /** Defaults to the kind: facts that happen once per request (REQUESTED, DECIDED …). */
  readonly key?: string;
  readonly actor: string;
  /** JSON data; optional fields may be undefined and are left out. Checked against AuditRecord. */
  readonly data: Readonly<Record<string, unknown>>;
}

export async function recordFact(
  deps: { store: Pick<RequestStore, 'appendAudit'>; clock: Clock },
  fact: AuditFact,
): Promise<void> {
  const record = parse(
    AuditRecord,
    {
      requestId: fact.requestId,
      kind: fact.kind,
      key: fact.key ?? fact.kind,
      at: deps.clock.now().toISOString(),
      actor: fact.actor,
      // Audit data is JSON; dropping undefined fields here keeps callers free to pass optional values.
      data: JSON.parse(JSON.stringify(fact.data)),
    },
    'audit record',
  );
  await deps.store.appendAudit(record);
}
