import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compilePattern } from '../../../../../../local/aws/events/pattern/index.ts';

/**
 * Real-format CloudTrail and Macie events (test/fixtures, provenance in /work/shared/fixtures/*\/NOTES.md)
 * against the patterns AWS documents for them and the kinds of patterns Countersign's rules use.
 */
function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`../../../../../fixtures/${name}`, import.meta.url), 'utf8'));
}

const cloudTrail = {
  attachRolePolicy: fixture('cloudtrail/iam-AttachRolePolicy.eventbridge.json'),
  createAccessKey: fixture('cloudtrail/iam-CreateAccessKey.eventbridge.json'),
  createAccessKeyRoot: fixture('cloudtrail/iam-CreateAccessKey-root.eventbridge.json'),
  disableKey: fixture('cloudtrail/kms-DisableKey.eventbridge.json'),
  scheduleKeyDeletion: fixture('cloudtrail/kms-ScheduleKeyDeletion.eventbridge.json'),
  deletePublicAccessBlockDenied: fixture(
    'cloudtrail/s3-DeleteBucketPublicAccessBlock-denied.eventbridge.json',
  ),
  putBucketPolicy: fixture('cloudtrail/s3-PutBucketPolicy.eventbridge.json'),
};
const macie = {
  bucketPublic: fixture('macie/policy-finding-S3BucketPublic.eventbridge.CONSTRUCTED.json'),
  encryptionDisabledDoc: fixture('macie/policy-finding-doc-truncated.eventbridge.json'),
  sensitiveCsv: fixture('macie/sensitive-data-finding-multiple-csv.eventbridge.json'),
  sensitiveTxt: fixture('macie/sensitive-data-finding-personal-txt.eventbridge.CONSTRUCTED.json'),
};
type FixtureName = keyof typeof cloudTrail | keyof typeof macie;
const events: Record<FixtureName, unknown> = { ...cloudTrail, ...macie };
const allNames = Object.keys(events) as FixtureName[];

/** Asserts the pattern matches exactly the named fixtures among all of them. */
function expectMatchesExactly(pattern: unknown, expected: readonly FixtureName[]): void {
  const matcher = compilePattern(pattern);
  expect(allNames.filter((name) => matcher.matches(events[name]))).toEqual(
    allNames.filter((name) => expected.includes(name)),
  );
}

const API_CALL = 'AWS API Call via CloudTrail';

describe('CloudTrail events (events-ref-cloudtrail, eb-service-event-cloudtrail)', () => {
  it('the documented per-API pattern selects IAM CreateAccessKey calls', () => {
    expectMatchesExactly(
      {
        source: ['aws.iam'],
        'detail-type': [API_CALL],
        detail: { eventSource: ['iam.amazonaws.com'], eventName: ['CreateAccessKey'] },
      },
      ['createAccessKey', 'createAccessKeyRoot'],
    );
  });

  it('all API calls of every source', () => {
    expectMatchesExactly({ 'detail-type': [API_CALL] }, Object.keys(cloudTrail) as FixtureName[]);
  });

  it('several sensitive KMS operations', () => {
    expectMatchesExactly(
      { source: ['aws.kms'], detail: { eventName: ['ScheduleKeyDeletion', 'DisableKey'] } },
      ['disableKey', 'scheduleKeyDeletion'],
    );
  });

  it('successful calls only: errorCode must not exist', () => {
    const successful = (Object.keys(cloudTrail) as FixtureName[]).filter(
      (name) => name !== 'deletePublicAccessBlockDenied',
    );
    expectMatchesExactly(
      { 'detail-type': [API_CALL], detail: { errorCode: [{ exists: false }] } },
      successful,
    );
  });

  it('denied calls: errorCode AccessDenied', () => {
    expectMatchesExactly({ detail: { errorCode: ['AccessDenied'] } }, ['deletePublicAccessBlockDenied']);
  });

  it('calls made by the root user', () => {
    expectMatchesExactly({ detail: { userIdentity: { type: ['Root'] } } }, ['createAccessKeyRoot']);
  });

  it('null requestParameters (root creating its own key) is matched by [null]', () => {
    expectMatchesExactly({ detail: { requestParameters: [null] } }, ['createAccessKeyRoot']);
  });

  it('exists: true on requestParameters holds only where it is null: an object is not a leaf', () => {
    expectMatchesExactly({ detail: { requestParameters: [{ exists: true }] } }, ['createAccessKeyRoot']);
  });

  it('assumed-role sessions by ARN wildcard', () => {
    expectMatchesExactly(
      { detail: { userIdentity: { arn: [{ wildcard: 'arn:aws:sts::*:assumed-role/*' }] } } },
      ['attachRolePolicy', 'putBucketPolicy'],
    );
  });

  it('mfaAuthenticated is the string "false", not a boolean', () => {
    const path = (value: unknown) => ({
      detail: { userIdentity: { sessionContext: { attributes: { mfaAuthenticated: [value] } } } },
    });
    expectMatchesExactly(path('false'), ['putBucketPolicy']);
    expectMatchesExactly(path(false), []);
  });

  it('source addresses by CIDR block', () => {
    expectMatchesExactly({ detail: { sourceIPAddress: [{ cidr: '203.0.113.0/24' }] } }, [
      'attachRolePolicy',
      'putBucketPolicy',
    ]);
  });

  it('a short deletion window: numeric on requestParameters.pendingWindowInDays', () => {
    const window = (range: unknown[]) => ({
      detail: { requestParameters: { pendingWindowInDays: [{ numeric: range }] } },
    });
    expectMatchesExactly(window(['<=', 20]), ['scheduleKeyDeletion']);
    expectMatchesExactly(window(['<', 20]), []);
  });

  it('resources inside the record are an array of objects', () => {
    expectMatchesExactly({ detail: { resources: { type: ['AWS::KMS::Key'] } } }, ['scheduleKeyDeletion']);
  });

  it('a public statement inside a bucket policy', () => {
    expectMatchesExactly(
      {
        source: ['aws.s3'],
        detail: {
          eventName: ['PutBucketPolicy'],
          requestParameters: { bucketPolicy: { Statement: { Effect: ['Allow'], Principal: ['*'] } } },
        },
      },
      ['putBucketPolicy'],
    );
  });

  it('writes only: read-style API names excluded with anything-but prefix', () => {
    expectMatchesExactly(
      {
        'detail-type': [API_CALL],
        detail: { eventName: [{ 'anything-but': { prefix: ['Get', 'List', 'Describe'] } }] },
      },
      Object.keys(cloudTrail) as FixtureName[],
    );
  });

  it('IAM or KMS changes through $or', () => {
    expectMatchesExactly(
      {
        'detail-type': [API_CALL],
        $or: [
          { source: ['aws.iam'], detail: { eventName: [{ suffix: 'Policy' }] } },
          { source: ['aws.kms'] },
        ],
      },
      ['attachRolePolicy', 'disableKey', 'scheduleKeyDeletion'],
    );
  });
});

