import { describe, expect, it } from 'vitest';
import {
  actionOf,
  CloudTrailEvent,
  eventSecond,
  principalOf,
  recordFingerprint,
} from '../../../lambdas/domain/cloudtrail-event.ts';
import {
  CLOUDTRAIL_API_CALL,
  cloudTrailAction,
  DEFAULT_PRIVILEGED_ACTIONS,
  isReadOnlyOperation,
  needsReadOnlyEvents,
  PrivilegedActions,
  privilegedCallPattern,
} from '../../../lambdas/domain/privileged-actions.ts';
import {
  type CallRecord,
  canReadCall,
  grantOf,
  matchedStatus,
  reconcilableGrantOf,
  toPrivilegedCall,
  whyNotCovered,
} from '../../../lambdas/domain/privileged-calls.ts';
import {
  canonicalResourceArn,
  disagreeingParameters,
  resourceOfCall,
} from '../../../lambdas/domain/privileged-resources.ts';
import { DEFAULT_APPROVAL_VALID_FOR_SECONDS } from '../../../lambdas/domain/receipt.ts';
import { CLOUDTRAIL_FIXTURES, cloudTrailEvent, userIdentityVariants } from './cloudtrail-fixtures.ts';
import { aRecord, aUser, NOW } from './fixtures.ts';

describe('the privileged actions list', () => {
  it('parses the default list into the operations the rule catches, each in its CloudTrail spelling', () => {
    const operations = PrivilegedActions.parse([...DEFAULT_PRIVILEGED_ACTIONS]);
    expect(operations).toHaveLength(14);
    expect(operations.find((operation) => operation.service === 'organizations')).toEqual({
      action: 'organizations:LeaveOrganization',
      service: 'organizations',
      source: 'aws.organizations',
      eventSource: 'organizations.amazonaws.com',
      eventName: 'LeaveOrganization',
      readOnly: false,
    });
    // The issue's s3:DeletePublicAccessBlock is the event CloudTrail names DeleteBucketPublicAccessBlock.
    expect(operations.map((operation) => operation.action)).toContain('s3:DeleteBucketPublicAccessBlock');
    expect(operations.filter((operation) => operation.readOnly).map((operation) => operation.action)).toEqual(
      ['secretsmanager:GetSecretValue'],
    );
    expect(needsReadOnlyEvents(operations)).toBe(true);
    expect(needsReadOnlyEvents(PrivilegedActions.parse(['iam:AttachRolePolicy']))).toBe(false);
  });

  it('accepts either spelling of the Block Public Access calls, and not both', () => {
    expect(cloudTrailAction('s3:PutPublicAccessBlock')).toBe('s3:PutBucketPublicAccessBlock');
    expect(cloudTrailAction('s3:DeleteBucketPublicAccessBlock')).toBe('s3:DeleteBucketPublicAccessBlock');
    expect(PrivilegedActions.parse(['s3:DeleteBucketPublicAccessBlock'])[0]?.eventName).toBe(
      'DeleteBucketPublicAccessBlock',
    );
    const twice = PrivilegedActions.safeParse([
      's3:DeletePublicAccessBlock',
      's3:DeleteBucketPublicAccessBlock',
    ]);
    expect(twice.error?.issues[0]?.message).toBe(
      '"s3:DeleteBucketPublicAccessBlock" names the same CloudTrail event as "s3:DeletePublicAccessBlock"',
    );
  });

  it('refuses what is not a list of <service>:<Operation>, and an empty list', () => {
    expect(PrivilegedActions.safeParse('iam:AttachRolePolicy').error?.issues[0]?.message).toMatch(
      /JSON array/,
    );
    expect(PrivilegedActions.safeParse([]).error?.issues[0]?.message).toMatch(/at least one/);
    expect(PrivilegedActions.safeParse(['AttachRolePolicy']).error?.issues[0]?.message).toMatch(
      /<service>:<Operation>/,
    );
  });

  it('tells read-only operations as EventBridge does (STS token calls are change events)', () => {
    expect(isReadOnlyOperation('secretsmanager:GetSecretValue')).toBe(true);
    expect(isReadOnlyOperation('iam:ListRoles')).toBe(true);
    expect(isReadOnlyOperation('ec2:DescribeInstances')).toBe(true);
    expect(isReadOnlyOperation('sts:GetSessionToken')).toBe(false);
    expect(isReadOnlyOperation('sts:GetFederationToken')).toBe(false);
    expect(isReadOnlyOperation('kms:DisableKey')).toBe(false);
  });

  it('builds a pattern that ties each service’s event names to its event source', () => {
    const pattern = privilegedCallPattern(
      PrivilegedActions.parse(['iam:AttachRolePolicy', 'kms:DisableKey', 'iam:CreateAccessKey']),
    );
    expect(pattern).toEqual({
      source: ['aws.iam', 'aws.kms'],
      'detail-type': [CLOUDTRAIL_API_CALL],
      detail: {
        $or: [
          { eventSource: ['iam.amazonaws.com'], eventName: ['AttachRolePolicy', 'CreateAccessKey'] },
          { eventSource: ['kms.amazonaws.com'], eventName: ['DisableKey'] },
        ],
      },
    });
    expect(privilegedCallPattern(PrivilegedActions.parse(['s3:PutBucketAcl'])).detail).toEqual({
      eventSource: ['s3.amazonaws.com'],
      eventName: ['PutBucketAcl'],
    });
  });
});

