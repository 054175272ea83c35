import { describe, expect, it } from 'vitest';
import {
  parseCopySource,
  parseS3Arn,
  s3TargetOf,
  s3Uri,
  subjectOf,
} from '../../../lambdas/domain/s3-target.ts';

const target = (action: string, arn: string, parameters: Record<string, unknown> = {}) =>
  s3TargetOf({ action, resource: { arn }, parameters });

describe('S3 ARNs', () => {
  it('are buckets or objects, keys verbatim with slashes and any character', () => {
    expect(parseS3Arn('arn:aws:s3:::finance')).toEqual({ bucket: 'finance' });
    expect(parseS3Arn('arn:aws:s3:::finance/')).toEqual({ bucket: 'finance' });
    expect(parseS3Arn('arn:aws:s3:::finance/2026/11/ledger (final) #2.csv')).toEqual({
      bucket: 'finance',
      key: '2026/11/ledger (final) #2.csv',
    });
    expect(parseS3Arn('arn:aws-us-gov:s3:::finance/a:b/c?d=e')).toEqual({
      bucket: 'finance',
      key: 'a:b/c?d=e',
    });
    expect(parseS3Arn('arn:aws:s3:::finance/line\nbreak')).toEqual({ bucket: 'finance', key: 'line\nbreak' });
  });

  it('of another service are not S3; access points and invalid bucket names are reasons', () => {
    expect(parseS3Arn('arn:aws:iam::123456789012:role/x')).toBeUndefined();
    expect(parseS3Arn('arn:aws:s3:us-east-1:123456789012:accesspoint/reports')).toMatchObject({
      reason: expect.stringContaining('not a bucket or object ARN'),
    });
    expect(parseS3Arn('arn:aws:s3:::a/b')).toMatchObject({
      reason: expect.stringContaining('no valid bucket'),
    });
  });

  it('name their subject as s3:// URIs', () => {
    expect(s3Uri('finance')).toBe('s3://finance');
    expect(s3Uri('finance', 'a/b.csv')).toBe('s3://finance/a/b.csv');
    expect(subjectOf({ kind: 'object', bucket: 'finance', key: 'a' })).toBe('s3://finance/a');
    expect(subjectOf({ kind: 'bucket', bucket: 'finance' })).toBe('s3://finance');
    expect(subjectOf({ kind: 'none' })).toBeUndefined();
  });
});

describe('CopySource', () => {
  it('is bucket/key as the API takes it: leading slash optional, URL-encoded, optional versionId', () => {
    expect(parseCopySource('finance/2026/ledger.csv')).toEqual({ bucket: 'finance', key: '2026/ledger.csv' });
    expect(parseCopySource('/finance/2026/ledger%20%231.csv')).toEqual({
      bucket: 'finance',
      key: '2026/ledger #1.csv',
    });
    expect(parseCopySource('finance/ledger.csv?versionId=3HL4kqtJ')).toEqual({
      bucket: 'finance',
      key: 'ledger.csv',
      versionId: '3HL4kqtJ',
    });
    expect(parseCopySource('finance/ledger.csv?other=1')).toEqual({ bucket: 'finance', key: 'ledger.csv' });
  });

  it('that names no object, or an access point, or is badly encoded is a reason', () => {
    for (const value of [
      'finance',
      'finance/',
      '/ledger.csv',
      'finance/%E0%A4%A',
      'arn:aws:s3:us-east-1:1:accesspoint/a/object/k',
    ]) {
      expect(parseCopySource(value), value).toMatchObject({ reason: expect.any(String) });
    }
    expect(parseCopySource('x/k')).toMatchObject({ reason: expect.stringContaining('no valid bucket') });
  });
});

