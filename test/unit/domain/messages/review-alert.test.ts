import { describe, expect, it } from 'vitest';
import type { Review } from '../../../../lambdas/domain/after-the-fact-review.ts';
import {
  reviewAlertFacts,
  SLACK_REVIEW_IDS,
  slackAcknowledgeModal,
  slackReviewAlert,
  slackReviewReminder,
  teamsReviewAlertActivity,
} from '../../../../lambdas/domain/messages/review-alert.ts';
import { openReview } from '../../chat/review-record.ts';

const CONSOLE = 'https://countersign.example.com/';

const unapproved: Review = openReview({ openedAt: '2026-11-22T09:40:01.000Z' });
const eventId = unapproved.subject.eventId!;

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
        'After-the-fact review open: security acknowledge it (with a reason) or escalate it, here or in the console.',
    });
    expect(Object.fromEntries(facts.fields)).toMatchObject({
      Principal: 'arn:aws:iam::000000000000:user/agents/invoice-bot',
      Resource: 'arn:aws:s3:::exports',
      From: '203.0.113.80',
      'CloudTrail event': eventId,
    });
    const slack = slackReviewAlert(unapproved, CONSOLE);
    expect(slack.text).toContain('s3:PutBucketPolicy');
    expect(slack.blocks.at(-1)).toEqual({
      type: 'actions',
      block_id: SLACK_REVIEW_IDS.actionsBlock,
      elements: [
        expect.objectContaining({
          action_id: SLACK_REVIEW_IDS.acknowledgeAction,
          text: expect.objectContaining({ text: 'Acknowledge' }),
          value: unapproved.reviewId,
        }),
        expect.objectContaining({
          action_id: SLACK_REVIEW_IDS.escalateAction,
          text: expect.objectContaining({ text: 'Escalate' }),
          value: unapproved.reviewId,
        }),
        expect.objectContaining({
          action_id: SLACK_REVIEW_IDS.consoleAction,
          text: expect.objectContaining({ text: 'Review in console' }),
          url: facts.consoleLink,
        }),
      ],
    });
    const teams = teamsReviewAlertActivity(unapproved, CONSOLE);
    expect(teams.summary).toBe(facts.title);
    const card = teams.attachments[0].content;
    const data = (verb: string) => ({ reviewId: unapproved.reviewId, verb });
    expect(card.actions).toEqual([
      expect.objectContaining({ type: 'Action.Execute', verb: 'acknowledge', data: data('acknowledge') }),
      expect.objectContaining({ type: 'Action.Execute', verb: 'escalate', data: data('escalate') }),
      { type: 'Action.OpenUrl', title: 'Review in console', url: facts.consoleLink },
    ]);
    expect(card.actions[0]).toMatchObject({
      associatedInputs: 'auto',
      fallback: { type: 'Action.Submit', data: data('acknowledge') },
    });
    expect(card.body.at(-1)).toMatchObject({ type: 'Input.Text', id: 'reason', maxLength: 2000 });
  });

  it('asks for the reason to acknowledge in a modal that Slack will not submit empty', () => {
    const modal = slackAcknowledgeModal(unapproved, '{"reviewId":"x","channelId":"C1"}', CONSOLE);
    expect(modal).toMatchObject({
      type: 'modal',
      callback_id: SLACK_REVIEW_IDS.acknowledgeModal,
      private_metadata: '{"reviewId":"x","channelId":"C1"}',
      submit: { text: 'Acknowledge' },
    });
    expect(String(modal.title.text).length).toBeLessThanOrEqual(24);
    expect(modal.blocks.at(-1)).toMatchObject({
      type: 'input',
      block_id: SLACK_REVIEW_IDS.reasonBlock,
      element: { action_id: SLACK_REVIEW_IDS.reasonInput, min_length: 1, max_length: 2000 },
    });
    expect(text(modal.blocks)).toContain('invoice-bot called s3:PutBucketPolicy');
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
    // Who, how, where and why; the reviewer's words shown as written, the controls gone.
    const fromSlack: Review = { ...closed, channel: 'slack', reason: 'planned *drill* <!here>' };
    expect(reviewAlertFacts(fromSlack, CONSOLE).status).toBe(
      'Acknowledged by bob in Slack: planned *drill* <!here>',
    );
    const slackClosed = slackReviewAlert(fromSlack, CONSOLE);
    expect(text(slackClosed.blocks)).toContain('planned *drill* &lt;!here&gt;');
    expect(text(slackClosed.blocks)).not.toContain('<!here>');
    expect(text(slackClosed.blocks)).not.toContain(SLACK_REVIEW_IDS.acknowledgeAction);
    expect(text(slackClosed.blocks)).not.toContain(SLACK_REVIEW_IDS.escalateAction);
    const teamsClosed = teamsReviewAlertActivity({ ...fromSlack, channel: 'teams' }, CONSOLE).attachments[0]
      .content;
    expect(text(teamsClosed.body)).toContain('Acknowledged by bob in Teams: planned \\\\*drill\\\\*');
    expect(text(teamsClosed.body)).not.toContain('Input.Text');
    expect(text(teamsClosed.actions)).not.toContain('Action.Execute');
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
    // The escalation carries the controls too: whoever the @here reaches can close it from there.
    expect(text(escalation.blocks)).toContain(SLACK_REVIEW_IDS.acknowledgeAction);
    expect(text(escalation.blocks)).toContain(SLACK_REVIEW_IDS.escalateAction);
    expect(text(reminder.blocks)).not.toContain(SLACK_REVIEW_IDS.acknowledgeAction);
  });
});
