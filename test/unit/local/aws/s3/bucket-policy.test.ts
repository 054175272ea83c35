/**
 * The bucket policy's explicit Deny as the twin's S3 applies it: the archive bucket's statements
 * (deny deletes and lock changes to everyone, deny plain HTTP) refuse what they name and nothing
 * else; an operator the evaluator does not know makes the Deny apply (fail closed).
 */
import { describe, expect, it } from 'vitest';
import { actionsOf, denyingStatement, refuseIfDenied } from '../../../../../local/aws/s3/bucket-policy.ts';

const BUCKET = 'arn:aws:s3:::archive';
const POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:DeleteObject*', Resource: `${BUCKET}/*` },
    {
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: ['s3:PutBucketObjectLockConfiguration', 's3:BypassGovernanceRetention'],
      Resource: [BUCKET, `${BUCKET}/*`],
    },
    {
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 's3:*',
      Resource: [BUCKET, `${BUCKET}/*`],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    },
    { Effect: 'Allow', Principal: { AWS: '*' }, Action: 's3:*', Resource: `${BUCKET}/*` },
  ],
});

const request = (action: string, resource = `${BUCKET}/audit/x`, secure = true) => ({
  principalArn: 'arn:aws:iam::000000000000:user/operator',
  action,
  resource,
  context: { 'aws:SecureTransport': [String(secure)] },
});

describe('bucket policy explicit Deny', () => {
  it('refuses deletes of objects and versions, lock changes and governance bypass, to everyone', () => {
    for (const action of ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:BypassGovernanceRetention']) {
      expect(() => refuseIfDenied(POLICY, request(action))).toThrow(/Access Denied/);
    }
    expect(() => refuseIfDenied(POLICY, request('s3:PutBucketObjectLockConfiguration', BUCKET))).toThrow();
    // Action names match without regard to case, as in IAM.
    expect(denyingStatement(POLICY, request('S3:deleteobject'))).toBeDefined();
  });

  it('lets through what no Deny names, over TLS', () => {
    for (const action of ['s3:PutObject', 's3:GetObject', 's3:PutObjectRetention', 's3:ListBucketVersions']) {
      expect(denyingStatement(POLICY, request(action))).toBeUndefined();
    }
    expect(denyingStatement(undefined, request('s3:DeleteObject'))).toBeUndefined();
  });

  it('refuses everything over plain HTTP', () => {
    expect(denyingStatement(POLICY, request('s3:GetObject', `${BUCKET}/audit/x`, false))).toBeDefined();
  });

  it('applies a Deny whose condition operator it does not know (fail closed)', () => {
    const policy = JSON.stringify({
      Statement: [
        {
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:GetObject',
          Resource: `${BUCKET}/*`,
          Condition: { SomeFutureOperator: { 'aws:SourceIp': '10.0.0.0/8' } },
        },
      ],
    });
    expect(denyingStatement(policy, request('s3:GetObject'))).toBeDefined();
  });

  it('names the actions a request needs, as S3 documents them', () => {
    const none = new Map<string, string>();
    expect(actionsOf('DeleteObject', new Map([['versionId', 'v1']]), {})).toEqual(['s3:DeleteObjectVersion']);
    expect(actionsOf('PutObject', none, { 'x-amz-object-lock-mode': 'COMPLIANCE' })).toEqual([
      's3:PutObject',
      's3:PutObjectRetention',
    ]);
    expect(actionsOf('PutObjectRetention', none, { 'x-amz-bypass-governance-retention': 'true' })).toEqual([
      's3:PutObjectRetention',
      's3:BypassGovernanceRetention',
    ]);
    expect(actionsOf('ListObjectVersions', none, {})).toEqual(['s3:ListBucketVersions']);
  });
});
