import { describe, expect, it } from 'vitest';
import type { Review } from '../../../../lambdas/domain/after-the-fact-review.ts';
import {
  reviewAlertFacts,
  slackReviewAlert,
  slackReviewReminder,
  teamsReviewAlertActivity,
} from '../../../../lambdas/domain/messages/review-alert.ts';

const CONSOLE = 'https://countersign.example.com/';
const eventId = '3f2e1d0c-9b8a-4776-a5b4-c3d2e1f0a9b8';

const unapproved: Review = {
  reviewId: `call:${eventId}`,
  kind: 'UNAPPROVED_CALL',
  status: 'OPEN',
  groups: ['security'],
  openedAt: '2026-11-22T09:40:01.000Z',
  requesters: ['invoice-bot', 'dave'],
  subject: {
    agentId: 'invoice-bot',
    action: 's3:PutBucketPolicy',
    eventId,
    resourceArn: 'arn:aws:s3:::exports',
    principalArn: 'arn:aws:iam::000000000000:user/agents/invoice-bot',
    eventTime: '2026-11-22T09:40:00Z',
    sourceIPAddress: '203.0.113.80',
    policy: 'data-export-needs-security',
  },
};

const breakGlass: Review = {
  ...unapproved,
  reviewId: 'request:invoice-bot:req-1',
  kind: 'BREAK_GLASS',
  groups: ['platform', 'security'],
  subject: {
    agentId: 'invoice-bot',
    action: 's3:DeleteBucketPolicy',
    requestId: 'invoice-bot:req-1',
    policy: 'bucket-policy-removal-break-glass',
    breakGlass: { reason: 'restore job *locked out* <!channel>', incident: 'INC-7' },
  },
};

const text = (value: unknown) => JSON.stringify(value);

describe('the alert of an unapproved call', () => {
  it('names who called what on which resource, from where, and links the console on the call', () => {
    const facts = reviewAlertFacts(unapproved, CONSOLE);
    expect(facts).toMatchObject({
      title: 'Unapproved privileged call: invoice-bot called s3:PutBucketPolicy',
      open: true,
      consoleLink: `https://countersign.example.com/?call=${eventId}`,
      status:
        'After-the-fact review open: security acknowledge it (with a reason) or escalate it in the console.',
    });
    expect(Object.fromEntries(facts.fields)).toMatchObject({
      Principal: 'arn:aws:iam::000000000000:user/agents/invoice-bot',
      Resource: 'arn:aws:s3:::exports',
      From: '203.0.113.80',
      'CloudTrail event': eventId,
    });
    const slack = slackReviewAlert(unapproved, CONSOLE);
    expect(slack.text).toContain('s3:PutBucketPolicy');
    expect(text(slack.blocks)).toContain('Review in console');
    const teams = teamsReviewAlertActivity(unapproved, CONSOLE);
    expect(teams.summary).toBe(facts.title);
    expect(teams.attachments[0].content.actions).toEqual([
      { type: 'Action.OpenUrl', title: 'Review in console', url: facts.consoleLink },
    ]);
  });

  it('says how it ended once closed, and what is unknown when the call named no resource', () => {
    const { resourceArn: _resource, sourceIPAddress: _ip, ...subject } = unapproved.subject;
    const closed: Review = {
      ...unapproved,
      status: 'ACKNOWLEDGED',
      closedBy: 'bob',
      reason: 'planned',
      subject,
    };
    const facts = reviewAlertFacts(closed, CONSOLE);
    expect(facts.status).toBe('Acknowledged by bob: planned');
    expect(facts.open).toBe(false);
    expect(Object.fromEntries(facts.fields)).toMatchObject({
      Resource: 'unknown (not in the call’s parameters)',
      From: 'unknown',
    });
    expect(text(slackReviewAlert(closed, CONSOLE).blocks)).toContain('Open in console');
    expect(teamsReviewAlertActivity(closed, CONSOLE).attachments[0].content.actions[0]?.title).toBe(
      'Open in console',
    );
    // A record without the identity fields (never from our own reconciliation) still renders.
    const { principalArn: _principal, eventTime: _time, eventId: _event, ...minimal } = subject;
    expect(
      Object.fromEntries(reviewAlertFacts({ ...closed, subject: minimal }, CONSOLE).fields),
    ).toMatchObject({
      Principal: '',
      When: '',
      'CloudTrail event': '',
    });
    expect(
      reviewAlertFacts({ ...closed, status: 'ESCALATED', reason: undefined as never }, CONSOLE).status,
    ).toBe('Escalated by bob');
    const { closedBy: _by, reason: _reason, ...anonymous } = closed;
    expect(reviewAlertFacts({ ...anonymous, status: 'WITHDRAWN' }, CONSOLE).status).toBe('Withdrawn');
  });
});

describe('the alert of a break-glass request', () => {
  it('shows the agent’s reason as written, never formatted, with the incident, linking the request', () => {
    const facts = reviewAlertFacts(breakGlass, CONSOLE);
    expect(facts.title).toBe(
      'Break-glass: invoice-bot runs s3:DeleteBucketPolicy without waiting for approval',
    );
    expect(facts.consoleLink).toBe('https://countersign.example.com/?request=invoice-bot:req-1');
    expect(Object.fromEntries(facts.fields)).toMatchObject({
      Incident: 'INC-7',
      Reviewers: 'platform or security',
    });
    const slack = slackReviewAlert(breakGlass, CONSOLE);
    const reason = slack.blocks.find((block) => text(block).includes('restore job'));
    expect(reason).toMatchObject({ type: 'section', text: { type: 'plain_text' } });
    const card = teamsReviewAlertActivity(breakGlass, CONSOLE, 'Escalation').attachments[0].content;
    expect(text(card.body)).toContain('Reason given by the agent');
    expect(text(card.body)).toContain('Escalation');
    expect(text(card.body)).not.toContain('*locked out*');
  });

  it('says when no incident was given', () => {
    const { incident: _incident, ...noIncident } = breakGlass.subject.breakGlass!;
    const review = { ...breakGlass, subject: { ...breakGlass.subject, breakGlass: noIncident } };
    expect(Object.fromEntries(reviewAlertFacts(review, CONSOLE).fields).Incident).toBe('none given');
    const { breakGlass: _glass, requestId: _request, ...bare } = breakGlass.subject;
    const facts = reviewAlertFacts({ ...breakGlass, subject: bare }, CONSOLE);
    expect(facts.agentText).toBe('');
    expect(facts.consoleLink).toBe('https://countersign.example.com/?call=');
  });
});

describe('reminders and escalations', () => {
  it('reminds under the alert, and escalates to everyone in the channel with the console button', () => {
    const reminder = slackReviewReminder(
      unapproved,
      { reviewId: unapproved.reviewId, step: 'reminder-3600', escalation: false, dueAt: 'x' },
      CONSOLE,
    );
    expect(reminder.text).toMatch(
      /^Reminder: .* is still waiting for its review \(open since 2026-11-22T09:40:01.000Z\)\.$/,
    );
    expect(text(reminder.blocks)).not.toContain('<!here>');
    const escalation = slackReviewReminder(
      unapproved,
      { reviewId: unapproved.reviewId, step: 'escalation-1', escalation: true, dueAt: 'x' },
      CONSOLE,
    );
    expect(escalation.text).toMatch(/^Escalation: /);
    expect(text(escalation.blocks)).toContain('<!here>');
    expect(text(escalation.blocks)).toContain('Review in console');
  });
});
