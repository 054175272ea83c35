import { describe, expect, it } from 'vitest';
import { dueReminders } from '../../../lambdas/domain/messages/reminders.ts';
import { listEntries, reviewFacts } from '../../../lambdas/domain/messages/review-facts.ts';
import {
  escapeMrkdwn,
  SLACK_IDS,
  slackDecisionDm,
  slackDenyModal,
  slackReminder,
  slackReviewMessage,
  slackStepUpModal,
} from '../../../lambdas/domain/messages/slack-review.ts';
import {
  escapeMarkdown,
  TEAMS_INPUTS,
  TEAMS_VERBS,
  teamsCardResponse,
  teamsErrorResponse,
  teamsMessageResponse,
  teamsReviewActivity,
  teamsReviewCard,
} from '../../../lambdas/domain/messages/teams-review.ts';
import { resourceNameOf } from '../../../lambdas/domain/step-up.ts';
import { pendingRecord, vote } from './review-record.ts';

const consoleUrl = 'http://127.0.0.1:4710/';
const json = (value: unknown) => JSON.stringify(value);

type Block = { type: string; block_id?: string; elements?: Array<{ action_id?: string; value?: string }> };
const actionsOf = (blocks: readonly unknown[]) =>
  (blocks as Block[]).find((block) => block.block_id === SLACK_IDS.actionsBlock)?.elements ?? [];

describe('review facts', () => {
  it('derives the resource name a step-up reviewer types', () => {
    expect(resourceNameOf('arn:aws:s3:::finance-exports/2024/invoices.csv')).toBe('invoices.csv');
    expect(resourceNameOf('arn:aws:s3:::finance-exports')).toBe('finance-exports');
    expect(resourceNameOf('arn:aws:iam::123456789012:role/Admin')).toBe('Admin');
    expect(resourceNameOf('arn:aws:kms:us-east-1:123456789012:key/')).toBe('key');
    expect(resourceNameOf('arn:aws:s3:::')).toBe('arn:aws:s3:::');
  });

  it('lists at most eight entries, shortening long values and counting the rest', () => {
    const many = Object.fromEntries(
      Array.from({ length: 10 }, (_, i) => [`k${i}`, i === 0 ? 'x'.repeat(300) : { n: i }]),
    );
    const listed = listEntries(many);
    expect(listed.entries).toHaveLength(8);
    expect(listed.entries[0]?.[1]).toHaveLength(200);
    expect(listed.entries[1]).toEqual(['k1', '{"n":1}']);
    expect(listed.omitted).toBe(2);
  });

  it('describes progress, denials and each outcome with who decided', () => {
    expect(reviewFacts(pendingRecord(), consoleUrl)).toMatchObject({
      progress: '0 of 2 approvals',
      quorum: '2 from security',
      decided: false,
      outcome: undefined,
      consoleLink: 'http://127.0.0.1:4710/?request=invoice-bot:req-42',
    });
    const denied = pendingRecord({
      status: 'DENIED',
      decision: 'DENIED',
      reason: 'not this quarter',
      votes: [vote('alice', 'approve'), vote('bob', 'deny', 'not this quarter')],
      approvers: ['alice'],
    });
    expect(reviewFacts(denied, consoleUrl)).toMatchObject({
      progress: '1 of 2 approvals, 1 denied',
      outcome: 'Denied by bob: not this quarter',
      decided: true,
    });
    const approved = pendingRecord({ status: 'APPROVED', decision: 'APPROVED', approvers: ['alice', 'bob'] });
    expect(reviewFacts(approved, consoleUrl).outcome).toBe('Approved by alice, bob');
    const expired = pendingRecord({ status: 'EXPIRED', decision: 'EXPIRED' });
    expect(reviewFacts(expired, consoleUrl).outcome).toBe('Expired without a decision');
    const oddlyPending = pendingRecord({ status: 'APPROVED' });
    expect(reviewFacts(oddlyPending, consoleUrl).outcome).toBeUndefined();
  });

  it('falls back to the policy reason, a quorum of at least one, and no classification', () => {
    const record = pendingRecord({
      policy: { ...pendingRecord().policy, policyIds: [], quorum: 0, groups: ['security', 'platform'] },
    });
    expect(reviewFacts(record, consoleUrl)).toMatchObject({
      policy: 'data export',
      quorum: '1 from security or platform',
      classification: undefined,
    });
  });
});

