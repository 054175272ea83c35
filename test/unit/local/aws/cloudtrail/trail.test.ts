import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentOfCaller } from '../../../../../lambdas/domain/agent-principals.ts';
import { CloudTrailEvent, principalOf } from '../../../../../lambdas/domain/cloudtrail-event.ts';
import {
  createLocalTrail,
  type ServiceCall,
  userIdentityOf,
} from '../../../../../local/aws/cloudtrail/trail.ts';
import { LocalEventBus } from '../../../../../local/aws/events/event-bus.ts';
import type { AwsCaller } from '../../../../../local/aws/front/service.ts';
import { createLocalSts } from '../../../../../local/aws/sts/service.ts';
import { s3TrailCall } from '../../../../../local/twin/aws-services.ts';

const FIXTURES = join(import.meta.dirname, '../../../../fixtures/cloudtrail');

const call: ServiceCall = {
  service: 's3',
  operation: 'PutBucketPolicy',
  caller: {
    accessKeyId: 'AKIACOUNTERSIGNDEMO1',
    principalArn: 'arn:aws:iam::000000000000:user/agents/invoice-bot',
  },
  requestParameters: {
    bucketName: 'exports',
    Host: '127.0.0.1:4710',
    policy: '',
    bucketPolicy: { Version: '2012-10-17' },
  },
  responseElements: null,
  resources: [{ type: 'AWS::S3::Bucket', ARN: 'arn:aws:s3:::exports' }],
  additionalEventData: { SignatureVersion: 'SigV4', AuthenticationMethod: 'AuthHeader' },
  requestId: 'REQ123',
  eventTime: new Date('2026-11-22T09:40:00.789Z'),
  sourceIp: '127.0.0.1',
  userAgent: 'aws-sdk-js/3',
};

function record(input: ServiceCall) {
  const delivered: unknown[] = [];
  const trail = createLocalTrail({ deliver: (event) => delivered.push(event) });
  const event = trail.record(input);
  expect(delivered).toEqual([event]);
  return event;
}

describe('the twin’s CloudTrail', () => {
  it('writes the fields a real S3 PutBucketPolicy record has, in an event the reconciliation reads', async () => {
    const event = record(call);
    const real = JSON.parse(await readFile(join(FIXTURES, 's3-PutBucketPolicy.eventbridge.json'), 'utf8'));
    // Every field the real record has (but the TLS details the twin's plain HTTP has none of).
    expect(Object.keys(event.detail).sort()).toEqual(Object.keys(real.detail).sort());
    expect(Object.keys(event).sort()).toEqual(Object.keys(real).sort());
    expect(event).toMatchObject({
      'detail-type': 'AWS API Call via CloudTrail',
      source: 'aws.s3',
      account: '000000000000',
      time: '2026-11-22T09:40:00Z',
      resources: [],
      detail: {
        eventVersion: '1.09',
        eventTime: '2026-11-22T09:40:00Z',
        eventSource: 's3.amazonaws.com',
        eventName: 'PutBucketPolicy',
        sourceIPAddress: '127.0.0.1',
        userAgent: 'aws-sdk-js/3',
        requestID: 'REQ123',
        readOnly: false,
        eventType: 'AwsApiCall',
        managementEvent: true,
        recipientAccountId: '000000000000',
        eventCategory: 'Management',
        resources: [{ accountId: '000000000000', type: 'AWS::S3::Bucket', ARN: 'arn:aws:s3:::exports' }],
        userIdentity: {
          type: 'IAMUser',
          arn: 'arn:aws:iam::000000000000:user/agents/invoice-bot',
          accountId: '000000000000',
          accessKeyId: 'AKIACOUNTERSIGNDEMO1',
          userName: 'invoice-bot',
          principalId: expect.stringMatching(/^AIDA[0-9A-F]{17}$/),
        },
      },
    });
    expect(event.detail).not.toHaveProperty('errorCode');
    const parsed = CloudTrailEvent.parse(event);
    expect(principalOf(parsed.detail.userIdentity)).toBe('arn:aws:iam::000000000000:user/agents/invoice-bot');
    expect(record(call).detail.eventID).not.toBe(event.detail.eventID);
  });

  it('names Block Public Access calls as CloudTrail does, and records a failure with its error', () => {
    const failed = record({
      ...call,
      operation: 'DeletePublicAccessBlock',
      errorCode: 'NoSuchBucket',
      errorMessage: 'The specified bucket does not exist',
    });
    expect(failed.detail).toMatchObject({
      eventName: 'DeleteBucketPublicAccessBlock',
      errorCode: 'NoSuchBucket',
      errorMessage: 'The specified bucket does not exist',
    });
  });

  it('signs a role principal’s calls as an assumed-role session whose issuer is the role', () => {
    const identity = userIdentityOf({
      accessKeyId: 'ASIAAGENT',
      principalArn: 'arn:aws:iam::000000000000:role/agents/invoice-bot',
    });
    expect(identity).toMatchObject({
      type: 'AssumedRole',
      arn: 'arn:aws:sts::000000000000:assumed-role/invoice-bot/ASIAAGENT',
      sessionContext: {
        sessionIssuer: { type: 'Role', arn: 'arn:aws:iam::000000000000:role/agents/invoice-bot' },
      },
    });
    expect(principalOf(identity as never)).toBe('arn:aws:iam::000000000000:role/agents/invoice-bot');
    // A session ARN alone does not say which role (its path) issued it: that is the STS session's to say.
    expect(() =>
      userIdentityOf({ accessKeyId: 'A', principalArn: 'arn:aws:sts::000000000000:assumed-role/x/y' }),
    ).toThrow(/not an IAM user or role ARN/);
  });

  it('records a call signed with the twin’s STS session key as that AssumedRole session, issued by its role', async () => {
    const issuedAt = new Date('2026-11-22T09:30:15.250Z');
    const sts = createLocalSts({ now: () => issuedAt });
    const roleArn = 'arn:aws:iam::000000000000:role/agents/deploy-bot';
    const answer = await sts.service.handle(
      {
        params: new URLSearchParams({ RoleArn: roleArn, RoleSessionName: 'deploy-bot-run-7' }),
        requestId: 'STSREQ',
      } as never,
      'AssumeRole',
    );
    const keyId = /<AccessKeyId>(\w+)<\/AccessKeyId>/.exec(String(answer.body))![1]!;
    const assumedRoleId = /<AssumedRoleId>([^<]+)<\/AssumedRoleId>/.exec(String(answer.body))![1];
    const caller = sts.find(keyId)!.caller as AwsCaller;
    const event = record(
      s3TrailCall({
        operation: 'PutBucketPolicy',
        caller,
        bucket: 'exports',
        requestParameters: call.requestParameters!,
        requestId: 'REQ456',
        eventTime: new Date('2026-11-22T09:40:00Z'),
      }),
    );
    const real = JSON.parse(await readFile(join(FIXTURES, 'userIdentity-variants.json'), 'utf8'));
    expect(Object.keys(event.detail.userIdentity as object).sort()).toEqual(
      Object.keys(real.AssumedRole.userIdentity).sort(),
    );
    expect(event.detail.userIdentity).toEqual({
      type: 'AssumedRole',
      // As GetCallerIdentity's UserId and AssumeRole's AssumedRoleId name the session.
      principalId: assumedRoleId,
      arn: 'arn:aws:sts::000000000000:assumed-role/deploy-bot/deploy-bot-run-7',
      accountId: '000000000000',
      accessKeyId: keyId,
      sessionContext: {
        sessionIssuer: {
          type: 'Role',
          principalId: assumedRoleId!.split(':')[0],
          arn: roleArn,
          accountId: '000000000000',
          userName: 'deploy-bot',
        },
        attributes: { creationDate: '2026-11-22T09:30:15Z', mfaAuthenticated: 'false' },
      },
    });
    // The reconciliation maps the call by the issuer's ARN, path and all, to the agent that runs as the role.
    const parsed = CloudTrailEvent.parse(event);
    expect(principalOf(parsed.detail.userIdentity)).toBe(roleArn);
    const agents = [
      { id: 'invoice-bot', principalArn: 'arn:aws:iam::000000000000:user/agents/invoice-bot' },
      { id: 'deploy-bot', principalArn: roleArn },
    ];
    expect(agentOfCaller(agents, principalOf(parsed.detail.userIdentity))).toBe('deploy-bot');
  });
});