describe('Macie findings (events-ref-macie, findings-publish-event-schemas)', () => {
  it('the documented pattern selects every Macie finding and nothing else', () => {
    expectMatchesExactly(
      { source: ['aws.macie'], 'detail-type': ['Macie Finding'] },
      Object.keys(macie) as FixtureName[],
    );
  });

  it('the user guide "Value matching" example: severity score 1 and count 2', () => {
    expectMatchesExactly(
      {
        source: ['aws.macie'],
        'detail-type': ['Macie Finding'],
        detail: { severity: { score: [1] }, count: [2] },
      },
      ['encryptionDisabledDoc'],
    );
  });

  it('high-severity findings', () => {
    expectMatchesExactly({ source: ['aws.macie'], detail: { severity: { description: ['High'] } } }, [
      'bucketPublic',
      'sensitiveCsv',
      'sensitiveTxt',
    ]);
  });

  it('sensitive-data findings by type prefix', () => {
    expectMatchesExactly({ detail: { type: [{ prefix: 'SensitiveData:' }] } }, [
      'sensitiveCsv',
      'sensitiveTxt',
    ]);
  });

  it('policy findings by category', () => {
    expectMatchesExactly({ detail: { category: ['POLICY'] } }, ['bucketPublic']);
  });

  it('findings with credit card numbers: nested arrays of detections', () => {
    expectMatchesExactly(
      {
        detail: {
          classificationDetails: {
            result: { sensitiveData: { detections: { type: ['CREDIT_CARD_NUMBER'] } } },
          },
        },
      },
      ['sensitiveCsv'],
    );
  });

  it('a detection type and count from the same detection only', () => {
    const detection = (count: unknown[]) => ({
      detail: {
        classificationDetails: {
          result: { sensitiveData: { detections: { type: ['NAME'], count: [{ numeric: count }] } } },
        },
      },
    });
    expectMatchesExactly(detection(['=', 20]), ['sensitiveCsv']);
    // 30 is the count of other detections in the same finding; it must not be combined with NAME.
    expectMatchesExactly(detection(['=', 30]), []);
  });

  it('public buckets found by a policy finding', () => {
    expectMatchesExactly(
      { detail: { resourcesAffected: { s3Bucket: { publicAccess: { effectivePermission: ['PUBLIC'] } } } } },
      ['bucketPublic'],
    );
  });

  it('findings that are not archived and not from the truncated doc example (no archived field)', () => {
    expectMatchesExactly({ source: ['aws.macie'], detail: { archived: [false] } }, [
      'bucketPublic',
      'sensitiveCsv',
      'sensitiveTxt',
    ]);
  });
});
