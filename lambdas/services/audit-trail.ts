/** Writing the audit trail: one record per fact, under a key that makes a repeated write a no-op. */
import { type AuditKind, NewAuditRecord } from '../domain/audit-record.ts';
import { parse } from '../domain/schemas.ts';
import { settleAll } from '../domain/settle-all.ts';
import type { AuditReservation, Clock, RequestStore } from '../ports/index.ts';

/** The actor of facts that Countersign itself establishes (evaluation, notification, expiry). */
export const SYSTEM_ACTOR = 'countersign';

export interface AuditFact {
  readonly requestId: string;
  readonly kind: AuditKind;
  /** Defaults to the kind: facts that happen once per request (REQUESTED, DECIDED …). */
  readonly key?: string;
  readonly actor: string;
  /** The kind's data; optional fields may be undefined and are left out. Checked against the kind's schema. */
  readonly data: Readonly<Record<string, unknown>>;
}

/** The record a fact becomes at `at`, validated against its kind's allow-list (throws ValidationError). */
export function auditRecordOf(fact: AuditFact, at: Date): NewAuditRecord {
  return parse(
    NewAuditRecord,
    {
      requestId: fact.requestId,
      kind: fact.kind,
      key: fact.key ?? fact.kind,
      at: at.toISOString(),
      actor: fact.actor,
      // Audit data is JSON; dropping undefined fields here keeps callers free to pass optional values.
      data: JSON.parse(JSON.stringify(fact.data)),
    },
    'audit record',
  );
}

/** Records one fact; with its key's reservation (recordFacts, `RequestStore.reserveAudit`) under the number reserved. */
export async function recordFact(
  deps: { store: Pick<RequestStore, 'appendAudit'>; clock: Clock },
  fact: AuditFact,
  reservation?: AuditReservation,
): Promise<void> {
  await deps.store.appendAudit(auditRecordOf(fact, deps.clock.now()), reservation);
}

/**
 * Records facts of one request, in the order given, as recordFact records each; numbers the keys
 * in `reserve` after them in the same write, for facts recorded later (see appendAudits).
 */
export async function recordFacts(
  deps: { store: Pick<RequestStore, 'appendAudits'>; clock: Clock },
  facts: readonly AuditFact[],
  reserve?: readonly string[],
): Promise<readonly AuditReservation[]> {
  const at = deps.clock.now();
  return deps.store.appendAudits(
    facts.map((fact) => auditRecordOf(fact, at)),
    reserve,
  );
}

/**
 * Records facts of one request at one time, each under the number its key got ahead of it
 * (`RequestStore.reserveAudit`); a fact whose key has no reservation is numbered as recordFact
 * numbers it.
 */
export async function recordReservedFacts(
  deps: { store: Pick<RequestStore, 'appendAudit'>; clock: Clock },
  facts: readonly AuditFact[],
  reservations: readonly AuditReservation[],
): Promise<void> {
  const at = deps.clock.now();
  // Every record is checked before any is written, as recordFacts checks them.
  const records = facts.map((fact) => auditRecordOf(fact, at));
  await settleAll(
    records.map((record) =>
      deps.store.appendAudit(
        record,
        reservations.find(({ key }) => key === record.key),
      ),
    ),
  );
}