describe('CloudTrail events as EventBridge delivers them', () => {
  it.each(CLOUDTRAIL_FIXTURES)('reads the recorded %s event', (name) => {
    const parsed = CloudTrailEvent.safeParse(cloudTrailEvent(name));
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  });

  it('names the principal: the user or role ARN, an assumed role by its issuer, others by what they have', () => {
    const variants = userIdentityVariants();
    const principal = (type: string) => principalOf(variants[type]!.userIdentity as never);
    expect(principal('IAMUser')).toBe('arn:aws:iam::123456789012:user/Alice');
    expect(principal('AssumedRole')).toBe('arn:aws:iam::123456789012:role/RoleToBeAssumed');
    expect(principal('Root')).toBe('arn:aws:iam::123456789012:root');
    expect(principal('AWSService')).toBe('workmail.eu-west-1.amazonaws.com');
    expect(principal('AWSAccount')).toBe('AWSAccount:AIDAJ45Q7YFFAREXAMPLE');
    expect(principalOf({ type: 'Unknown' })).toBe('Unknown:unknown');
    // Root's session has an empty issuer: the ARN stands.
    const root = cloudTrailEvent('iam-CreateAccessKey-root').detail.userIdentity;
    expect(principalOf({ ...root, type: 'AssumedRole' })).toBe('arn:aws:iam::111122223333:root');
    const federated = {
      type: 'FederatedUser',
      arn: 'arn:aws:sts::123456789012:federated-user/bob',
      sessionContext: {
        sessionIssuer: { type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/agents/bot' },
      },
    };
    expect(principalOf(federated)).toBe('arn:aws:iam::123456789012:user/agents/bot');
  });

  it('names the action <service>:<eventName>, fingerprints the record and reads its second', () => {
    const { detail } = CloudTrailEvent.parse(cloudTrailEvent('s3-PutBucketPolicy'));
    expect(actionOf(detail)).toBe('s3:PutBucketPolicy');
    expect(eventSecond(detail)).toBe(Date.parse('2024-05-14T13:05:09Z') / 1000);
    const reordered = Object.fromEntries(Object.entries(detail).reverse());
    expect(recordFingerprint(reordered as never)).toBe(recordFingerprint(detail));
    expect(recordFingerprint({ ...detail, errorCode: 'AccessDenied' })).not.toBe(recordFingerprint(detail));
  });

  it('refuses an eventID that could not be a CloudTrail id', () => {
    const event = cloudTrailEvent('kms-DisableKey');
    event.detail.eventID = 'CALL#../x';
    expect(CloudTrailEvent.safeParse(event).success).toBe(false);
  });
});

describe('the resource a call acted on', () => {
  const resource = (
    name: Parameters<typeof cloudTrailEvent>[0],
    change: (detail: never) => void = () => {},
  ) => {
    const { detail, account } = CloudTrailEvent.parse(cloudTrailEvent(name));
    change(detail as never);
    return resourceOfCall(actionOf(detail), detail, account);
  };

  it('builds it from the recorded events’ requestParameters', () => {
    expect(resource('iam-AttachRolePolicy')).toBe('arn:aws:iam::111122223333:role/ci-deployer');
    expect(resource('iam-CreateAccessKey')).toBe('arn:aws:iam::111122223333:user/svc-backup');
    expect(resource('s3-PutBucketPolicy')).toBe('arn:aws:s3:::customer-exports');
    expect(resource('s3-DeleteBucketPublicAccessBlock-denied')).toBe('arn:aws:s3:::corporate-documents');
    // KMS lists the key it resolved: the ARN stands, in the key's own region.
    expect(resource('kms-ScheduleKeyDeletion')).toBe(
      'arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    );
  });

  it('finds no user for root creating its own key (requestParameters null)', () => {
    expect(resource('iam-CreateAccessKey-root')).toBeUndefined();
  });

  it('takes the calling IAM user when CreateAccessKey names none', () => {
    expect(
      resource('iam-CreateAccessKey', (detail: { requestParameters: unknown }) => {
        detail.requestParameters = null;
      }),
    ).toBe('arn:aws:iam::111122223333:user/Alice');
  });

  it('builds a KMS key from a key id, an alias or an ARN when CloudTrail lists none', () => {
    const withKey = (keyId: string) =>
      resource(
        'kms-DisableKey',
        (detail: { requestParameters: Record<string, unknown>; resources?: unknown }) => {
          detail.resources = undefined;
          detail.requestParameters.keyId = keyId;
        },
      );
    expect(withKey('1234abcd-12ab-34cd-56ef-1234567890ab')).toBe(
      'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    );
    expect(withKey('alias/payments')).toBe('arn:aws:kms:us-east-1:111122223333:alias/payments');
    expect(withKey('arn:aws:kms:eu-west-1:111122223333:key/abc')).toBe(
      'arn:aws:kms:eu-west-1:111122223333:key/abc',
    );
    expect(
      resource('kms-DisableKey', (detail: { requestParameters: unknown; resources?: unknown }) => {
        detail.resources = undefined;
        detail.requestParameters = {};
      }),
    ).toBeUndefined();
  });

  it('builds S3 objects, secrets, groups, policies and accounts', () => {
    const call = (
      eventSource: string,
      eventName: string,
      requestParameters: Record<string, unknown> | null,
    ) => {
      const { detail, account } = CloudTrailEvent.parse(cloudTrailEvent('iam-CreateAccessKey'));
      const changed = { ...detail, eventSource, eventName, requestParameters, resources: undefined };
      return resourceOfCall(actionOf(changed), changed, account);
    };
    expect(call('s3.amazonaws.com', 'PutObjectAcl', { bucketName: 'b', key: 'a/b.csv' })).toBe(
      'arn:aws:s3:::b/a/b.csv',
    );
    expect(call('s3.amazonaws.com', 'PutBucketAcl', { bucketName: '' })).toBeUndefined();
    expect(call('secretsmanager.amazonaws.com', 'GetSecretValue', { secretId: 'prod/db' })).toBe(
      'arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db',
    );
    expect(
      call('secretsmanager.amazonaws.com', 'GetSecretValue', {
        secretId: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-a1B2c3',
      }),
    ).toBe('arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db');
    expect(call('secretsmanager.amazonaws.com', 'GetSecretValue', {})).toBeUndefined();
    expect(call('iam.amazonaws.com', 'PutGroupPolicy', { groupName: 'admins' })).toBe(
      'arn:aws:iam::111122223333:group/admins',
    );
    expect(call('iam.amazonaws.com', 'AttachRolePolicy', { roleName: ['ci'] })).toBe(
      'arn:aws:iam::111122223333:role/ci',
    );
    expect(call('iam.amazonaws.com', 'PutUserPolicy', {})).toBeUndefined();
    expect(
      call('iam.amazonaws.com', 'CreatePolicyVersion', {
        policyArn: 'arn:aws:iam::111122223333:policy/ops/deploy',
      }),
    ).toBe('arn:aws:iam::111122223333:policy/ops/deploy');
    expect(call('organizations.amazonaws.com', 'LeaveOrganization', null)).toBe(
      'arn:aws:iam::111122223333:root',
    );
  });

  it('falls back to the one resource CloudTrail lists for an operation it has no rule for', () => {
    const { detail, account } = CloudTrailEvent.parse(cloudTrailEvent('kms-DisableKey'));
    const ec2 = { ...detail, eventSource: 'ec2.amazonaws.com', eventName: 'ModifySnapshotAttribute' };
    expect(resourceOfCall(actionOf(ec2), ec2, account)).toBe(detail.resources?.[0]?.ARN);
    const twoListed = {
      ...ec2,
      resources: [
        { ARN: 'arn:aws:ec2:us-east-1:1:snapshot/a' },
        { ARN: 'arn:aws:ec2:us-east-1:1:snapshot/b' },
      ],
    };
    expect(resourceOfCall(actionOf(twoListed), twoListed, account)).toBeUndefined();
    const noneListed = { ...ec2, resources: [{ type: 'AWS::EC2::Snapshot' }] };
    expect(resourceOfCall(actionOf(noneListed), noneListed, account)).toBeUndefined();
  });

  it('uses the event’s account and the aws partition when the record names neither', () => {
    const { detail } = CloudTrailEvent.parse(cloudTrailEvent('iam-AttachRolePolicy'));
    const bare = {
      ...detail,
      recipientAccountId: undefined,
      userIdentity: { type: 'AWSService', invokedBy: 'x' },
    };
    expect(resourceOfCall('iam:AttachRolePolicy', bare, '444455556666')).toBe(
      'arn:aws:iam::444455556666:role/ci-deployer',
    );
  });

  it('spells every resource one way', () => {
    expect(canonicalResourceArn('arn:aws:iam::123456789012:role/service-role/ci')).toBe(
      'arn:aws:iam::123456789012:role/ci',
    );
    expect(canonicalResourceArn('arn:aws:iam::123456789012:user/ci')).toBe(
      'arn:aws:iam::123456789012:user/ci',
    );
    expect(canonicalResourceArn('arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbC123')).toBe(
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db',
    );
    expect(canonicalResourceArn('arn:aws:organizations::111111111111:account/o-abc123/222222222222')).toBe(
      'arn:aws:iam::222222222222:root',
    );
    expect(canonicalResourceArn('arn:aws:s3:::bucket')).toBe('arn:aws:s3:::bucket');
  });
});

describe('comparing a request’s parameters with the call’s', () => {
  it('compares the parameters both sides name, in either spelling', () => {
    const admin = { roleName: 'ci', policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' };
    expect(disagreeingParameters('iam:AttachRolePolicy', { PolicyArn: admin.policyArn }, admin)).toEqual([]);
    expect(
      disagreeingParameters(
        'iam:AttachRolePolicy',
        { policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' },
        admin,
      ),
    ).toEqual(['policyArn']);
    // Nothing to compare: the request named no policy.
    expect(disagreeingParameters('iam:AttachRolePolicy', {}, admin)).toEqual([]);
    expect(disagreeingParameters('iam:AttachRolePolicy', { policyArn: 'x' }, null)).toEqual([]);
    expect(disagreeingParameters('iam:TagRole', { policyArn: 'x' }, { policyArn: 'y' })).toEqual([]);
  });

  it('compares policy documents as JSON, whatever their spacing or key order', () => {
    const { detail } = CloudTrailEvent.parse(cloudTrailEvent('s3-PutBucketPolicy'));
    const policy = detail.requestParameters?.bucketPolicy as { Statement: unknown[] };
    const text = JSON.stringify({ Statement: policy.Statement, Version: '2012-10-17' }, null, 2);
    expect(
      disagreeingParameters(
        's3:PutBucketPolicy',
        { bucket: 'customer-exports', policy: text },
        detail.requestParameters,
      ),
    ).toEqual([]);
    expect(
      disagreeingParameters(
        's3:PutBucketPolicy',
        { policy: { ...policy, Statement: [] } },
        detail.requestParameters,
      ),
    ).toEqual(['policy']);
    expect(
      disagreeingParameters(
        'iam:PutRolePolicy',
        { policyDocument: 'not json' },
        { policyDocument: 'not json' },
      ),
    ).toEqual([]);
  });

  it('compares scalars as text, and one-element arrays as their element', () => {
    expect(
      disagreeingParameters(
        'kms:ScheduleKeyDeletion',
        { pendingWindowInDays: '20' },
        { pendingWindowInDays: 20 },
      ),
    ).toEqual([]);
    expect(
      disagreeingParameters(
        'kms:ScheduleKeyDeletion',
        { pendingWindowInDays: 7 },
        { pendingWindowInDays: 20 },
      ),
    ).toEqual(['pendingWindowInDays']);
    expect(
      disagreeingParameters('iam:CreatePolicyVersion', { setAsDefault: true }, { setAsDefault: true }),
    ).toEqual([]);
    expect(
      disagreeingParameters('s3:PutBucketAcl', { ACL: 'private' }, { 'x-amz-acl': ['public-read'] }),
    ).toEqual(['aCL']);
    expect(
      disagreeingParameters('s3:PutBucketAcl', { acl: 'public-read' }, { 'x-amz-acl': ['public-read'] }),
    ).toEqual([]);
  });
});

describe('approvals and the calls they cover', () => {
  const decided = aRecord({
    status: 'APPROVED',
    decision: 'APPROVED',
    decidedAt: '2025-06-01T12:00:00.700Z',
    action: 's3:DeletePublicAccessBlock',
    resource: { arn: 'arn:aws:s3:::exports' },
    parameters: { bucket: 'exports' },
    approvers: ['alice'],
  });

  it('grants one approval per approving decision, in CloudTrail’s spelling, until the receipt expires', () => {
    expect(grantOf(decided)).toEqual({
      requestId: 'invoice-bot:req-1',
      agentId: 'invoice-bot',
      action: 's3:DeleteBucketPublicAccessBlock',
      resourceArn: 'arn:aws:s3:::exports',
      decision: 'APPROVED',
      decidedAt: '2025-06-01T12:00:00.700Z',
      expiresAt: new Date(
        Date.parse('2025-06-01T12:00:00Z') + DEFAULT_APPROVAL_VALID_FOR_SECONDS * 1000,
      ).toISOString(),
      parameters: { bucket: 'exports' },
      groups: ['security'],
    });
    expect(grantOf({ ...decided, decision: 'DENIED', status: 'DENIED' })).toBeUndefined();
    expect(grantOf(aRecord())).toBeUndefined();
    const { decidedAt: _decidedAt, ...undated } = decided;
    expect(grantOf(undated)).toBeUndefined();
    // Approved for Countersign to execute: the agent must not make the call, so it is not covered.
    expect(grantOf({ ...decided, policy: { ...decided.policy, executor: 'countersign' } })).toBeUndefined();
  });

  it('keeps an approval for the reconciliation only when its action, as CloudTrail names it, is watched', () => {
    expect(reconcilableGrantOf(decided, new Set(['s3:DeleteBucketPublicAccessBlock']))).toEqual(
      grantOf(decided),
    );
    // The API's spelling is not what a call is reconciled as.
    expect(reconcilableGrantOf(decided, new Set(['s3:DeletePublicAccessBlock']))).toBeUndefined();
    expect(reconcilableGrantOf(decided, new Set())).toBeUndefined();
    expect(
      reconcilableGrantOf(
        { ...decided, decision: 'DENIED', status: 'DENIED' },
        new Set([grantOf(decided)!.action]),
      ),
    ).toBeUndefined();
  });

  const grant = grantOf(decided)!;
  const call = {
    agentId: 'invoice-bot',
    action: 's3:DeleteBucketPublicAccessBlock',
    resourceArn: 'arn:aws:s3:::exports',
    eventTime: '2025-06-01T12:00:05Z',
    requestParameters: { bucketName: 'exports', publicAccessBlock: '' },
  };

  it('covers a call of the same agent, action and resource made after the decision and before expiry', () => {
    expect(whyNotCovered(grant, call)).toBeUndefined();
    // CloudTrail's second is the decision's second: the call counts as after it.
    expect(whyNotCovered(grant, { ...call, eventTime: '2025-06-01T12:00:00Z' })).toBeUndefined();
    expect(matchedStatus(grant)).toBe('MATCHED');
    expect(matchedStatus({ ...grant, decision: 'BREAK_GLASS' })).toBe('BREAK_GLASS');
  });

  it('covers nothing else', () => {
    expect(whyNotCovered(grant, { ...call, agentId: 'other-bot' })).toBe('another agent, action or resource');
    expect(whyNotCovered(grant, { ...call, resourceArn: 'arn:aws:s3:::other' })).toBe(
      'another agent, action or resource',
    );
    expect(whyNotCovered(grant, { ...call, action: 's3:PutBucketPolicy' })).toBe(
      'another agent, action or resource',
    );
    expect(whyNotCovered(grant, { ...call, eventTime: '2025-06-01T11:59:59Z' })).toBe(
      'decided after the call',
    );
    expect(whyNotCovered(grant, { ...call, eventTime: grant.expiresAt })).toBe('expired before the call');
    const policyGrant = {
      ...grant,
      action: 's3:PutBucketPolicy',
      parameters: { policy: '{"Statement":[]}' },
    };
    expect(
      whyNotCovered(policyGrant, {
        ...call,
        action: 's3:PutBucketPolicy',
        requestParameters: { bucketPolicy: { Statement: [1] } },
      }),
    ).toBe('parameters differ: policy');
  });

  const stored: CallRecord = {
    eventId: '3f2e1d0c-9b8a-4776-a5b4-c3d2e1f0a9b8',
    eventName: 'PutBucketPolicy',
    eventSource: 's3.amazonaws.com',
    action: 's3:PutBucketPolicy',
    principalArn: 'arn:aws:iam::000000000000:user/agents/invoice-bot',
    agentId: 'invoice-bot',
    resourceArn: 'arn:aws:s3:::exports',
    eventTime: NOW.toISOString(),
    status: 'UNAPPROVED',
    reviewId: 'call:3f2e1d0c-9b8a-4776-a5b4-c3d2e1f0a9b8',
    readers: ['security'],
    fingerprint: 'f'.repeat(64),
    recordedAt: NOW.toISOString(),
    awsRegion: 'us-east-1',
    sourceIPAddress: '127.0.0.1',
    requestParameters: { bucketName: 'exports', policy: '' },
  };

  it('shows a stored call as the API’s contract, with its review', () => {
    const review = {
      reviewId: 'call:3f2e1d0c-9b8a-4776-a5b4-c3d2e1f0a9b8',
      kind: 'UNAPPROVED_CALL' as const,
      status: 'OPEN' as const,
      groups: ['security'],
      openedAt: NOW.toISOString(),
    };
    expect(Object.keys(toPrivilegedCall(stored, review)).sort()).toEqual(
      [
        'action',
        'agentId',
        'eventId',
        'eventName',
        'eventSource',
        'eventTime',
        'principalArn',
        'resourceArn',
        'review',
        'status',
      ].sort(),
    );
    expect(toPrivilegedCall(stored)).not.toHaveProperty('review');
  });

  it('lets auditors and the call’s reviewers read it, nobody else', () => {
    expect(canReadCall(stored, aUser('alice', ['security']), [])).toBe(true);
    expect(canReadCall(stored, aUser('erin', ['audit']), ['audit'])).toBe(true);
    expect(canReadCall(stored, aUser('carol', ['platform']), ['audit'])).toBe(false);
  });
});
