/** The digest chain's and archive keys' refusals: every way a stored chain can be wrong is named. */
import { describe, expect, it } from 'vitest';
import {
  chainProblems,
  digestKey,
  parseArchiveObjectKey,
  parseDigestKey,
  RecordSequences,
  type StoredDigest,
} from '../../../lambdas/domain/audit-archive.ts';

function stored(sequence: number, from: string, to: string, previous: StoredDigest | null): StoredDigest {
  return {
    key: digestKey(from, sequence),
    sha256: String(sequence).repeat(64).slice(0, 64),
    digest: {
      sequence,
      from,
      to,
      signature: `sig-${sequence}`,
      previous:
        previous === null
          ? null
          : { key: previous.key, sha256: previous.sha256, signature: previous.digest.signature },
    },
  } as unknown as StoredDigest;
}

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-01T00:05:00.000Z';
const T2 = '2026-01-01T00:10:00.000Z';

describe('chainProblems', () => {
  const first = stored(1, T0, T1, null);
  it('accepts a sound chain and names every break', () => {
    expect(chainProblems(undefined, first)).toEqual([]);
    expect(chainProblems(first, stored(2, T1, T2, first))).toEqual([]);
    expect(chainProblems(undefined, { ...first, key: 'digests/elsewhere.json' })[0]).toMatch(/wrong key/);
    expect(chainProblems(undefined, stored(1, T1, T0, null))).toContain('ends before it starts');
    expect(chainProblems(undefined, stored(1, T0, T1, first))).toContain(
      'is the first digest but names a previous one',
    );
    expect(chainProblems(first, stored(3, T1, T2, first))[0]).toMatch(/sequence 2 is missing/);
    expect(chainProblems(first, stored(5, T1, T2, first))[0]).toMatch(/sequence 2–4 is missing/);
    expect(chainProblems(first, stored(1, T1, T2, first))[0]).toMatch(/has sequence 1 but follows/);
    expect(chainProblems(first, stored(2, T1, T2, null))[0]).toMatch(/names no previous digest/);
    const other = stored(7, T0, T1, null);
    const wrong = stored(2, T0, T2, other);
    const problems = chainProblems(first, wrong);
    expect(problems.some((p) => p.includes('as previous'))).toBe(true);
    expect(problems.some((p) => p.includes('(replaced)'))).toBe(true);
    expect(problems.some((p) => p.includes('another signature'))).toBe(true);
    expect(problems.some((p) => p.includes('not where'))).toBe(true);
  });
});

describe('archive and digest keys', () => {
  it('refuse keys that are not theirs', () => {
    expect(parseArchiveObjectKey('audit/not-an-archive-object.txt')).toBeUndefined();
    expect(parseDigestKey('digests/whatever.json')).toBeUndefined();
    expect(parseDigestKey(digestKey(T0, 3))).toEqual({ dt: '2026-01-01', sequence: 3 });
  });
});

describe('RecordSequences', () => {
  it('counts a repeated record once and names a hole of several numbers as a range', () => {
    const sequences = new RecordSequences();
    for (const seq of [1, 2, 2, 6]) sequences.add({ requestId: 'a:1', seq }, `h${seq}`);
    const problems = JSON.stringify(sequences.problems(true));
    expect(problems).toContain('3–5');
  });
});