describe('Slack review message', () => {
  it('shows who, what, where, why, policy, quorum, expiry and Approve/Deny carrying the request id', () => {
    const message = slackReviewMessage(
      pendingRecord({ classification: { severity: 'High', categories: ['FINANCIAL_INFORMATION'] } }),
      consoleUrl,
    );
    const body = json(message.blocks);
    for (const expected of [
      '*invoice-bot* on behalf of *dave*',
      's3:CopyObject',
      'arn:aws:s3:::finance-exports/2024/invoices.csv',
      'Quarterly invoice export for the auditors',
      '`Destination`: partner-drop',
      'Data classification',
      'FINANCIAL_INFORMATION',
      'data-export-needs-security',
      '2 from security',
      '<!date^1715698800^',
      '0 of 2 approvals',
      '?request=invoice-bot:req-42',
    ]) {
      expect(body).toContain(expected);
    }
    expect(message.text).toContain('approval needed (0 of 2 approvals)');
    const actions = actionsOf(message.blocks);
    expect(actions.map((a) => a.action_id)).toEqual([
      SLACK_IDS.approveAction,
      SLACK_IDS.denyAction,
      SLACK_IDS.consoleAction,
    ]);
    expect(actions.slice(0, 2).map((a) => a.value)).toEqual(['invoice-bot:req-42', 'invoice-bot:req-42']);
  });

  it('escapes agent-written text so it cannot mention the channel or forge links', () => {
    const message = slackReviewMessage(
      pendingRecord({ justification: '<!channel> see <https://evil|docs> & more\nline two', parameters: {} }),
      consoleUrl,
    );
    const body = json(message.blocks);
    expect(body).not.toContain('<!channel>');
    expect(body).toContain('&lt;!channel&gt; see &lt;https://evil|docs&gt; &amp; more\\n>line two');
    expect(body).not.toContain('Key parameters');
    expect(escapeMrkdwn('a<b>&c')).toBe('a&lt;b&gt;&amp;c');
  });

  it('marks step-up requests, omits a missing expiry and the agent owner when there is none', () => {
    const record = pendingRecord({
      agent: { id: 'invoice-bot' },
      expiresAt: undefined,
      policy: { ...pendingRecord().policy, stepUp: true },
    });
    const body = json(slackReviewMessage(record, consoleUrl).blocks);
    expect(body).toContain('(step-up confirmation)');
    expect(body).not.toContain('Expires');
    expect(body).not.toContain('on behalf of');
  });

  it('after a vote shows who voted and the progress, keeping the buttons', () => {
    const record = pendingRecord({ votes: [vote('alice', 'approve')] });
    const message = slackReviewMessage(record, consoleUrl);
    expect(json(message.blocks)).toContain('✅ alice approved');
    expect(json(message.blocks)).toContain('1 of 2 approvals');
    expect(actionsOf(message.blocks)).toHaveLength(3);
  });

  it('once decided shows the outcome with the vote buttons removed', () => {
    const record = pendingRecord({
      status: 'DENIED',
      decision: 'DENIED',
      reason: 'wrong <bucket>',
      votes: [vote('bob', 'deny', 'wrong <bucket>')],
    });
    const message = slackReviewMessage(record, consoleUrl);
    expect(json(message.blocks)).toContain('*Denied by bob: wrong &lt;bucket&gt;*');
    expect(json(message.blocks)).toContain('⛔ bob denied — wrong &lt;bucket&gt;');
    expect(actionsOf(message.blocks).map((a) => a.action_id)).toEqual([SLACK_IDS.consoleAction]);
    expect(message.text).toContain('Denied by bob');
  });

  it('builds the deny modal with a required reason and the step-up modal naming the resource', () => {
    const deny = slackDenyModal(pendingRecord(), '{"requestId":"req-42"}');
    expect(deny).toMatchObject({
      type: 'modal',
      callback_id: SLACK_IDS.denyModal,
      private_metadata: '{"requestId":"req-42"}',
    });
    const reasonInput = deny.blocks.find((block) => block.block_id === SLACK_IDS.reasonBlock);
    expect(reasonInput).toMatchObject({
      type: 'input',
      element: { action_id: SLACK_IDS.reasonInput, min_length: 1 },
    });
    expect(reasonInput).not.toHaveProperty('optional');
    const stepUp = slackStepUpModal(pendingRecord(), 'meta', consoleUrl);
    expect(stepUp.callback_id).toBe(SLACK_IDS.stepUpModal);
    expect(json(stepUp.blocks)).toContain('Type *invoices.csv* to confirm');
  });

  it('tells the human behind the agent the decision, and the progress if not yet decided', () => {
    const decided = pendingRecord({ status: 'APPROVED', decision: 'APPROVED', approvers: ['alice', 'bob'] });
    expect(slackDecisionDm(decided, consoleUrl).text).toBe(
      "Your agent invoice-bot's request to run s3:CopyObject on arn:aws:s3:::finance-exports/2024/invoices.csv: Approved by alice, bob",
    );
    expect(slackDecisionDm(pendingRecord(), consoleUrl).text).toContain('0 of 2 approvals');
  });

  it('builds a reminder with the expiry', () => {
    const reminder = {
      requestId: 'invoice-bot:req-42',
      leadSeconds: 600,
      dueAt: '2024-05-14T14:50:00.000Z',
      expiresAt: '2024-05-14T15:00:00.000Z',
    };
    const message = slackReminder(pendingRecord(), reminder, consoleUrl);
    expect(message.text).toContain('still needs approval (0 of 2 approvals)');
    expect(json(message.blocks)).toContain('<!date^1715698800^');
  });
});

