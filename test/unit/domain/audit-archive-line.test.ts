import { describe, expect, it } from 'vitest';
import {
  archiveLine,
  parseArchiveLine,
  partitionOf,
  recordIdOf,
} from '../../../lambdas/domain/audit-archive.ts';
import { AUDIT_SCHEMA_VERSION, type AuditRecord } from '../../../lambdas/domain/audit-record.ts';
import { anAuditRecord } from './fixtures.ts';

const record = { ...anAuditRecord('VOTED'), schemaVersion: AUDIT_SCHEMA_VERSION, seq: 3 } as AuditRecord;

describe('archive lines', () => {
  it('carry the record id first: <requestId>#<seq>, the same every time the record is written', () => {
    const line = archiveLine(record);
    expect(line.endsWith('\n')).toBe(true);
    const parsed = JSON.parse(line) as Record<string, unknown>;
    expect(Object.keys(parsed)[0]).toBe('recordId');
    expect(parsed.recordId).toBe(`${record.requestId}#3`);
    expect(recordIdOf(record)).toBe(parsed.recordId);
    expect(archiveLine(structuredClone(record))).toBe(line);
  });

  it('name a classification change (no request) by its subject and key', () => {
    const change = {
      schemaVersion: AUDIT_SCHEMA_VERSION,
      subject: 's3://finance-invoices/2025/06.csv',
      kind: 'CLASSIFICATION_CHANGED',
      key: '1764000000000',
      at: '2025-06-01T21:00:01.000Z',
      actor: 'macie',
      data: { severity: 'High' },
    } as const;
    const line = JSON.parse(archiveLine(change));
    expect(line.recordId).toBe('s3://finance-invoices/2025/06.csv#1764000000000');
    expect(parseArchiveLine(line)).toEqual({ record: change });
  });

  it('read back as the record they were written from', () => {
    expect(parseArchiveLine(JSON.parse(archiveLine(record)))).toEqual({ record });
  });

  it('refuse a line whose record id is not its own, is missing, or is not a record', () => {
    const parsed = JSON.parse(archiveLine(record)) as Record<string, unknown>;
    expect(parseArchiveLine({ ...parsed, recordId: `${record.requestId}#4` })).toEqual({
      problem: 'has a recordId that is not its own',
    });
    const { recordId: _dropped, ...withoutId } = parsed;
    expect(parseArchiveLine(withoutId)).toEqual({ problem: 'has a recordId that is not its own' });
    for (const notARecord of [null, 'text', [parsed], { ...parsed, seq: 0 }]) {
      expect(parseArchiveLine(notARecord)).toEqual({ problem: 'is not a valid audit record' });
    }
  });

  it('are partitioned by the UTC day and hour of their time, whatever its form', () => {
    for (const at of ['2025-06-01T23:59:59.999Z', '2025-06-01T23:59Z', '2025-06-02T01:59:59+02:00']) {
      expect(partitionOf(at)).toEqual({ dt: '2025-06-01', hour: '23' });
    }
    expect(partitionOf(new Date('2025-06-01T23:00:00.000Z'))).toEqual({ dt: '2025-06-01', hour: '23' });
  });
});
