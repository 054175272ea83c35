import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../../../../lambdas/domain/audit-record.ts';
import type { RequestRecord } from '../../../../../lambdas/domain/schemas.ts';
import {
  adaptiveCardToLines,
  barChart,
  classificationView,
  computeStats,
  eligibilityNotice,
  filterRequests,
  formatDuration,
  outboxView,
  percentile,
  prettyParameters,
  quorumProgress,
  slackBlocksToLines,
  statusBadge,
  timeLeft,
  timelineView,
} from '../../../../../local/product/console/view-model.ts';

const hash = 'a'.repeat(64);

function request(overrides: Partial<RequestRecord> = {}): RequestRecord {
  return {
    requestId: 'invoice-bot:req-1',
    clientRequestId: 'req-1',
    status: 'PENDING',
    agent: { id: 'invoice-bot', onBehalfOf: 'dave' },
    requesters: ['invoice-bot', 'dave'],
    action: 'iam:AttachRolePolicy',
    resource: { arn: 'arn:aws:iam::123456789012:role/x' },
    parameters: { policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess', roleName: 'x' },
    justification: 'because',
    actionHash: hash,
    policy: {
      decision: 'REQUIRE_APPROVAL',
      groups: ['platform'],
      quorum: 2,
      timeoutSeconds: 1800,
      stepUp: false,
      policyIds: ['iam-admin'],
      reason: 'admin needs two',
    },
    votes: [],
    approvers: [],
    executionArn: 'arn:aws:states:local:000000000000:execution:sm:1',
    sourceEventId: 'e-1',
    createdAt: '2026-11-20T10:00:00.000Z',
    ...overrides,
  };
}

describe('durations and deadlines', () => {
  it.each([
    [-5, '0s'],
    [12_000, '12s'],
    [250_000, '4m 10s'],
    [7_500_000, '2h 5m'],
    [90_000_000, '1d 1h'],
  ])('formats %i ms as %s', (ms, text) => expect(formatDuration(ms)).toBe(text));

  it('says how long is left, that it expired, or that there is no deadline', () => {
    const now = new Date('2026-11-20T10:00:00.000Z');
    expect(timeLeft({ expiresAt: '2026-11-20T10:30:00.000Z' }, now)).toBe('30m 0s left');
    expect(timeLeft({ expiresAt: '2026-11-20T09:59:59.000Z' }, now)).toBe('expired');
    expect(timeLeft({}, now)).toBe('no deadline');
  });
});

describe('quorum progress', () => {
  it('counts distinct approvers and lists every vote with its reason', () => {
    const progress = quorumProgress(
      request({
        votes: [
          { voterId: 'carol', vote: 'approve', channel: 'console', at: '2026-11-20T10:01:00.000Z' },
          {
            voterId: 'erin',
            vote: 'deny',
            reason: 'too broad',
            channel: 'slack',
            at: '2026-11-20T10:02:00.000Z',
          },
        ],
      }),
    );
    expect(progress.approvals).toBe(1);
    expect(progress.label).toBe('1 of 2 approvals from platform');
    expect(progress.voters).toEqual([
      { id: 'carol', vote: 'approve' },
      { id: 'erin', vote: 'deny', reason: 'too broad' },
    ]);
  });
});

describe('eligibility notice', () => {
  it('explains why someone cannot vote, and says nothing when they can', () => {
    expect(eligibilityNotice(undefined)).toBe('Sign in to vote.');
    expect(eligibilityNotice({ eligible: true })).toBeUndefined();
    expect(eligibilityNotice({ eligible: false, code: 'REQUESTER', message: 'you asked for it' })).toBe(
      'you asked for it',
    );
  });
});

describe('history filters', () => {
  const items = [
    request({
      requestId: 'a',
      status: 'APPROVED',
      decision: 'APPROVED',
      createdAt: '2026-11-18T09:00:00.000Z',
      votes: [{ voterId: 'carol', vote: 'approve', channel: 'api', at: '2026-11-18T09:01:00.000Z' }],
    }),
    request({
      requestId: 'b',
      action: 's3:CopyObject',
      agent: { id: 'report-bot' },
      createdAt: '2026-11-20T09:00:00.000Z',
    }),
  ];
  const ids = (filter: Parameters<typeof filterRequests>[1]) =>
    filterRequests(items, filter).map((r) => r.requestId);

  it('filters by status, action, agent, approver and inclusive date range', () => {
    expect(ids({})).toEqual(['a', 'b']);
    expect(ids({ status: 'APPROVED' })).toEqual(['a']);
    expect(ids({ status: '' })).toEqual(['a', 'b']);
    expect(ids({ action: 'COPYOBJECT' })).toEqual(['b']);
    expect(ids({ agent: 'report' })).toEqual(['b']);
    expect(ids({ approver: 'carol' })).toEqual(['a']);
    expect(ids({ approver: '' })).toEqual(['a', 'b']);
    expect(ids({ from: '2026-11-19' })).toEqual(['b']);
    expect(ids({ to: '2026-11-18' })).toEqual(['a']);
    expect(ids({ from: '', to: '' })).toEqual(['a', 'b']);
  });
});

describe('stats', () => {
  it('uses nearest-rank percentiles', () => {
    expect(percentile([], 0.5)).toBeUndefined();
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(percentile([1, 2, 3, 4], 0.95)).toBe(4);
    expect(percentile([7], 0)).toBe(7);
  });

  it('counts outcomes and time to decision per day, oldest first', () => {
    const stats = computeStats([
      request({
        requestId: 'a',
        status: 'APPROVED',
        decision: 'APPROVED',
        createdAt: '2026-11-21T10:00:00.000Z',
        decidedAt: '2026-11-21T10:01:00.000Z',
      }),
      request({
        requestId: 'b',
        status: 'DENIED',
        decision: 'POLICY_DENIED',
        createdAt: '2026-11-20T10:00:00.000Z',
        decidedAt: '2026-11-20T10:00:02.000Z',
      }),
      request({
        requestId: 'c',
        status: 'APPROVED',
        decision: 'AUTO_APPROVED',
        createdAt: '2026-11-21T11:00:00.000Z',
      }),
      request({ requestId: 'd', createdAt: '2026-11-21T12:00:00.000Z' }),
    ]);
    expect(stats.total).toBe(4);
    expect(stats.pending).toBe(1);
    expect(stats.byDecision).toEqual({ APPROVED: 1, POLICY_DENIED: 1, AUTO_APPROVED: 1 });
    expect(stats.medianSecondsToDecision).toBe(2);
    expect(stats.p95SecondsToDecision).toBe(60);
    expect(stats.days.map((d) => [d.day, d.total, d.medianSecondsToDecision])).toEqual([
      ['2026-11-20', 1, 2],
      ['2026-11-21', 3, 60],
    ]);
  });

  it('has no time to decision when nothing was decided', () => {
    const stats = computeStats([request()]);
    expect(stats.medianSecondsToDecision).toBeUndefined();
    expect(stats.days[0]?.p95SecondsToDecision).toBeUndefined();
  });

  it('lays bars out proportionally from the bottom', () => {
    expect(barChart([], 100, 50)).toEqual([]);
    const bars = barChart(
      [
        { label: 'a', value: 2 },
        { label: 'b', value: 4 },
      ],
      100,
      50,
    );
    expect(bars.map((bar) => [bar.height, bar.y])).toEqual([
      [25, 25],
      [50, 0],
    ]);
    expect(bars[1]?.x).toBeGreaterThan(bars[0]?.x ?? Number.POSITIVE_INFINITY);
    expect(barChart([{ label: 'zero', value: 0 }], 10, 10)[0]?.height).toBe(0);
  });
});

describe('chat outbox rendering', () => {
  it('renders Slack blocks: text, fields, buttons and context', () => {
    const lines = slackBlocksToLines([
      {
        type: 'section',
        text: { type: 'mrkdwn', text: '*invoice-bot* wants iam:AttachRolePolicy' },
        fields: [{ type: 'mrkdwn', text: 'Quorum: 2' }],
      },
      { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Approve' } }] },
      { type: 'context', elements: [{ type: 'mrkdwn', text: 'expires in 30m' }] },
      'not a block',
    ]);
    expect(lines).toEqual([
      '*invoice-bot* wants iam:AttachRolePolicy',
      'Quorum: 2',
      '[Approve]',
      'expires in 30m',
    ]);
    expect(slackBlocksToLines(undefined)).toEqual([]);
  });

  it('renders Adaptive Cards depth first', () => {
    const lines = adaptiveCardToLines({
      type: 'AdaptiveCard',
      body: [
        { type: 'TextBlock', text: 'Approval needed' },
        {
          type: 'Container',
          items: [{ type: 'FactSet', facts: [{ title: 'Action', value: 's3:CopyObject' }, 'x'] }],
        },
      ],
      actions: [{ type: 'Action.Execute', title: 'Approve', verb: 'approve' }],
    });
    expect(lines).toEqual(['Approval needed', 'Action: s3:CopyObject', '[Approve]']);
  });

  it('titles each entry by channel and method and falls back to plain text', () => {
    expect(
      outboxView({
        channel: 'slack',
        method: 'chat.update',
        at: 't',
        body: { channel: 'C1', text: 'fallback' },
      }),
    ).toEqual({ channel: 'slack', at: 't', title: 'Slack chat.update → C1', lines: ['fallback'] });
    expect(outboxView({ channel: 'slack', method: 'chat.postMessage', at: 't', body: null }).lines).toEqual(
      [],
    );
    const card = { type: 'AdaptiveCard', body: [{ type: 'TextBlock', text: 'Decided' }] };
    expect(
      outboxView({
        channel: 'teams',
        method: 'updateActivity',
        at: 't',
        body: { attachments: [{ content: card }] },
      }).lines,
    ).toEqual(['Decided']);
    expect(outboxView({ channel: 'teams', method: 'sendActivity', at: 't', body: card }).lines).toEqual([
      'Decided',
    ]);
    expect(
      outboxView({ channel: 'teams', method: 'sendActivity', at: 't', body: { text: 'hi' } }).lines,
    ).toEqual(['hi']);
    expect(outboxView({ channel: 'teams', method: 'sendActivity', at: 't', body: 'raw' }).lines).toEqual([]);
  });
});

describe('timeline and formatting', () => {
  it('orders the timeline and describes each fact', () => {
    const stored = { schemaVersion: 1, seq: 1 } as const;
    const records: AuditRecord[] = [
      {
        ...stored,
        requestId: 'invoice-bot:r',
        kind: 'DECIDED',
        key: 'DECIDED',
        at: '2026-11-20T10:05:00.000Z',
        actor: 'system',
        data: { decision: 'APPROVED', approvers: ['carol'] },
      },
      {
        ...stored,
        requestId: 'invoice-bot:r',
        kind: 'REQUESTED',
        key: 'REQUESTED',
        at: '2026-11-20T10:00:00.000Z',
        actor: 'invoice-bot',
        data: {
          action: 's3:CopyObject',
          resource: 'arn:aws:s3:::b/k',
          actionHash: 'a'.repeat(64),
          sourceEventId: 'e',
          executionArn: 'x',
        },
      },
      {
        ...stored,
        requestId: 'invoice-bot:r',
        kind: 'VOTED',
        key: 'VOTED#carol',
        at: '2026-11-20T10:04:00.000Z',
        actor: 'carol',
        data: { vote: 'approve', channel: 'api' },
      },
      {
        ...stored,
        requestId: 'invoice-bot:r',
        kind: 'REFUSED',
        key: 'REFUSED#erin#NOT_IN_GROUP',
        at: '2026-11-20T10:03:00.000Z',
        actor: 'erin',
        data: { channel: 'console', code: 'NOT_IN_GROUP', vote: 'approve' },
      },
      {
        ...stored,
        requestId: 'invoice-bot:r',
        kind: 'EVALUATED',
        key: 'EVALUATED',
        at: '2026-11-20T10:00:01.000Z',
        actor: 'policy',
        data: {
          decision: 'REQUIRE_APPROVAL',
          groups: ['platform'],
          quorum: 1,
          timeoutSeconds: 60,
          stepUp: false,
          policyIds: ['a', 'b'],
          reason: '',
        },
      },
    ];
    expect(timelineView(records).map((entry) => `${entry.label}: ${entry.detail}`)).toEqual([
      'Requested: invoice-bot',
      'Evaluated: policy · decision: REQUIRE_APPROVAL · reason:  · policyIds: a, b',
      'Vote refused: erin · vote: approve · code: NOT_IN_GROUP',
      'Vote: carol · vote: approve',
      'Decided: system · decision: APPROVED',
    ]);
  });

  it('pretty-prints parameters with sorted keys at every depth', () => {
    expect(prettyParameters({ b: 1, a: { d: [{ z: 1, y: 2 }], c: 'x' } })).toBe(
      JSON.stringify({ a: { c: 'x', d: [{ y: 2, z: 1 }] }, b: 1 }, null, 2),
    );
  });

  it('badges pending and decided requests with a tone', () => {
    expect(statusBadge({ status: 'PENDING' })).toEqual({ text: 'PENDING', tone: 'pending' });
    expect(statusBadge({ status: 'APPROVED', decision: 'AUTO_APPROVED' })).toEqual({
      text: 'AUTO APPROVED',
      tone: 'good',
    });
    expect(statusBadge({ status: 'DENIED', decision: 'POLICY_DENIED' })).toEqual({
      text: 'POLICY DENIED',
      tone: 'bad',
    });
    expect(statusBadge({ status: 'EXPIRED', decision: 'EXPIRED' })).toEqual({
      text: 'EXPIRED',
      tone: 'neutral',
    });
  });
});

describe('classification in the console', () => {
  const classified = {
    status: 'CLASSIFIED' as const,
    severity: 'High' as const,
    categories: ['FINANCIAL_INFORMATION', 'PERSONAL_INFORMATION'],
    types: ['CREDIT_CARD_NUMBER', 'USA_SOCIAL_SECURITY_NUMBER'],
    findingIds: ['f-1'],
    source: 'macie' as const,
    classifiedAt: '2026-11-22T08:00:00.000Z',
    subject: 's3://finance-exports/cards.csv',
  };

  it('is in words with its severity colour; a failed classification is coloured as High', () => {
    expect(classificationView(classified)).toEqual({
      text: 'High: financial information, personal information',
      level: 'high',
      types: 'CREDIT_CARD_NUMBER, USA_SOCIAL_SECURITY_NUMBER',
      subject: 's3://finance-exports/cards.csv',
    });
    expect(classificationView({ ...classified, severity: 'Medium' }).level).toBe('medium');
    const failed = {
      ...classified,
      status: 'FAILED' as const,
      severity: null,
      categories: [],
      types: [],
      findingIds: [],
      classifiedAt: null,
      reason: 'timed out',
    };
    expect(classificationView(failed)).toMatchObject({
      text: 'classification failed (treated as High): timed out',
      level: 'high',
      types: '',
    });
    const { subject: _subject, ...unsubjected } = classified;
    expect(classificationView({ ...unsubjected, severity: null, categories: [], types: [] })).toEqual({
      text: 'nothing sensitive found',
      level: 'none',
      types: '',
    });
    expect(classificationView(undefined)).toEqual({
      text: 'not an S3 resource',
      level: 'unknown',
      types: '',
    });
  });
});
