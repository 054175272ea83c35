import { describe, expect, it } from 'vitest';
import { dueReminders } from '../../../lambdas/domain/messages/reminders.ts';
import {
  INCOMPLETE_REVIEW_NOTICE,
  listEntries,
  reviewFacts,
  visibleText,
} from '../../../lambdas/domain/messages/review-facts.ts';
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
import { aClassification } from '../domain/fixtures.ts';
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

  it('lists at most eight entries of 200 characters in canonical order, saying when anything is cut', () => {
    const many = Object.fromEntries(
      Array.from({ length: 10 }, (_, i) => [`k${9 - i}`, i === 9 ? 'x'.repeat(300) : { n: 9 - i }]),
    );
    const listed = listEntries(many);
    expect(listed.entries.map(([key]) => key)).toEqual([
      '"k0"',
      '"k1"',
      '"k2"',
      '"k3"',
      '"k4"',
      '"k5"',
      '"k6"',
      '"k7"',
    ]);
    expect(listed.entries[0]?.[1]).toHaveLength(200);
    expect(listed.entries[1]).toEqual(['"k1"', '{"n":1}']);
    expect(listed).toMatchObject({ omitted: 2, truncated: true });
    expect(listEntries({ b: 1, a: 'two' })).toEqual({
      entries: [
        ['"a"', '"two"'],
        ['"b"', '1'],
      ],
      omitted: 0,
      truncated: false,
    });
    // One value too long is enough to make the message incomplete.
    expect(listEntries({ policy: 'x'.repeat(201) }).truncated).toBe(true);
  });

  it('shows padding, invisible and reordering characters instead of hiding them', () => {
    const [[, value]] = listEntries({
      bucket: '  exports\u200b\u202etxt.exe\u00a0',
    }).entries as [[string, string]];
    expect(value).toBe('"  exports\\u200b\\u202etxt.exe\\u00a0"');
    expect(listEntries({ 'role\u2028name': '`a`' }).entries[0]).toEqual([
      '"role\\u2028name"',
      '"\\u0060a\\u0060"',
    ]);
    expect(visibleText('tags\u{E0041}\u200d')).toBe('tags\\udb40\\udc41\\u200d');
  });

  it('marks a request whose justification or resource would be cut as incomplete', () => {
    expect(reviewFacts(pendingRecord(), consoleUrl).complete).toBe(true);
    expect(reviewFacts(pendingRecord({ justification: 'j'.repeat(1501) }), consoleUrl).complete).toBe(false);
    const longArn = `arn:aws:s3:::bucket/${'k'.repeat(1600)}`;
    expect(reviewFacts(pendingRecord({ resource: { arn: longArn } }), consoleUrl).complete).toBe(false);
    const longSubject = aClassification({ subject: `s3://bucket/${'k'.repeat(1600)}` });
    expect(reviewFacts(pendingRecord({ classification: longSubject }), consoleUrl).complete).toBe(false);
    expect(reviewFacts(pendingRecord({ classification: aClassification() }), consoleUrl).complete).toBe(true);
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
    const facts = reviewFacts(record, consoleUrl);
    expect(facts).toMatchObject({ policy: 'data export', quorum: '1 from security or platform' });
    expect(facts.classification).toBeUndefined();
  });
});

