import { describe, expect, it } from 'vitest';
import {
  AUDIT_RECORD_FIELDS,
  AUDIT_SCHEMA_VERSION,
  AuditKind,
  AuditRecord,
  NewAuditRecord,
} from '../../../lambdas/domain/audit-record.ts';
import { describeIssues } from '../../../lambdas/domain/schemas.ts';
import { AUDIT_DATA, anAuditRecord } from './fixtures.ts';

const issuesOf = (schema: typeof NewAuditRecord | typeof AuditRecord, input: unknown) => {
  const result = schema.safeParse(input);
  return result.success ? [] : describeIssues(result.error);
};

describe('audit records', () => {
  it('accepts every kind with its own data', () => {
    for (const kind of Object.values(AuditKind)) {
      const record = anAuditRecord(kind);
      expect(NewAuditRecord.parse(record)).toEqual(record);
      expect(AuditRecord.parse({ ...record, schemaVersion: AUDIT_SCHEMA_VERSION, seq: 1 })).toMatchObject({
        kind,
      });
    }
  });

  it('refuses any field a kind does not allow: tokens and credentials cannot ride along', () => {
    const smuggled = [
      { taskToken: 'AQCEAAAAKgAAAAMAAAAA' },
      { authorization: 'Bearer eyJhbGciOi' },
      { botToken: 'xoxb-1' },
      { receipt: 'eyJ.eyJ.sig' },
    ];
    for (const kind of Object.values(AuditKind)) {
      for (const extra of smuggled) {
        const record = { ...anAuditRecord(kind), data: { ...AUDIT_DATA[kind], ...extra } };
        expect(issuesOf(NewAuditRecord, record), `${kind} with ${Object.keys(extra)[0]}`).not.toEqual([]);
      }
      expect(issuesOf(NewAuditRecord, { ...anAuditRecord(kind), token: 'x' })).not.toEqual([]);
    }
  });

  it('names every problem of a malformed record', () => {
    expect(
      issuesOf(NewAuditRecord, { ...anAuditRecord('VOTED'), key: '', at: 'yesterday', data: {} }),
    ).toHaveLength(5);
    expect(issuesOf(NewAuditRecord, { ...anAuditRecord('VOTED'), key: 'has space' })).toHaveLength(1);
    expect(issuesOf(NewAuditRecord, { ...anAuditRecord('VOTED'), kind: 'FORGED' })).toHaveLength(1);
  });

  it('stores a version and a sequence number with every record', () => {
    const record = anAuditRecord('DECIDED');
    expect(issuesOf(AuditRecord, record)).toHaveLength(2);
    expect(issuesOf(AuditRecord, { ...record, schemaVersion: 2, seq: 0 })).toHaveLength(2);
    expect(Object.keys({ schemaVersion: 1, ...record, seq: 1 }).sort()).toEqual(
      [...AUDIT_RECORD_FIELDS].sort(),
    );
  });
});