describe('Teams review card', () => {
  type Element = { type: string; id?: string; verb?: string; data?: unknown; fallback?: { type: string } };

  it('is an Adaptive Card 1.5 with Action.Execute approve/deny, Action.Submit fallback and a reason input', () => {
    const card = teamsReviewCard(pendingRecord({ classification: { severity: 'High' } }), consoleUrl);
    expect(card).toMatchObject({ type: 'AdaptiveCard', version: '1.5' });
    const actions = card.actions as Element[];
    expect(actions.map((a) => a.verb)).toEqual([TEAMS_VERBS.approve, TEAMS_VERBS.deny, undefined]);
    expect(actions[0]).toMatchObject({
      type: 'Action.Execute',
      data: { requestId: 'invoice-bot:req-42' },
      fallback: { type: 'Action.Submit' },
    });
    const inputs = (card.body as Element[]).filter((e) => e.type === 'Input.Text').map((e) => e.id);
    expect(inputs).toEqual([TEAMS_INPUTS.reason]);
    const body = json(card.body);
    for (const expected of [
      'invoice\\\\-bot on behalf of dave',
      'Data classification',
      '{{DATE(2024-05-14T15:00:00Z, SHORT)}}',
      'Progress: 0 of 2 approvals',
    ]) {
      expect(body).toContain(expected);
    }
  });

  it('asks step-up reviewers to type the resource name, without an owner or expiry when absent', () => {
    const card = teamsReviewCard(
      pendingRecord({
        agent: { id: 'bot' },
        expiresAt: undefined,
        parameters: {},
        policy: { ...pendingRecord().policy, stepUp: true },
      }),
      consoleUrl,
    );
    const inputs = (card.body as Element[]).filter((e) => e.type === 'Input.Text').map((e) => e.id);
    expect(inputs).toEqual([TEAMS_INPUTS.reason, TEAMS_INPUTS.confirmResource]);
    const body = json(card.body);
    expect(body).toContain('(step-up confirmation)');
    expect(body).not.toContain('on behalf of');
    expect(body).not.toContain('Expires');
    expect(body).not.toContain('Key parameters');
  });

  it('once decided shows the outcome, with inputs and vote actions removed', () => {
    const approved = teamsReviewCard(
      pendingRecord({
        status: 'APPROVED',
        decision: 'APPROVED',
        approvers: ['alice', 'bob'],
        votes: [vote('alice', 'approve'), vote('bob', 'approve')],
      }),
      consoleUrl,
    );
    expect(approved.actions.map((a) => a.type)).toEqual(['Action.OpenUrl']);
    expect((approved.body as Element[]).some((e) => e.type === 'Input.Text')).toBe(false);
    expect(json(approved.body)).toContain(
      '"text":"Approved by alice, bob","wrap":true,"weight":"Bolder","spacing":"Medium","color":"Good"',
    );
    const denied = teamsReviewCard(
      pendingRecord({ status: 'DENIED', decision: 'DENIED', votes: [vote('bob', 'deny', 'no [link](x)')] }),
      consoleUrl,
    );
    expect(json(denied.body)).toContain('"color":"Attention"');
    expect(json(denied.body)).toContain('bob denied: no \\\\[link\\\\]\\\\(x\\\\)');
  });

  it('escapes markdown and lists omitted parameters', () => {
    expect(escapeMarkdown('**bold** [x](y)')).toBe('\\*\\*bold\\*\\* \\[x\\]\\(y\\)');
    const many = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`p${i}`, i]));
    expect(json(teamsReviewCard(pendingRecord({ parameters: many }), consoleUrl).body)).toContain(
      'and 1 more',
    );
    expect(json(slackReviewMessage(pendingRecord({ parameters: many }), consoleUrl).blocks)).toContain(
      '…and 1 more',
    );
  });

  it('wraps the card in a message activity and builds the invoke responses', () => {
    const activity = teamsReviewActivity(pendingRecord(), consoleUrl);
    expect(activity).toMatchObject({
      type: 'message',
      attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive' }],
    });
    const card = teamsReviewCard(pendingRecord(), consoleUrl);
    expect(teamsCardResponse(card)).toEqual({
      statusCode: 200,
      type: 'application/vnd.microsoft.card.adaptive',
      value: card,
    });
    expect(teamsMessageResponse('done')).toEqual({
      statusCode: 200,
      type: 'application/vnd.microsoft.activity.message',
      value: 'done',
    });
    expect(teamsErrorResponse(403, 'REQUESTER', 'no')).toEqual({
      statusCode: 403,
      type: 'application/vnd.microsoft.error',
      value: { code: 'REQUESTER', message: 'no' },
    });
  });
});