describe('AWS service events on the twin’s bus', () => {
  function busWith(state: { allManagementEvents?: boolean }) {
    const delivered: string[] = [];
    const bus = new LocalEventBus({
      buses: ['default', 'countersign'],
      rules: [
        {
          logicalId: 'Calls',
          name: 'calls',
          eventBusName: 'default',
          pattern: {
            source: ['aws.s3', 'aws.secretsmanager'],
            'detail-type': ['AWS API Call via CloudTrail'],
          },
          enabled: true,
          ...state,
          targets: [{ id: 't', arn: 'arn:aws:lambda:local:000000000000:function:reconcile' }],
        },
      ],
      deliver: async (_target, input) =>
        void delivered.push((input as { detail: { eventName: string } }).detail.eventName),
    });
    return { bus, delivered };
  }
  const readOnly = { ...call, service: 'secretsmanager', operation: 'GetSecretValue', resources: [] };

  it('delivers a change event to an ENABLED rule, and a read-only one only with every management event', async () => {
    const enabled = busWith({});
    enabled.bus.deliverAwsEvent(record(call));
    enabled.bus.deliverAwsEvent(record(readOnly));
    await enabled.bus.settled();
    expect(enabled.delivered).toEqual(['PutBucketPolicy']);
    const all = busWith({ allManagementEvents: true });
    all.bus.deliverAwsEvent(record(call));
    all.bus.deliverAwsEvent(record(readOnly));
    await all.bus.settled();
    expect(all.delivered).toEqual(['PutBucketPolicy', 'GetSecretValue']);
  });

  it('refuses aws.* sources to PutEvents, whoever calls, and anything but them as a service event', async () => {
    const { bus, delivered } = busWith({});
    const event = record(call);
    const result = bus.putEvents(
      [{ Source: 'aws.s3', DetailType: event['detail-type'], Detail: JSON.stringify(event.detail) }],
      undefined,
    );
    expect(result).toMatchObject({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'NotAuthorizedForSourceException' }],
    });
    expect(() => bus.deliverAwsEvent({ ...event, source: 'countersign.agent.x' })).toThrow(
      /not an AWS service event/,
    );
    await bus.settled();
    expect(delivered).toEqual([]);
  });
});
