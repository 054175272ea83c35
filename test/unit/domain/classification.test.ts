import { describe, expect, it } from 'vitest';
import {
  aggregateBucket,
  BUCKET_FINDING_IDS_MAX,
  ClassificationAuditRecord,
  categoryInWords,
  classifiedAs,
  describeClassification,
  failedClassification,
  maxSeverity,
  type ObjectClassification,
  RequestClassification,
  unclassified,
  verdictOrder,
} from '../../../lambdas/domain/classification.ts';
import { aClassification } from './fixtures.ts';

function anObject(overrides: Partial<ObjectClassification> = {}): ObjectClassification {
  return {
    bucket: 'finance',
    key: 'ledger.csv',
    severity: 'Medium',
    categories: ['PERSONAL_INFORMATION'],
    types: ['EMAIL_ADDRESS'],
    typeCounts: { EMAIL_ADDRESS: 3 },
    findingIds: ['f-1'],
    updatedAt: '2026-11-30T08:00:00.000Z',
    ...overrides,
  };
}

describe('severity', () => {
  it('takes the stricter of two, with nothing sensitive (null) below Low', () => {
    expect(maxSeverity(null, null)).toBeNull();
    expect(maxSeverity(null, 'Low')).toBe('Low');
    expect(maxSeverity('Medium', null)).toBe('Medium');
    expect(maxSeverity('Medium', 'High')).toBe('High');
    expect(maxSeverity('High', 'Low')).toBe('High');
    expect(maxSeverity('Low', 'Low')).toBe('Low');
  });
});

describe('categories in words', () => {
  it("names Macie's categories as reviewers read them, and any other in lower case", () => {
    expect(categoryInWords('FINANCIAL_INFORMATION')).toBe('financial information');
    expect(categoryInWords('PERSONAL_INFORMATION')).toBe('personal information');
    expect(categoryInWords('CREDENTIALS')).toBe('credentials');
    expect(categoryInWords('CUSTOM_IDENTIFIER')).toBe('custom identifiers');
    expect(categoryInWords('HEALTH_RECORDS')).toBe('health records');
  });
});

describe('RequestClassification', () => {
  it('accepts the three statuses in their shapes', () => {
    expect(RequestClassification.parse(aClassification())).toEqual(aClassification());
    expect(RequestClassification.parse(unclassified('s3://b/k')).status).toBe('UNCLASSIFIED');
    expect(RequestClassification.parse(failedClassification('timed out')).reason).toBe('timed out');
    expect(failedClassification('timed out', 's3://b/k').subject).toBe('s3://b/k');
  });

  it('has a classification time exactly when CLASSIFIED', () => {
    expect(RequestClassification.safeParse(aClassification({ classifiedAt: null })).success).toBe(false);
    const early = { ...unclassified('s3://b/k'), classifiedAt: '2026-11-30T08:00:00.000Z' };
    expect(RequestClassification.safeParse(early).success).toBe(false);
  });

  it('gives a verdict (severity, categories, types, findings) only when CLASSIFIED', () => {
    for (const verdict of [{ severity: 'High' }, { categories: ['CREDENTIALS'] }, { findingIds: ['f-1'] }]) {
      expect(RequestClassification.safeParse({ ...failedClassification('x'), ...verdict }).success).toBe(
        false,
      );
    }
  });

  it('describes itself in one line for reviewers', () => {
    expect(describeClassification(aClassification())).toBe('High: financial information');
    expect(describeClassification(aClassification({ categories: [] }))).toBe('High');
    expect(describeClassification(aClassification({ severity: null, categories: [], types: [] }))).toBe(
      'nothing sensitive found',
    );
    expect(describeClassification(unclassified('s3://b/k'))).toBe('not classified yet');
    expect(describeClassification(failedClassification('the job was cancelled'))).toBe(
      'classification failed (treated as High): the job was cancelled',
    );
    const { reason: _reason, ...withoutReason } = failedClassification('x');
    expect(describeClassification(withoutReason)).toBe(
      'classification failed (treated as High): unknown reason',
    );
  });

  it('turns a stored verdict into the classification of a request', () => {
    expect(classifiedAs(anObject(), 's3://finance/ledger.csv')).toEqual({
      status: 'CLASSIFIED',
      severity: 'Medium',
      categories: ['PERSONAL_INFORMATION'],
      types: ['EMAIL_ADDRESS'],
      findingIds: ['f-1'],
      source: 'macie',
      classifiedAt: '2026-11-30T08:00:00.000Z',
      subject: 's3://finance/ledger.csv',
    });
  });
});

