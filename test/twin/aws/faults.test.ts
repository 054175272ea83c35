/**
 * The twin's fault injector on its own: what it accepts, how often a fault fires, and the answers
 * it gives in each platform's shape. End to end in test/twin/e2e/faults.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { FaultInjector } from '../../../local/aws/faults/injector.ts';
import { AwsProtocolError } from '../../../local/aws/front/errors.ts';

describe('FaultInjector', () => {
  it('fails the next N matching calls with AWS’s own code and status, then serves them', () => {
    const faults = new FaultInjector();
    const { id } = faults.inject({
      point: 'aws',
      action: 'dynamodb:UpdateItem',
      code: 'ProvisionedThroughputExceededException',
      times: 2,
    });
    expect(faults.awsCall('dynamodb:PutItem', Buffer.from('{}'))).toBeUndefined();
    const first = faults.awsCall('dynamodb:UpdateItem', Buffer.from('{}'));
    expect(first).toBeInstanceOf(AwsProtocolError);
    expect(first).toMatchObject({ code: 'ProvisionedThroughputExceededException', statusCode: 400 });
    expect(faults.awsCall('dynamodb:UpdateItem', undefined)).toBeDefined();
    expect(faults.awsCall('dynamodb:UpdateItem', undefined)).toBeUndefined();
    expect(faults.get(id)).toMatchObject({ injected: 2, remaining: 0 });
  });

  it('matches a whole service and only bodies containing the given text', () => {
    const faults = new FaultInjector();
    faults.inject({ point: 'aws', action: 's3:*', code: 'SlowDown', bodyContains: 'VOTE', times: 5 });
    expect(faults.awsCall('s3:PutObject', Buffer.from('no'))).toBeUndefined();
    expect(faults.awsCall('s3:PutObject', undefined)).toBeUndefined();
    expect(faults.awsCall('s3:GetObject', Buffer.from('a VOTE'))).toMatchObject({
      code: 'SlowDown',
      statusCode: 503,
    });
  });

  it('fires a ratio by its random source, until cleared', () => {
    const draws = [0.1, 0.9, 0.2];
    const faults = new FaultInjector({ random: () => draws.shift() ?? 0 });
    faults.inject({ point: 'aws', action: 'kms:Sign', code: 'KMSInternalException', ratio: 0.5 });
    expect(faults.awsCall('kms:Sign', undefined)).toMatchObject({ statusCode: 500 });
    expect(faults.awsCall('kms:Sign', undefined)).toBeUndefined();
    expect(faults.awsCall('kms:Sign', undefined)).toBeDefined();
    faults.clear();
    expect(faults.awsCall('kms:Sign', undefined)).toBeUndefined();
    expect(faults.list()).toEqual([]);
  });

  it('refuses what AWS would never answer, and times with a ratio', () => {
    const faults = new FaultInjector();
    expect(() => faults.inject({ point: 'aws', action: 'dynamodb:PutItem', code: 'NoSuchKey' })).toThrow(
      /ProvisionedThroughputExceededException/,
    );
    expect(() => faults.inject({ point: 'aws', action: 'iam:AttachRolePolicy', code: 'Throttling' })).toThrow(
      /nothing/,
    );
    expect(() =>
      faults.inject({ point: 'aws', action: 'kms:Sign', code: 'ThrottlingException', times: 1, ratio: 0.5 }),
    ).toThrow(/not both/);
    expect(() => faults.inject({ point: 'put-events-entry', code: 'AccessDenied' })).toThrow(
      /InternalFailure/,
    );
  });

  it('rejects a PutEvents entry of the given detail type with a per-entry code', () => {
    const faults = new FaultInjector();
    faults.inject({ point: 'put-events-entry', detailType: 'Action Decided' });
    expect(faults.putEventsEntry({ DetailType: 'Action Requested' })).toBeUndefined();
    expect(faults.putEventsEntry({ DetailType: 'Action Decided' })).toEqual({
      ErrorCode: 'InternalFailure',
      ErrorMessage: 'Internal service failure.',
    });
    expect(faults.putEventsEntry({ DetailType: 'Action Decided' })).toBeUndefined();
  });

  it('answers as Slack and the Bot Framework do when overloaded', () => {
    const faults = new FaultInjector();
    faults.inject({ point: 'slack', method: 'chat.postMessage', retryAfterSeconds: 3 });
    faults.inject({ point: 'slack', status: 503 });
    faults.inject({ point: 'teams', method: 'conversations.sendActivity' });
    faults.inject({ point: 'teams-token', status: 401 });
    expect(faults.slack('chat.postMessage')).toEqual({
      status: 429,
      headers: { 'retry-after': '3' },
      body: { ok: false, error: 'ratelimited' },
    });
    expect(faults.slack('chat.update')).toMatchObject({ status: 503, body: { ok: false } });
    expect(faults.slack('chat.update')).toBeUndefined();
    expect(faults.teams('conversations.updateActivity')).toBeUndefined();
    expect(faults.teams('conversations.sendActivity')).toMatchObject({
      status: 503,
      body: { error: { code: 'ServiceError' } },
    });
    expect(faults.teamsToken()).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(faults.teamsToken()).toBeUndefined();
  });
});