describe('the S3 data a request touches', () => {
  it('is nothing for other services', () => {
    expect(target('iam:AttachRolePolicy', 'arn:aws:iam::123456789012:role/x')).toEqual({ kind: 'none' });
  });

  it('is the resource: an object, or a bucket', () => {
    expect(target('s3:GetObject', 'arn:aws:s3:::finance/a/b.csv')).toEqual({
      kind: 'object',
      bucket: 'finance',
      key: 'a/b.csv',
    });
    expect(target('s3:PutBucketPolicy', 'arn:aws:s3:::finance', { Bucket: 'finance' })).toEqual({
      kind: 'bucket',
      bucket: 'finance',
    });
    // Another service acting on S3 data: its resource is still what is classified.
    expect(target('athena:StartQueryExecution', 'arn:aws:s3:::finance/results/')).toEqual({
      kind: 'object',
      bucket: 'finance',
      key: 'results/',
    });
  });

  it("is a copy's source: CopySource, else sourceBucket + sourceKey, else the resource", () => {
    const arn = 'arn:aws:s3:::exports/out.csv';
    expect(
      target('s3:CopyObject', arn, { CopySource: 'finance/cards.csv', Bucket: 'exports', Key: 'out.csv' }),
    ).toEqual({
      kind: 'object',
      bucket: 'finance',
      key: 'cards.csv',
    });
    expect(target('s3:UploadPartCopy', arn, { copySource: '/finance/cards.csv?versionId=v1' })).toEqual({
      kind: 'object',
      bucket: 'finance',
      key: 'cards.csv',
      versionId: 'v1',
    });
    expect(target('s3:CopyObject', arn, { sourceBucket: 'finance', sourceKey: 'cards.csv' })).toEqual({
      kind: 'object',
      bucket: 'finance',
      key: 'cards.csv',
    });
    // No source given: the resource is taken as the source; Bucket/Key are the destination.
    expect(
      target('s3:CopyObject', 'arn:aws:s3:::finance/cards.csv', { Bucket: 'exports', Key: 'out.csv' }),
    ).toEqual({
      kind: 'object',
      bucket: 'finance',
      key: 'cards.csv',
    });
  });

  it('is unresolvable when the copy source is malformed or given twice', () => {
    const arn = 'arn:aws:s3:::exports/out.csv';
    for (const parameters of [
      { CopySource: 'finance' },
      { CopySource: 42 },
      { CopySource: 'finance/a', copySource: 'finance/b' },
      { sourceBucket: 'finance' },
      { sourceKey: 'a.csv' },
      { sourceBucket: '', sourceKey: 'a.csv' },
      { sourceBucket: 'finance', sourceKey: 7 },
    ]) {
      expect(target('s3:CopyObject', arn, parameters).kind, JSON.stringify(parameters)).toBe('unresolvable');
    }
  });

  it('is unresolvable when the parameters name other data than the resource', () => {
    expect(target('s3:GetObject', 'arn:aws:s3:::finance/a.csv', { Bucket: 'finance', Key: 'b.csv' })).toEqual(
      {
        kind: 'unresolvable',
        reason: 'the parameters name s3://finance/b.csv, the resource s3://finance/a.csv',
      },
    );
    expect(target('s3:GetObject', 'arn:aws:s3:::finance/a.csv', { bucket: 'other' }).kind).toBe(
      'unresolvable',
    );
    expect(target('s3:GetObject', 'arn:aws:s3:::finance/a.csv', { Key: 'a.csv' }).kind).toBe('unresolvable');
    expect(
      target('s3:GetObject', 'arn:aws:s3:::finance/a.csv', { Bucket: 'finance', bucket: 'finance' }).kind,
    ).toBe('unresolvable');
    expect(target('s3:GetObject', 'arn:aws:s3:::finance/a.csv', { Bucket: 'x' }).kind).toBe('unresolvable');
    expect(target('s3:GetObject', 'arn:aws:s3:::finance/a.csv', { Bucket: 'finance', Key: 5 }).kind).toBe(
      'unresolvable',
    );
    // Parameters that agree (the key may be left out) change nothing.
    expect(
      target('s3:GetObject', 'arn:aws:s3:::finance/a.csv', { bucket: 'finance', key: 'a.csv' }).kind,
    ).toBe('object');
    expect(target('s3:GetObject', 'arn:aws:s3:::finance/a.csv', { Bucket: 'finance' }).kind).toBe('object');
  });

  it('of an s3 action on something that is not a bucket or object comes from its parameters, or is unresolvable', () => {
    expect(
      target('s3:GetObject', 'arn:aws:iam::123456789012:role/x', { Bucket: 'finance', Key: 'a.csv' }),
    ).toEqual({
      kind: 'object',
      bucket: 'finance',
      key: 'a.csv',
    });
    expect(target('s3:GetObject', 'arn:aws:iam::123456789012:role/x')).toMatchObject({
      kind: 'unresolvable',
    });
    expect(target('s3:GetObject', 'arn:aws:s3:us-east-1:123456789012:accesspoint/ap')).toMatchObject({
      kind: 'unresolvable',
    });
  });
});