describe('bucket aggregate', () => {
  it('has none without classified objects', () => {
    expect(aggregateBucket('finance', [])).toBeUndefined();
  });

  it('takes the strictest severity, every category and type, summed counts, newest findings first', () => {
    const aggregate = aggregateBucket('finance', [
      anObject(),
      anObject({
        key: 'cards.csv',
        severity: 'High',
        categories: ['FINANCIAL_INFORMATION', 'PERSONAL_INFORMATION'],
        types: ['CREDIT_CARD_NUMBER', 'EMAIL_ADDRESS'],
        typeCounts: { CREDIT_CARD_NUMBER: 30, EMAIL_ADDRESS: 2 },
        findingIds: ['f-2'],
        updatedAt: '2026-11-30T09:00:00.000Z',
      }),
      anObject({
        key: 'notes.txt',
        severity: null,
        categories: [],
        types: [],
        typeCounts: {},
        findingIds: [],
        updatedAt: '2026-11-30T07:00:00.000Z',
      }),
    ]);
    expect(aggregate).toEqual({
      bucket: 'finance',
      severity: 'High',
      categories: ['FINANCIAL_INFORMATION', 'PERSONAL_INFORMATION'],
      types: ['CREDIT_CARD_NUMBER', 'EMAIL_ADDRESS'],
      typeCounts: { EMAIL_ADDRESS: 5, CREDIT_CARD_NUMBER: 30 },
      findingIds: ['f-2', 'f-1'],
      findingIdsOmitted: 0,
      objects: 3,
      sensitiveObjects: 2,
      updatedAt: '2026-11-30T09:00:00.000Z',
    });
  });

  it('is the same whatever order the objects come in', () => {
    const objects = [
      anObject(),
      anObject({ key: 'b', severity: 'Low', updatedAt: '2026-11-30T08:00:01.000Z', findingIds: ['f-2'] }),
    ];
    expect(aggregateBucket('finance', [...objects].reverse())).toEqual(aggregateBucket('finance', objects));
  });

  it('keeps the newest finding ids and counts the others', () => {
    const objects = Array.from({ length: BUCKET_FINDING_IDS_MAX + 5 }, (_, index) =>
      anObject({
        key: `k-${index}`,
        findingIds: [`f-${index}`],
        updatedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, index)).toISOString(),
      }),
    );
    const aggregate = aggregateBucket('finance', objects);
    expect(aggregate?.findingIds).toHaveLength(BUCKET_FINDING_IDS_MAX);
    expect(aggregate?.findingIds[0]).toBe(`f-${BUCKET_FINDING_IDS_MAX + 4}`);
    expect(aggregate?.findingIdsOmitted).toBe(5);
  });
});

describe('verdict order', () => {
  it('compares instants, not spellings, then ids', () => {
    expect(verdictOrder('2021-10-25T23:25:04Z', 'a')).toBe(verdictOrder('2021-10-25T23:25:04.000Z', 'a'));
    expect(verdictOrder('2021-10-25T23:25:04.250Z', 'a') > verdictOrder('2021-10-25T23:25:04Z', 'a')).toBe(
      true,
    );
    expect(verdictOrder('2021-10-25T23:25:04Z', 'b') > verdictOrder('2021-10-25T23:25:04Z', 'a')).toBe(true);
    // A job that found nothing (no id) orders before any finding of the same instant.
    expect(verdictOrder('2021-10-25T23:25:04Z', '') < verdictOrder('2021-10-25T23:25:04Z', '0')).toBe(true);
  });
});

describe('classification audit record', () => {
  it('is about an s3:// subject', () => {
    const record = {
      subject: 's3://finance/a/b.csv',
      kind: 'CLASSIFICATION_CHANGED',
      key: 'k',
      at: '2026-11-30T08:00:00.000Z',
      actor: 'macie',
      data: { severity: 'High' },
    };
    expect(ClassificationAuditRecord.parse(record)).toEqual(record);
    expect(ClassificationAuditRecord.safeParse({ ...record, subject: 'finance/a.csv' }).success).toBe(false);
  });
});
