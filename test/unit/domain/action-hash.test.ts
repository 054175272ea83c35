import { describe, expect, it } from 'vitest';
import { actionHash, canonicalAction, canonicalActionJson } from '../../../lambdas/domain/action-hash.ts';

const copy = {
  action: 's3:CopyObject',
  resource: { arn: 'arn:aws:s3:::b/k' },
  parameters: { b: 1, a: 'x' },
};

describe('canonicalAction', () => {
  it('keeps only action, resource and parameters', () => {
    const detail = { ...copy, justification: 'why', agent: { id: 'bot' }, context: { ticket: 'T-1' } };
    expect(canonicalAction(detail)).toEqual(copy);
  });

  it('keeps the resource type when given and omits it when absent', () => {
    expect(
      canonicalAction({ ...copy, resource: { arn: 'arn:aws:s3:::b/k', type: 'object' } }).resource,
    ).toEqual({
      arn: 'arn:aws:s3:::b/k',
      type: 'object',
    });
    expect(Object.keys(canonicalAction(copy).resource)).toEqual(['arn']);
  });
});

describe('canonicalActionJson (RFC 8785)', () => {
  it('sorts keys at every level and drops whitespace', () => {
    expect(canonicalActionJson(copy)).toBe(
      '{"action":"s3:CopyObject","parameters":{"a":"x","b":1},"resource":{"arn":"arn:aws:s3:::b/k"}}',
    );
  });

  it('serializes numbers, strings and literals as the RFC 8785 sample (section 3.2.2)', () => {
    const parameters = JSON.parse(
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],' +
        '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
    );
    expect(canonicalActionJson({ ...copy, parameters })).toBe(
      '{"action":"s3:CopyObject","parameters":{"literals":[null,true,false],' +
        '"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"},"resource":{"arn":"arn:aws:s3:::b/k"}}',
    );
  });

  it('orders keys by UTF-16 code units, not by code points', () => {
    // U+1F600 is the surrogate pair D83D DE00, which sorts before U+FB33 in UTF-16.
    const json = canonicalActionJson({ ...copy, parameters: { '\ufb33': 1, '😀': 2, '€': 3, a: 4 } });
    expect(json).toContain('{"a":4,"€":3,"😀":2,"דּ":1}');
  });
});

describe('actionHash', () => {
  it('is the hex SHA-256 of the canonical text (digest computed independently with sha256sum)', () => {
    expect(actionHash(copy)).toBe('e1d2a59dbf8ca132f9374ee343da2a47687e506090e2e90ad412d0fe55b11027');
  });

  it('does not depend on key order or number spelling', () => {
    const reordered = {
      parameters: { a: 'x', b: 1.0 },
      resource: { arn: 'arn:aws:s3:::b/k' },
      action: 's3:CopyObject',
    };
    expect(actionHash(reordered)).toBe(actionHash(copy));
  });

  it('changes when any argument changes', () => {
    expect(actionHash({ ...copy, parameters: { a: 'x', b: 2 } })).not.toBe(actionHash(copy));
    expect(actionHash({ ...copy, resource: { arn: 'arn:aws:s3:::b/other' } })).not.toBe(actionHash(copy));
    expect(actionHash({ ...copy, action: 's3:PutBucketPolicy' })).not.toBe(actionHash(copy));
  });
});