describe('the data classification reviewers see', () => {
  const facts = (classification: Parameters<typeof aClassification>[0]) =>
    reviewFacts(pendingRecord({ classification: aClassification(classification) }), consoleUrl)
      .classification;

  it('is in words, with its level for the colour: High and FAILED alarm, nothing sensitive does not', () => {
    expect(facts({ categories: ['FINANCIAL_INFORMATION', 'PERSONAL_INFORMATION'] })).toEqual({
      level: 'high',
      summary: 'High: financial information, personal information',
      types: ['CREDIT_CARD_NUMBER'],
      subject: 's3://invoices/2025/06.csv',
    });
    expect(facts({ severity: 'Medium' })?.level).toBe('medium');
    expect(facts({ severity: 'Low', categories: ['CREDENTIALS'] })).toMatchObject({
      level: 'low',
      summary: 'Low: credentials',
    });
    expect(facts({ severity: null, categories: [], types: [] })).toMatchObject({
      level: 'none',
      summary: 'nothing sensitive found',
    });
    const failed = {
      status: 'FAILED' as const,
      severity: null,
      categories: [],
      types: [],
      findingIds: [],
      classifiedAt: null,
      reason: 'the Macie job timed out',
    };
    expect(facts(failed)).toMatchObject({
      level: 'high',
      summary: 'classification failed (treated as High): the Macie job timed out',
    });
    const { subject: _subject, ...withoutSubject } = aClassification();
    expect(
      reviewFacts(pendingRecord({ classification: withoutSubject }), consoleUrl).classification?.subject,
    ).toBeUndefined();
  });

  it('is coloured in Slack (a mark) and Teams (the text colour), the subject shown as plain text', () => {
    const record = pendingRecord({
      classification: aClassification({ subject: 's3://invoices/<!channel> *bold*.csv' }),
    });
    const slack = json(slackReviewMessage(record, consoleUrl).blocks);
    expect(slack).toContain(
      '🔴 High: financial information (CREDIT_CARD_NUMBER)\\nof s3://invoices/<!channel> *bold*.csv',
    );
    expect(slack).toContain('"type":"plain_text","text":"🔴 High');
    const card = json(teamsReviewCard(record, consoleUrl));
    expect(card).toContain(
      '"text":"High: financial information","wrap":true,"weight":"Bolder","color":"Attention"',
    );
    // Markdown escaped for Teams, so the agent's text cannot format itself (JSON doubles each backslash).
    expect(card).toContain(JSON.stringify('s3://invoices/\\<!channel\\> \\*bold\\*.csv').slice(1, -1));
    const none = pendingRecord({
      classification: aClassification({ severity: null, categories: [], types: [] }),
    });
    expect(json(slackReviewMessage(none, consoleUrl).blocks)).toContain('⚪ nothing sensitive found');
    expect(json(teamsReviewCard(none, consoleUrl))).toContain('"color":"Good"');
    const { subject: _subject, ...withoutSubject } = aClassification();
    const unnamed = pendingRecord({ classification: withoutSubject });
    expect(json(slackReviewMessage(unnamed, consoleUrl).blocks)).toContain(
      '"text":"🔴 High: financial information (CREDIT_CARD_NUMBER)"',
    );
    expect(json(teamsReviewCard(unnamed, consoleUrl))).not.toContain('"title":"Of"');
  });
});

