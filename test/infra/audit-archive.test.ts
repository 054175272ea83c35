/**
 * The audit archive in the template: the Object Lock bucket and its log bucket, the bucket policy
 * evaluated as IAM does (nobody deletes, changes the lock or bypasses retention, nobody reads
 * without TLS, whatever their own policies allow), the archiver's and the digester's grants (each
 * its prefix, nothing more), the stream's event source mapping and the digester's schedule.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../lambdas/handlers/environment-names.ts';
import { AUDIT_BUCKET_POLICY_SIDS } from '../../lib/audit-archive-bucket.ts';
import { AUDIT_ARCHIVER_HANDLER_ENTRY } from '../../lib/audit-archiver.ts';
import { AUDIT_DIGESTER_HANDLER_ENTRY } from '../../lib/audit-digester.ts';
import { WORKFLOW_HANDLER_ENTRIES } from '../../lib/countersign-stack.ts';
import { ENTRY_METADATA_KEY } from '../../lib/handler-function.ts';
import { authorize, type PolicyStatement } from '../support/iam-policy.ts';
import { buildCountersignStack, TEST_FULL_CONTEXT } from './build-stack.ts';
import {
  ACCOUNT,
  concrete,
  functionOfEntry,
  identityOf,
  type Json,
  type Resources,
  resourcesOfType,
  roleArnOf,
  roleOfEntry,
} from './concrete-template.ts';

const SLOW_SYNTH_MS = 120_000;
let resources: Resources;

const ofType = (type: string) => resourcesOfType(resources, type);
const functionOf = (entry: string) => functionOfEntry(resources, entry);
const roleOf = (entry: string) => roleOfEntry(resources, entry);
const archiveBucket = () => ofType('AWS::S3::Bucket').find(([, r]) => r.Properties.ObjectLockEnabled)!;
const logBucket = () => ofType('AWS::S3::Bucket').find(([, r]) => !r.Properties.ObjectLockEnabled)!;
const policyOf = (bucketId: string) =>
  concrete(
    ofType('AWS::S3::BucketPolicy').find(([, r]) => r.Properties.Bucket.Ref === bucketId)![1].Properties
      .PolicyDocument.Statement,
    resources,
  ) as PolicyStatement[];

beforeAll(() => {
  resources = buildCountersignStack(TEST_FULL_CONTEXT).template.toJSON().Resources;
}, SLOW_SYNTH_MS);

describe('the archive bucket', () => {
  it('has Object Lock with COMPLIANCE default retention, versioning, SSE-KMS, no public access, access logs, and is retained', () => {
    const [, bucket] = archiveBucket();
    const [logId] = logBucket();
    expect(bucket.Properties).toMatchObject({
      ObjectLockEnabled: true,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 365 } },
      },
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: expect.anything() },
          },
        ],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: { DestinationBucketName: { Ref: logId }, LogFilePrefix: 'archive/' },
    });
    expect(bucket.DeletionPolicy).toBe('Retain');
  });

  it('logs to a bucket that is encrypted, private, TLS-only and retained, written by S3 logging for this bucket only', () => {
    const [logId, log] = logBucket();
    expect(log.Properties).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, RestrictPublicBuckets: true },
    });
    expect(log.DeletionPolicy).toBe('Retain');
    const [archiveId] = archiveBucket();
    const policy = policyOf(logId);
    const delivery = (sourceArn: string, secure = 'true') =>
      authorize(
        {
          principalArn: 'logging.s3.amazonaws.com',
          action: 's3:PutObject',
          resource: `arn:aws:s3:::${logId}/archive/2025-06-01-00-00-00-ABC`,
          context: {
            'aws:SourceArn': [sourceArn],
            'aws:SourceAccount': [ACCOUNT],
            'aws:SecureTransport': [secure],
          },
        },
        {
          identity: [],
          resource: policy.map((statement) =>
            // The evaluator knows AWS principals; the logging service stands in as one here.
            statement.Principal !== undefined &&
            typeof statement.Principal === 'object' &&
            'Service' in statement.Principal
              ? { ...statement, Principal: { AWS: 'logging.s3.amazonaws.com' } }
              : statement,
          ),
        },
      ).verdict;
    expect(delivery(`arn:aws:s3:::${archiveId}`)).toBe('Allowed');
    expect(delivery('arn:aws:s3:::someone-elses-bucket')).toBe('ImplicitDeny');
    expect(delivery(`arn:aws:s3:::${archiveId}`, 'false')).toBe('ExplicitDeny');
  });

  it('denies every principal deleting, changing the lock, bypassing retention or skipping TLS, whatever it is allowed', () => {
    const [archiveId] = archiveBucket();
    const policy = policyOf(archiveId);
    const everything: PolicyStatement = { Effect: 'Allow', Action: 's3:*', Resource: '*' };
    const bucketArn = `arn:aws:s3:::${archiveId}`;
    const request = (principalArn: string, action: string, resource: string, secure = 'true') =>
      authorize(
        { principalArn, action, resource, context: { 'aws:SecureTransport': [secure] } },
        { identity: [everything], resource: policy },
      );
    for (const principal of [
      roleArnOf(roleOf(AUDIT_ARCHIVER_HANDLER_ENTRY)),
      roleArnOf(roleOf(AUDIT_DIGESTER_HANDLER_ENTRY)),
      `arn:aws:iam::${ACCOUNT}:role/admin`,
      `arn:aws:iam::${ACCOUNT}:root`,
    ]) {
      for (const action of ['s3:DeleteObject', 's3:DeleteObjectVersion']) {
        for (const key of [
          'audit/dt=2025-06-01/hour=12/x.jsonl.gz',
          'digests/dt=2025-06-01/000000000001.json',
        ]) {
          expect(request(principal, action, `${bucketArn}/${key}`)).toEqual({
            verdict: 'ExplicitDeny',
            denyingSids: [AUDIT_BUCKET_POLICY_SIDS.noDeletes],
          });
        }
      }
      expect(request(principal, 's3:PutBucketObjectLockConfiguration', bucketArn).denyingSids).toEqual([
        AUDIT_BUCKET_POLICY_SIDS.noLockChanges,
      ]);
      expect(request(principal, 's3:BypassGovernanceRetention', `${bucketArn}/audit/x`).denyingSids).toEqual([
        AUDIT_BUCKET_POLICY_SIDS.noLockChanges,
      ]);
      expect(request(principal, 's3:GetObject', `${bucketArn}/audit/x`, 'false').verdict).toBe(
        'ExplicitDeny',
      );
      expect(request(principal, 's3:GetObject', `${bucketArn}/audit/x`).verdict).toBe('Allowed');
    }
  });
});

describe('grants', () => {
  const can = (entry: string, action: string, resource: string, context: Record<string, string[]> = {}) => {
    const [archiveId] = archiveBucket();
    return authorize(
      {
        principalArn: roleArnOf(roleOf(entry)),
        action,
        resource: resource.replace('BUCKET', `arn:aws:s3:::${archiveId}`),
        context: { 'aws:SecureTransport': ['true'], ...context },
      },
      { identity: identityOf(resources, roleOf(entry)), resource: policyOf(archiveId) },
    ).verdict;
  };
  const audit = 'BUCKET/audit/dt=2025-06-01/hour=12/0123456789abcdef-1-2.jsonl.gz';
  const digest = 'BUCKET/digests/dt=2025-06-01/000000000001.json';

  it('let the archiver create audit objects with retention, and read one back, and nothing else', () => {
    const archiver = AUDIT_ARCHIVER_HANDLER_ENTRY;
    expect(can(archiver, 's3:PutObject', audit)).toBe('Allowed');
    expect(can(archiver, 's3:PutObjectRetention', audit)).toBe('Allowed');
    expect(can(archiver, 's3:GetObject', audit)).toBe('Allowed');
    expect(can(archiver, 's3:PutObject', digest)).toBe('ImplicitDeny');
    expect(can(archiver, 's3:GetObject', digest)).toBe('ImplicitDeny');
    expect(can(archiver, 's3:ListBucket', 'BUCKET', { 's3:prefix': ['audit/'] })).toBe('ImplicitDeny');
    expect(can(archiver, 's3:DeleteObject', audit)).toBe('ExplicitDeny');
    expect(can(archiver, 's3:PutBucketObjectLockConfiguration', 'BUCKET')).toBe('ExplicitDeny');
  });

  it('let the digester list and read both prefixes and create digests, never write audit objects', () => {
    const digester = AUDIT_DIGESTER_HANDLER_ENTRY;
    for (const key of [audit, digest]) {
      expect(can(digester, 's3:GetObject', key)).toBe('Allowed');
      expect(can(digester, 's3:GetObjectVersion', key)).toBe('Allowed');
    }
    expect(can(digester, 's3:ListBucketVersions', 'BUCKET', { 's3:prefix': ['audit/dt=2025-06-01/'] })).toBe(
      'Allowed',
    );
    expect(can(digester, 's3:ListBucket', 'BUCKET', { 's3:prefix': ['digests/'] })).toBe('Allowed');
    expect(can(digester, 's3:ListBucket', 'BUCKET', { 's3:prefix': ['other/'] })).toBe('ImplicitDeny');
    expect(can(digester, 's3:PutObject', digest)).toBe('Allowed');
    expect(can(digester, 's3:PutObject', audit)).toBe('ImplicitDeny');
    expect(can(digester, 's3:DeleteObjectVersion', digest)).toBe('ExplicitDeny');
  });

  it('give no other function of the stack any right on the archive', () => {
    for (const entry of Object.values(WORKFLOW_HANDLER_ENTRIES)) {
      expect(can(entry, 's3:PutObject', audit)).toBe('ImplicitDeny');
      expect(can(entry, 's3:GetObject', digest)).toBe('ImplicitDeny');
    }
  });

  it('use the keys only through S3 (for this bucket) and DynamoDB (the stream)', () => {
    const [archiveId] = archiveBucket();
    const kms = identityOf(resources, roleOf(AUDIT_ARCHIVER_HANDLER_ENTRY)).filter((statement: Json) =>
      [statement.Action].flat().some((action: string) => action.startsWith('kms:')),
    );
    expect(kms).toContainEqual(
      expect.objectContaining({
        Action: 'kms:GenerateDataKey',
        Condition: {
          StringEquals: {
            'kms:ViaService': 's3.us-east-1.amazonaws.com',
            'kms:EncryptionContext:aws:s3:arn': `arn:aws:s3:::${archiveId}`,
          },
        },
      }),
    );
    for (const entry of [AUDIT_ARCHIVER_HANDLER_ENTRY, AUDIT_DIGESTER_HANDLER_ENTRY]) {
      const dataKeyUses = identityOf(resources, roleOf(entry)).filter(
        (statement: Json) =>
          [statement.Action].flat().some((action: string) => action.startsWith('kms:')) &&
          String(statement.Resource).includes('DataKey'),
      );
      expect(dataKeyUses.length).toBeGreaterThan(0);
      for (const statement of dataKeyUses) {
        expect(statement.Condition.StringEquals['kms:ViaService'], JSON.stringify(statement)).toMatch(
          /^(s3|dynamodb)\.us-east-1\.amazonaws\.com$/,
        );
      }
    }
  });
});

describe('the archiver', () => {
  it('reads the table stream: audit inserts only, partial failures, bisect, retries until the stream would drop them, then the DLQ', () => {
    const [functionId] = functionOf(AUDIT_ARCHIVER_HANDLER_ENTRY);
    const [, mapping] = ofType('AWS::Lambda::EventSourceMapping').find(
      ([, r]) => r.Properties.FunctionName.Ref === functionId,
    )!;
    expect(mapping.Properties).toMatchObject({
      FunctionName: { Ref: functionId },
      EventSourceArn: { 'Fn::GetAtt': [expect.stringMatching(/^RequestTable/), 'StreamArn'] },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRecordAgeInSeconds: 86400,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [expect.stringMatching(/^AuditArchiver/), 'Arn'] } },
      },
    });
    expect(JSON.parse(mapping.Properties.FilterCriteria.Filters[0].Pattern)).toEqual({
      eventName: ['INSERT'],
      dynamodb: { Keys: { sk: { S: [{ prefix: 'AUDIT#' }] } } },
    });
    // No retry limit (CloudFormation's default, -1): a batch S3 refuses waits for it.
    expect(mapping.Properties.MaximumRetryAttempts).toBeUndefined();
    const alarms = ofType('AWS::CloudWatch::Alarm').filter(([id]) => id.includes('AuditArchiveDeadLetters'));
    expect(alarms).toHaveLength(1);
    // Waiting is not quiet: the archiver's iterator age alarms past 15 minutes.
    const [[, late]] = ofType('AWS::CloudWatch::Alarm').filter(([id]) => id.includes('AuditArchiveLate')) as [
      [string, Json],
    ];
    expect(late.Properties).toMatchObject({
      MetricName: 'IteratorAge',
      Namespace: 'AWS/Lambda',
      Statistic: 'Maximum',
      Threshold: 900_000,
      ComparisonOperator: 'GreaterThanThreshold',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId } }],
    });
  });
});

describe('the digester', () => {
  it('runs every five minutes, one at a time, with its key, lookback and retention', () => {
    const [functionId, fn] = functionOf(AUDIT_DIGESTER_HANDLER_ENTRY);
    expect(fn.Properties.ReservedConcurrentExecutions).toBe(1);
    expect(fn.Properties.Environment.Variables).toMatchObject({
      [ENV.auditDigestKeyId]: { 'Fn::GetAtt': [expect.stringMatching(/^AuditDigesterSigningKey/), 'Arn'] },
      [ENV.auditDigestLookbackSeconds]: '300',
      [ENV.auditMaxRecordDelaySeconds]: '86400',
      [ENV.auditRetentionDays]: '365',
    });
    const schedule = ofType('AWS::Events::Rule').find(
      ([, rule]) => rule.Properties.Targets?.[0]?.Arn?.['Fn::GetAtt']?.[0] === functionId,
    )!;
    expect(schedule[1].Properties.ScheduleExpression).toBe('rate(5 minutes)');
  });
});

describe('countersign:archiveRetentionDays', () => {
  it(
    'sets the bucket default and what the writers give each object',
    () => {
      const custom = buildCountersignStack({ 'countersign:archiveRetentionDays': 30 }).template.toJSON()
        .Resources as Resources;
      const bucket = Object.values(custom).find(
        (r) => r.Type === 'AWS::S3::Bucket' && r.Properties.ObjectLockEnabled,
      )!;
      expect(bucket.Properties.ObjectLockConfiguration.Rule.DefaultRetention).toEqual({
        Mode: 'COMPLIANCE',
        Days: 30,
      });
      const writers = Object.values(custom).filter(
        (r) =>
          r.Type === 'AWS::Lambda::Function' &&
          [AUDIT_ARCHIVER_HANDLER_ENTRY, AUDIT_DIGESTER_HANDLER_ENTRY].includes(
            r.Metadata?.[ENTRY_METADATA_KEY],
          ),
      );
      expect(writers.map((fn) => fn.Properties.Environment.Variables[ENV.auditRetentionDays])).toEqual([
        '30',
        '30',
      ]);
      expect(() => buildCountersignStack({ 'countersign:archiveRetentionDays': 0 })).toThrow(
        /archiveRetentionDays/,
      );
    },
    SLOW_SYNTH_MS,
  );
});