describe('dueReminders', () => {
  const window = (after: string, upTo: string) => ({ after: new Date(after), upTo: new Date(upTo) });

  it('finds a reminder whose due time falls in the window, once', () => {
    const record = pendingRecord();
    expect(dueReminders([record], window('2024-05-14T14:45:00Z', '2024-05-14T14:50:00Z'))).toEqual([
      {
        requestId: 'invoice-bot:req-42',
        leadSeconds: 600,
        dueAt: '2024-05-14T14:50:00.000Z',
        expiresAt: '2024-05-14T15:00:00.000Z',
      },
    ]);
    expect(dueReminders([record], window('2024-05-14T14:50:00Z', '2024-05-14T14:55:00Z'))).toEqual([]);
  });

  it('sends only the most urgent one when several fall in the window', () => {
    const record = pendingRecord({ createdAt: '2024-05-14T13:00:00.000Z' });
    const due = dueReminders([record], window('2024-05-14T13:30:00Z', '2024-05-14T14:55:00Z'), [3600, 600]);
    expect(due.map((r) => r.leadSeconds)).toEqual([600]);
  });

  it('skips leads longer than the request has been open, decided requests and ones without expiry', () => {
    const wide = window('2024-05-14T00:00:00Z', '2024-05-14T23:00:00Z');
    expect(dueReminders([pendingRecord()], wide, [7200])).toEqual([]);
    expect(dueReminders([pendingRecord({ status: 'APPROVED' })], wide)).toEqual([]);
    expect(
      dueReminders([pendingRecord({ policy: { ...pendingRecord().policy, decision: 'ALLOW' } })], wide),
    ).toEqual([]);
    expect(dueReminders([pendingRecord({ expiresAt: undefined })], wide)).toEqual([]);
  });
});