describe('Slack review message', () => {
  it('shows who, what, where, why, policy, quorum, expiry and Approve/Deny carrying the request id', () => {
    const message = slackReviewMessage(pendingRecord({ classification: aClassification() }), consoleUrl);
    const body = json(message.blocks);
    for (const expected of [
      'Agent\\ninvoice-bot on behalf of dave',
      's3:CopyObject',
      'arn:aws:s3:::finance-exports/2024/invoices.csv',
      'Quarterly invoice export for the auditors',
      '• `\\"Destination\\"`: `\\"partner-drop\\"`',
      'Data classification',
      'High: financial information',
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

  it('shows agent-written text as written: it cannot mention the channel, forge links or fake emphasis', () => {
    const hostile = '<!channel> *URGENT* see <https://evil|docs> & `code`\nline two';
    const message = slackReviewMessage(
      pendingRecord({
        justification: hostile,
        agent: { id: 'invoice-bot', onBehalfOf: '*the CEO*' },
        parameters: { note: '*approved by security* <!here> `x` <https://evil|y>' },
      }),
      consoleUrl,
    );
    const blocks = message.blocks as Array<{
      text?: { type: string; text: string };
      fields?: { type: string; text: string }[];
    }>;
    const texts = blocks
      .flatMap((block) => [block.text, ...(block.fields ?? [])])
      .filter((text) => text !== undefined);
    // The justification and whom the agent acts for are plain text, which Slack never formats.
    expect(texts).toContainEqual({ type: 'plain_text', text: hostile, emoji: false });
    expect(texts).toContainEqual({
      type: 'plain_text',
      text: 'Agent\ninvoice-bot on behalf of *the CEO*',
      emoji: false,
    });
    // Every mrkdwn text carries agent-written text only inside code spans, with <, > and & escaped.
    const mrkdwn = texts.filter((text) => text.type === 'mrkdwn').map((text) => text.text);
    expect(mrkdwn.join('\n')).not.toMatch(/<!(channel|here)>|<https:/);
    expect(mrkdwn).toContainEqual(
      '• `"note"`: `"*approved by security* &lt;!here&gt; \\u0060x\\u0060 &lt;https://evil|y&gt;"`',
    );
    expect(json(slackReviewMessage(pendingRecord({ parameters: {} }), consoleUrl).blocks)).not.toContain(
      'Parameters',
    );
    expect(escapeMrkdwn('a<b>&c')).toBe('a&lt;b&gt;&amp;c');
  });

  it('offers only the console when something is cut, and says so', () => {
    const many = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`p${i}`, i]));
    for (const record of [
      pendingRecord({ parameters: many }),
      pendingRecord({ parameters: { policyDocument: 'x'.repeat(500) } }),
    ]) {
      const message = slackReviewMessage(record, consoleUrl);
      expect(actionsOf(message.blocks).map((a) => a.action_id)).toEqual([SLACK_IDS.consoleAction]);
      expect(json(message.blocks)).toContain(INCOMPLETE_REVIEW_NOTICE);
    }
    expect(json(slackReviewMessage(pendingRecord(), consoleUrl).blocks)).not.toContain(
      INCOMPLETE_REVIEW_NOTICE,
    );
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
    const card = teamsReviewCard(pendingRecord({ classification: aClassification() }), consoleUrl);
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
      'invoice-bot on behalf of dave',
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
    expect(json(denied.body)).toContain('bob denied: no \\\\[link\\\\](x)');
  });

  it('escapes only what the markdown subset acts on: hyphens in words stay, emphasis, links and tags do not work', () => {
    expect(escapeMarkdown('invoice-bot on re-run 2024-05-14')).toBe('invoice-bot on re-run 2024-05-14');
    expect(escapeMarkdown('**bold** _it_ [x](y) <at>alice</at>')).toBe(
      '\\*\\*bold\\*\\* \\_it\\_ \\[x\\](y) \\<at\\>alice\\</at\\>',
    );
    expect(escapeMarkdown('- not a list\n  + nor this\n1. nor this\n2) nor this\nC:\\path')).toBe(
      '\\- not a list\n  \\+ nor this\n1\\. nor this\n2\\) nor this\nC:\\\\path',
    );
  });

  it('renders hostile agent text inert, and offers only the console when something is cut', () => {
    const card = teamsReviewCard(
      pendingRecord({
        justification: '**Approved by security** [docs](https://evil) <at>everyone</at>',
        parameters: { note: '_urgent_ [x](https://evil)' },
      }),
      consoleUrl,
    );
    const body = json(card.body);
    expect(body).toContain(
      '\\\\*\\\\*Approved by security\\\\*\\\\* \\\\[docs\\\\](https://evil) \\\\<at\\\\>everyone\\\\</at\\\\>',
    );
    expect(body).toContain('\\\\_urgent\\\\_ \\\\[x\\\\](https://evil)');
    const many = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`p${i}`, i]));
    const incomplete = teamsReviewCard(pendingRecord({ parameters: many }), consoleUrl);
    expect(json(incomplete.body)).toContain('and 1 more');
    expect(json(incomplete.body)).toContain(INCOMPLETE_REVIEW_NOTICE);
    expect(incomplete.actions.map((a) => a.type)).toEqual(['Action.OpenUrl']);
    expect((incomplete.body as Element[]).some((e) => e.type === 'Input.Text')).toBe(false);
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
