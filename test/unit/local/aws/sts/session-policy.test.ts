import { describe, expect, it } from 'vitest';
import { parseSessionPolicy, sessionPolicyAllows } from '../../../../../local/aws/sts/session-policy.ts';

const policy = (...Statement: object[]) => JSON.stringify({ Version: '2012-10-17', Statement });
const get = (resource: string) => ({ action: 's3:GetObject', resource });

describe('sessionPolicyAllows', () => {
  it('allows each permission only when an Allow matches its action and resource (IAM wildcards)', () => {
    const granted = policy({ Effect: 'Allow', Action: 's3:Get*', Resource: 'arn:aws:s3:::bucket/reports/*' });
    expect(sessionPolicyAllows(granted, [get('arn:aws:s3:::bucket/reports/2026.csv')])).toBe(true);
    expect(
      sessionPolicyAllows(granted, [{ action: 'S3:GETOBJECT', resource: 'arn:aws:s3:::bucket/reports/x' }]),
    ).toBe(true);
    expect(sessionPolicyAllows(granted, [get('arn:aws:s3:::bucket/other/2026.csv')])).toBe(false);
    expect(sessionPolicyAllows(granted, [get('arn:aws:s3:::BUCKET/reports/2026.csv')])).toBe(false);
    // Every permission a call needs must be allowed (CopyObject: read the source and write the destination).
    expect(
      sessionPolicyAllows(granted, [
        get('arn:aws:s3:::bucket/reports/a'),
        { action: 's3:PutObject', resource: 'arn:aws:s3:::bucket/reports/b' },
      ]),
    ).toBe(false);
    const single = policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::bucket/a?c' });
    expect(sessionPolicyAllows(single, [get('arn:aws:s3:::bucket/abc')])).toBe(true);
    expect(sessionPolicyAllows(single, [get('arn:aws:s3:::bucket/abbc')])).toBe(false);
  });

  it('lets an explicit Deny win, and fails closed on what it cannot evaluate', () => {
    const allowAll = { Effect: 'Allow', Action: '*', Resource: '*' };
    expect(
      sessionPolicyAllows(policy(allowAll, { Effect: 'Deny', Action: 's3:GetObject', Resource: '*' }), [
        get('arn:aws:s3:::b/k'),
      ]),
    ).toBe(false);
    // A condition is not evaluated: an Allow with one grants nothing, a Deny with one applies.
    const conditional = { ...allowAll, Condition: { Bool: { 'aws:SecureTransport': 'true' } } };
    expect(sessionPolicyAllows(policy(conditional), [get('arn:aws:s3:::b/k')])).toBe(false);
    expect(
      sessionPolicyAllows(policy(allowAll, { ...conditional, Effect: 'Deny' }), [get('arn:aws:s3:::b/k')]),
    ).toBe(false);
    expect(sessionPolicyAllows(undefined, [get('arn:aws:s3:::b/k')])).toBe(false);
    expect(sessionPolicyAllows('not json', [get('arn:aws:s3:::b/k')])).toBe(false);
    expect(sessionPolicyAllows(policy(allowAll), [])).toBe(false);
  });

  it('parses only what IAM would take as a policy', () => {
    expect(
      parseSessionPolicy(policy({ Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['*'] })),
    ).toBeDefined();
    expect(parseSessionPolicy('{"Statement": "x"}')).toBeUndefined();
    expect(parseSessionPolicy(policy({ Effect: 'Maybe', Action: '*', Resource: '*' }))).toBeUndefined();
  });
});
