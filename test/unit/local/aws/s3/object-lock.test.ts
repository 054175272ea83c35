import { describe, expect, it } from 'vitest';
import { S3Error } from '../../../../../local/aws/s3/errors.ts';
import type { ObjectVersion, Retention } from '../../../../../local/aws/s3/model.ts';
import {
  checkRetentionChange,
  checkVersionDeletion,
  defaultRetentionFrom,
  parseRetainUntil,
} from '../../../../../local/aws/s3/object-lock.ts';

const NOW = new Date('2030-01-01T00:00:00.000Z');
const at = (days: number) => new Date(NOW.getTime() + days * 86_400_000).toISOString();
const compliance = (days: number): Retention => ({ mode: 'COMPLIANCE', retainUntil: at(days) });
const governance = (days: number): Retention => ({ mode: 'GOVERNANCE', retainUntil: at(days) });

function denied(action: () => void): boolean {
  try {
    action();
    return false;
  } catch (error) {
    expect(error).toBeInstanceOf(S3Error);
    expect((error as S3Error).code).toBe('AccessDenied');
    return true;
  }
}

const change = (current: Retention | undefined, next: Retention | undefined, bypass = false) =>
  denied(() => checkRetentionChange(current, next, bypass, NOW));

describe('changing a retention', () => {
  it('never weakens COMPLIANCE, with or without the bypass header', () => {
    for (const bypass of [false, true]) {
      expect(change(compliance(10), compliance(5), bypass)).toBe(true);
      expect(change(compliance(10), governance(20), bypass)).toBe(true);
      expect(change(compliance(10), undefined, bypass)).toBe(true);
      expect(change(compliance(10), compliance(10), bypass)).toBe(false);
      expect(change(compliance(10), compliance(11), bypass)).toBe(false);
    }
  });

  it('weakens GOVERNANCE only with the bypass header; strengthening needs none', () => {
    expect(change(governance(10), governance(5))).toBe(true);
    expect(change(governance(10), undefined)).toBe(true);
    expect(change(governance(10), compliance(5))).toBe(true);
    expect(change(governance(10), governance(5), true)).toBe(false);
    expect(change(governance(10), undefined, true)).toBe(false);
    expect(change(governance(10), governance(12))).toBe(false);
    expect(change(governance(10), compliance(10))).toBe(false);
  });

  it('lets anything replace an expired retention or none', () => {
    expect(change(compliance(-1), undefined)).toBe(false);
    expect(change(compliance(-1), governance(1))).toBe(false);
    expect(change(undefined, compliance(1))).toBe(false);
  });
});

describe('deleting a version for good', () => {
  const object = (retention: Retention | undefined, legalHold?: boolean): ObjectVersion => ({
    kind: 'object',
    key: 'k',
    versionId: 'v',
    sequence: 0,
    lastModified: NOW.toISOString(),
    storageId: '0'.repeat(32),
    size: 0,
    md5Hex: '0'.repeat(32),
    checksum: { algorithm: 'CRC32', value: 'AAAAAA==' },
    headers: { contentType: 'text/plain' },
    metadata: {},
    storageClass: 'STANDARD',
    ...(retention === undefined ? {} : { retention }),
    ...(legalHold === undefined ? {} : { legalHold }),
  });
  const remove = (version: ObjectVersion, bypass = false) =>
    denied(() => checkVersionDeletion(version, bypass, NOW));

  it('is refused under COMPLIANCE, under GOVERNANCE without bypass, and under a legal hold', () => {
    expect(remove(object(compliance(1)))).toBe(true);
    expect(remove(object(compliance(1)), true)).toBe(true);
    expect(remove(object(governance(1)))).toBe(true);
    expect(remove(object(governance(1)), true)).toBe(false);
    expect(remove(object(undefined, true), true)).toBe(true);
    expect(remove(object(compliance(-1), true))).toBe(true);
  });

  it('is allowed once retention expired, without one, and for delete markers', () => {
    expect(remove(object(compliance(-1)))).toBe(false);
    expect(remove(object(undefined, false))).toBe(false);
    expect(
      denied(() =>
        checkVersionDeletion(
          { kind: 'deleteMarker', key: 'k', versionId: 'v', sequence: 1, lastModified: NOW.toISOString() },
          false,
          NOW,
        ),
      ),
    ).toBe(false);
  });
});

describe('retention dates', () => {
  it('derives the default retention in days or years', () => {
    expect(defaultRetentionFrom({ mode: 'COMPLIANCE', days: 3 }, NOW)).toEqual(compliance(3));
    expect(defaultRetentionFrom({ mode: 'GOVERNANCE', years: 1 }, NOW)).toEqual({
      mode: 'GOVERNANCE',
      retainUntil: '2031-01-01T00:00:00.000Z',
    });
    expect(defaultRetentionFrom(undefined, NOW)).toBeUndefined();
  });

  it('accepts only ISO 8601 dates in the future', () => {
    expect(parseRetainUntil('2030-01-02T00:00:00Z', NOW)).toBe('2030-01-02T00:00:00.000Z');
    for (const text of ['2029-12-31T00:00:00Z', 'tomorrow', '01/02/2030']) {
      expect(() => parseRetainUntil(text, NOW)).toThrow(S3Error);
    }
  });
});
