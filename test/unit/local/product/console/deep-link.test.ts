import { describe, expect, it } from 'vitest';
import {
  callView,
  deepLinkedCall,
  deepLinkedRequest,
} from '../../../../../local/product/console/view-model.ts';

describe('deepLinkedRequest', () => {
  it('reads the request a chat review links to', () => {
    expect(deepLinkedRequest('?request=req-42')).toBe('req-42');
    expect(deepLinkedRequest('?tab=x&request=e2e%2F1%20a')).toBe('e2e/1 a');
  });

  it('is undefined without a request', () => {
    expect(deepLinkedRequest('')).toBeUndefined();
    expect(deepLinkedRequest('?request=')).toBeUndefined();
    expect(deepLinkedRequest('?other=1')).toBeUndefined();
  });
});

describe('deepLinkedCall', () => {
  it('reads the call an unapproved-call alert links to, and nothing else', () => {
    expect(deepLinkedCall('?call=3f2e1d0c-9b8a')).toBe('3f2e1d0c-9b8a');
    expect(deepLinkedCall('?call=')).toBeUndefined();
    expect(deepLinkedCall('?request=req-1')).toBeUndefined();
  });
});

describe('callView', () => {
  const call = {
    eventId: 'e1',
    eventName: 'PutBucketPolicy',
    eventSource: 's3.amazonaws.com',
    action: 's3:PutBucketPolicy',
    principalArn: 'arn:aws:iam::000000000000:user/agents/invoice-bot',
    eventTime: '2026-11-22T09:40:00Z',
    status: 'UNAPPROVED',
  } as const;

  it('says who called what on which resource, and how the review stands', () => {
    expect(
      callView({
        ...call,
        agentId: 'invoice-bot',
        resourceArn: 'arn:aws:s3:::exports',
        review: {
          reviewId: 'call:e1',
          kind: 'UNAPPROVED_CALL',
          status: 'ACKNOWLEDGED',
          groups: ['security'],
          openedAt: '2026-11-22T09:40:01Z',
          closedBy: 'bob',
          reason: 'planned',
        },
      }),
    ).toEqual({
      who: 'invoice-bot (arn:aws:iam::000000000000:user/agents/invoice-bot)',
      what: 's3:PutBucketPolicy',
      resource: 'arn:aws:s3:::exports',
      outcome: 'UNAPPROVED; review ACKNOWLEDGED by bob: planned',
      reviewOpen: false,
    });
  });

  it('names the covering request, and a principal that is no agent by its ARN', () => {
    expect(
      callView({ ...call, status: 'MATCHED', agentId: 'invoice-bot', requestId: 'invoice-bot:r1' }),
    ).toMatchObject({
      outcome: 'MATCHED by invoice-bot:r1',
      resource: 'unknown',
      reviewOpen: false,
    });
    expect(callView({ ...call, status: 'NOT_AN_AGENT' }).who).toBe(call.principalArn);
  });
});
