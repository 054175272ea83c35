/**
 * Closing an after-the-fact review from its chat alert, on the chat endpoints as the handlers wire
 * them (dynalite, the real closeReview, the Slack client and Bot Connector against a local sink,
 * signed Slack bodies and Bot Framework tokens from the twin's issuer): Acknowledge with a reason,
 * Escalate, every refusal answered to the reviewer alone with nothing changed, and double clicks and
 * redeliveries closing once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealVoteJob } from '../../../lambdas/adapters/slack/vote-job.ts';
import { callAuditRequestId, type Review } from '../../../lambdas/domain/after-the-fact-review.ts';
import { SLACK_REVIEW_IDS } from '../../../lambdas/domain/messages/review-alert.ts';
import {
  type ChatHarness,
  clickPayload,
  LOCAL_DIRECTORY,
  slackIdOf,
  startChatHarness,
  submissionPayload,
  teamsIdOf,
  VOTE_JOB_KEY,
} from './chat-harness.ts';

let h: ChatHarness;
beforeAll(async () => {
  h = await startChatHarness();
});
afterAll(async () => {
  await h.close();
});

const json = (value: unknown) => JSON.stringify(value);
const ephemeralsTo = (slackUserId: string) =>
  h.sink.slack('chat.postEphemeral').filter((c) => c.body.user === slackUserId);
const lastEphemeral = (slackUserId: string) => String(ephemeralsTo(slackUserId).at(-1)?.body.text);

let clicks = 0;
/** A click on a review alert's button, with a fresh action_ts (Slack's per-click id). */
function reviewClick(slackUserId: string, actionId: string, reviewId: string) {
  clicks += 1;
  const payload = clickPayload(
    slackUserId,
    actionId,
    reviewId,
    `1715698000.${String(clicks).padStart(6, '0')}`,
  );
  return {
    ...payload,
    actions: payload.actions.map((a) => ({ ...a, block_id: SLACK_REVIEW_IDS.actionsBlock })),
  };
}

/** The acknowledge modal submitted with `reason`. */
function acknowledgeSubmission(slackUserId: string, reviewId: string, reason: string | null) {
  return submissionPayload(
    slackUserId,
    SLACK_REVIEW_IDS.acknowledgeModal,
    { reviewId },
    {
      [SLACK_REVIEW_IDS.reasonBlock]: { [SLACK_REVIEW_IDS.reasonInput]: { value: reason } },
    },
  );
}

async function auditOf(review: Review) {
  return h.store.listAudit(callAuditRequestId(review.subject.agentId, review.subject.eventId!));
}

/** What stayed as it was: the review open, nothing recorded on its call's trail. */
async function expectUnchanged(review: Review): Promise<void> {
  expect(await h.reviews.get(review.reviewId)).toEqual(review);
  expect(await auditOf(review)).toEqual([]);
}

describe('acknowledging a review from Slack', () => {
  it('asks for a reason in a modal, closes the review with it, and updates both alerts in place', async () => {
    const review = await h.openReview();
    const slackRef = await h.reviewRefs.get(review.reviewId, 'slack');
    const teamsRef = await h.reviewRefs.get(review.reviewId, 'teams');
    const posted = h.sink
      .slack('chat.postMessage')
      .filter((c) => c.body.ts === undefined && json(c.body).includes(review.reviewId));
    expect(posted).toHaveLength(1);
    expect(json(posted[0]?.body.blocks)).toContain(SLACK_REVIEW_IDS.acknowledgeAction);

    const click = reviewClick(slackIdOf('alice'), SLACK_REVIEW_IDS.acknowledgeAction, review.reviewId);
    expect(await h.slack.acknowledge(h.signedSlack(click))).toEqual({ statusCode: 200, body: '' });
    const opened = h.sink.slack('views.open').at(-1);
    expect(opened?.body.trigger_id).toBe(click.trigger_id);
    expect(opened?.body.view).toMatchObject({ callback_id: SLACK_REVIEW_IDS.acknowledgeModal });
    expect(JSON.parse(String((opened!.body.view as { private_metadata: string }).private_metadata))).toEqual({
      reviewId: review.reviewId,
      channelId: LOCAL_DIRECTORY.slack.channel,
    });
    expect(h.deferred).toHaveLength(0);

    for (const empty of ['   ', null]) {
      const refused = await h.slack.acknowledge(
        h.signedSlack(acknowledgeSubmission(slackIdOf('alice'), review.reviewId, empty)),
      );
      expect(JSON.parse(refused.body)).toEqual({
        response_action: 'errors',
        errors: { [SLACK_REVIEW_IDS.reasonBlock]: 'A reason is required to acknowledge.' },
      });
    }
    expect(h.deferred).toHaveLength(0);

    const filled = acknowledgeSubmission(
      slackIdOf('alice'),
      review.reviewId,
      '  a drill of the bypass alarm ',
    );
    expect(await h.slack.acknowledge(h.signedSlack(filled))).toEqual({ statusCode: 200, body: '' });
    expect(await h.reviews.get(review.reviewId)).toMatchObject({ status: 'OPEN' });
    await h.runDeferred();

    expect(await h.reviews.get(review.reviewId)).toMatchObject({
      status: 'ACKNOWLEDGED',
      closedBy: 'alice',
      reason: 'a drill of the bypass alarm',
      channel: 'slack',
      closedAt: h.clock.now().toISOString(),
    });
    expect(await auditOf(review)).toEqual([
      expect.objectContaining({
        kind: 'REVIEWED',
        actor: 'alice',
        data: { outcome: 'ACKNOWLEDGED', reason: 'a drill of the bypass alarm', channel: 'slack' },
      }),
    ]);
    const update = h.sink.slack('chat.update').filter((c) => c.body.ts === slackRef?.messageId);
    expect(update).toHaveLength(1);
    expect(update[0]?.body.channel).toBe(slackRef?.conversationId);
    expect(json(update[0]?.body.blocks)).toContain(
      'Acknowledged by alice in Slack: a drill of the bypass alarm',
    );
    expect(json(update[0]?.body.blocks)).not.toContain(SLACK_REVIEW_IDS.acknowledgeAction);
    expect(json(update[0]?.body.blocks)).not.toContain(SLACK_REVIEW_IDS.escalateAction);
    const teamsUpdate = h.sink.calls.filter(
      (c) => c.service === 'teams' && c.method === 'PUT' && c.path.endsWith(`/${teamsRef?.messageId}`),
    );
    expect(teamsUpdate).toHaveLength(1);
    expect(json(teamsUpdate[0]?.body)).toContain('Acknowledged by alice in Slack');
    expect(json(teamsUpdate[0]?.body)).not.toContain('Action.Execute');
    expect(ephemeralsTo(slackIdOf('alice'))).toEqual([]);
  });

  it('does not open the modal for a review that does not exist', async () => {
    const before = h.sink.slack('views.open').length;
    const click = reviewClick(slackIdOf('alice'), SLACK_REVIEW_IDS.acknowledgeAction, 'call:no-such-event');
    expect(await h.slack.acknowledge(h.signedSlack(click))).toEqual({ statusCode: 200, body: '' });
    expect(h.sink.slack('views.open')).toHaveLength(before);
  });
});

describe('escalating a review from Slack', () => {
  it('closes it at once; a double click closes it once and is told it is closed; a redelivery stays quiet', async () => {
    const review = await h.openReview();
    const first = reviewClick(slackIdOf('bob'), SLACK_REVIEW_IDS.escalateAction, review.reviewId);
    const second = reviewClick(slackIdOf('bob'), SLACK_REVIEW_IDS.escalateAction, review.reviewId);
    await h.slack.acknowledge(h.signedSlack(first));
    await h.slack.acknowledge(h.signedSlack(first, { retryNum: 1 }));
    expect(h.deferred).toHaveLength(2);
    await h.runDeferred();
    expect(await h.reviews.get(review.reviewId)).toMatchObject({
      status: 'ESCALATED',
      closedBy: 'bob',
      channel: 'slack',
    });
    expect((await h.reviews.get(review.reviewId))?.reason).toBeUndefined();
    // The original and Slack's retry of it: one close, and nothing said about the retry.
    expect(ephemeralsTo(slackIdOf('bob'))).toEqual([]);

    await h.slack.acknowledge(h.signedSlack(second));
    await h.runDeferred();
    expect(ephemeralsTo(slackIdOf('bob'))).toHaveLength(1);
    expect(lastEphemeral(slackIdOf('bob'))).toBe('This review is already closed.');
    expect((await auditOf(review)).filter((a) => a.kind === 'REVIEWED')).toHaveLength(1);
    const slackRef = await h.reviewRefs.get(review.reviewId, 'slack');
    expect(h.sink.slack('chat.update').filter((c) => c.body.ts === slackRef?.messageId)).toHaveLength(1);
  });

  it('tells a retried close that lost to someone else that it is closed', async () => {
    const review = await h.openReview();
    await h.slack.acknowledge(
      h.signedSlack(reviewClick(slackIdOf('alice'), SLACK_REVIEW_IDS.escalateAction, review.reviewId)),
    );
    await h.runDeferred();
    const late = reviewClick(slackIdOf('bob'), SLACK_REVIEW_IDS.escalateAction, review.reviewId);
    await h.slack.acknowledge(h.signedSlack(late, { retryNum: 1 }));
    await h.runDeferred();
    expect(lastEphemeral(slackIdOf('bob'))).toBe('This review is already closed.');
    expect(await h.reviews.get(review.reviewId)).toMatchObject({ status: 'ESCALATED', closedBy: 'alice' });
  });
});

describe('refusals from Slack change nothing and are told to the reviewer alone', () => {
  it.each([
    ['the agent’s owner', 'dave', /you are the agent, the person it acts for, or its owner/],
    ['a reviewer outside the review’s groups', 'carol', /not in any of the groups that review this/],
  ])('refuses %s', async (_who, user, message) => {
    const review = await h.openReview();
    await h.slack.acknowledge(
      h.signedSlack(reviewClick(slackIdOf(user), SLACK_REVIEW_IDS.escalateAction, review.reviewId)),
    );
    await h.slack.acknowledge(
      h.signedSlack(acknowledgeSubmission(slackIdOf(user), review.reviewId, 'looks fine to me')),
    );
    await h.runDeferred();
    const replies = ephemeralsTo(slackIdOf(user)).slice(-2);
    expect(replies).toHaveLength(2);
    for (const reply of replies) {
      expect(reply.body.channel).toBe(LOCAL_DIRECTORY.slack.channel);
      expect(String(reply.body.text)).toMatch(message);
    }
    await expectUnchanged(review);
  });

  it('refuses a Slack account bound to nobody, and a review that does not exist', async () => {
    const review = await h.openReview();
    await h.slack.acknowledge(
      h.signedSlack(reviewClick('U0STRANGER2', SLACK_REVIEW_IDS.escalateAction, review.reviewId)),
    );
    await h.slack.acknowledge(
      h.signedSlack(reviewClick(slackIdOf('alice'), SLACK_REVIEW_IDS.escalateAction, 'call:gone-event')),
    );
    await h.runDeferred();
    expect(lastEphemeral('U0STRANGER2')).toMatch(
      /not linked to a Countersign identity, so the review was not closed/,
    );
    expect(lastEphemeral(slackIdOf('alice'))).toBe('This review no longer exists.');
    await expectUnchanged(review);
    expect(await h.reviews.get('call:gone-event')).toBeUndefined();
  });

  it('refuses a forged, replayed-late or altered signature with 401 and defers nothing', async () => {
    const review = await h.openReview();
    const click = reviewClick(slackIdOf('alice'), SLACK_REVIEW_IDS.escalateAction, review.reviewId);
    for (const options of [
      { secret: 'not-the-secret' },
      { timestamp: Math.floor(h.clock.now().getTime() / 1000) - 301 },
      { tamper: (body: string) => body.replace('escalate', 'acknowledge') },
    ]) {
      expect(await h.slack.acknowledge(h.signedSlack(click, options))).toEqual({ statusCode: 401, body: '' });
    }
    expect(h.deferred).toHaveLength(0);
    await expectUnchanged(review);
  });
});

describe('the Slack worker trusts no review job it did not seal', () => {
  it('closes nothing for a forged or expired job, audits the refusal on the call’s trail, and then closes with the genuine one', async () => {
    const review = await h.openReview();
    const job = {
      reviewId: review.reviewId,
      outcome: 'ESCALATED' as const,
      slackUserId: slackIdOf('alice'),
      channelId: LOCAL_DIRECTORY.slack.channel,
      attemptId: 'forged-1',
      retry: false,
    };
    const outcomes = [
      await h.slack.processJob({ job }),
      await h.slack.processJob(
        sealVoteJob(job, { key: 'an-attackers-key-that-is-long-enough-0123456789' }, h.clock.now()),
      ),
      await h.slack.processJob(sealVoteJob(job, VOTE_JOB_KEY, new Date(h.clock.now().getTime() - 121_000))),
    ];
    expect(outcomes.map((outcome) => outcome.refused)).toEqual([
      'MALFORMED_JOB',
      'FORGED_JOB',
      'EXPIRED_JOB',
    ]);
    expect(await h.reviews.get(review.reviewId)).toEqual(review);
    const refusals = (await auditOf(review)).sort((a, b) => a.seq - b.seq);
    expect(refusals.map((r) => [r.kind, r.actor, r.data])).toEqual([
      ['REFUSED', 'unauthenticated', { channel: 'slack', code: 'MALFORMED_JOB' }],
      ['REFUSED', 'unauthenticated', { channel: 'slack', code: 'FORGED_JOB' }],
      ['REFUSED', 'unauthenticated', { channel: 'slack', code: 'EXPIRED_JOB' }],
    ]);
    // A made-up review id creates no records anywhere.
    expect(await h.slack.processJob({ job: { ...job, reviewId: 'call:made-up' } })).toEqual({
      refused: 'MALFORMED_JOB',
    });
    expect(await h.reviews.get('call:made-up')).toBeUndefined();

    expect(await h.slack.processJob(sealVoteJob(job, VOTE_JOB_KEY, h.clock.now()))).toEqual({});
    expect(await h.reviews.get(review.reviewId)).toMatchObject({ status: 'ESCALATED', closedBy: 'alice' });
  });
});

describe('closing a review from Teams', () => {
  it('acknowledges with the reason typed in the card and answers with the card refreshed', async () => {
    const review = await h.openReview();
    const teamsRef = await h.reviewRefs.get(review.reviewId, 'teams');
    const alert = h.sink.calls.filter(
      (c) => c.service === 'teams' && c.method === 'POST' && json(c.body).includes(review.reviewId),
    );
    expect(alert).toHaveLength(1);
    expect(json(alert[0]?.body)).toContain('"verb":"acknowledge"');

    const noReason = await h.teamsInvoke(teamsIdOf('alice'), 'acknowledge', {
      reviewId: review.reviewId,
      reason: '  ',
    });
    expect(JSON.parse(noReason.body)).toMatchObject({
      statusCode: 400,
      type: 'application/vnd.microsoft.error',
      value: { code: 'BAD_REQUEST', message: expect.stringMatching(/a reason is required to acknowledge/) },
    });
    await expectUnchanged(review);

    const answer = await h.teamsInvoke(teamsIdOf('alice'), 'acknowledge', {
      reviewId: review.reviewId,
      reason: 'planned rotation',
    });
    expect(answer.statusCode).toBe(200);
    const card = JSON.parse(answer.body) as { type: string; value: { body: unknown[]; actions: unknown[] } };
    expect(card.type).toBe('application/vnd.microsoft.card.adaptive');
    expect(json(card.value.body)).toContain('Acknowledged by alice in Teams: planned rotation');
    expect(json(card.value.body)).not.toContain('Input.Text');
    expect(json(card.value.actions)).not.toContain('Action.Execute');
    expect(await h.reviews.get(review.reviewId)).toMatchObject({
      status: 'ACKNOWLEDGED',
      closedBy: 'alice',
      reason: 'planned rotation',
      channel: 'teams',
    });
    expect((await auditOf(review)).map((a) => [a.kind, a.data])).toEqual([
      ['REVIEWED', { outcome: 'ACKNOWLEDGED', reason: 'planned rotation', channel: 'teams' }],
    ]);
    const teamsUpdate = h.sink.calls.filter(
      (c) => c.service === 'teams' && c.method === 'PUT' && c.path.endsWith(`/${teamsRef?.messageId}`),
    );
    expect(teamsUpdate).toHaveLength(1);
    const slackRef = await h.reviewRefs.get(review.reviewId, 'slack');
    expect(json(h.sink.slack('chat.update').filter((c) => c.body.ts === slackRef?.messageId))).toContain(
      'Acknowledged by alice in Teams',
    );

    // Another reviewer's escalate, from a card not yet refreshed: refused as closed, nothing changed.
    const late = await h.teamsInvoke(teamsIdOf('bob'), 'escalate', { reviewId: review.reviewId });
    expect(late.statusCode).toBe(409);
    expect(JSON.parse(late.body)).toMatchObject({
      value: { code: 'REVIEW_CLOSED', message: 'This review is already closed.' },
    });
    expect(await h.reviews.get(review.reviewId)).toMatchObject({ status: 'ACKNOWLEDGED', closedBy: 'alice' });
    expect(await auditOf(review)).toHaveLength(1);
  });

  it('refuses the requester, an outsider, an unbound account and a review that does not exist, changing nothing', async () => {
    const review = await h.openReview();
    const answers = [
      await h.teamsInvoke(teamsIdOf('dave'), 'escalate', { reviewId: review.reviewId }),
      await h.teamsInvoke(teamsIdOf('carol'), 'escalate', { reviewId: review.reviewId }),
      await h.teamsInvoke('00000000-dead-beef-0000-000000000000', 'escalate', { reviewId: review.reviewId }),
      await h.teamsInvoke(teamsIdOf('alice'), 'escalate', { reviewId: 'call:not-a-review' }),
      await h.teamsInvoke(teamsIdOf('alice'), 'escalate', { requestId: review.reviewId }),
    ];
    expect(answers.map((a) => [a.statusCode, JSON.parse(a.body).value.code])).toEqual([
      [403, 'REQUESTER'],
      [403, 'NOT_IN_GROUP'],
      [403, 'UNKNOWN_IDENTITY'],
      [404, 'NOT_FOUND'],
      [400, 'BadRequest'],
    ]);
    expect(JSON.parse(answers[2]!.body).value.message).toMatch(/so the review was not closed/);
    expect(JSON.parse(answers[3]!.body).value.message).toBe('This review no longer exists.');
    await expectUnchanged(review);
  });

  it('refuses a token that is not the Bot Framework’s with 401 and changes nothing', async () => {
    const review = await h.openReview();
    for (const token of [
      { overrides: { aud: 'another-bot' } },
      { overrides: { iss: 'https://evil.example' } },
    ]) {
      expect(
        await h.teamsInvoke(teamsIdOf('alice'), 'escalate', { reviewId: review.reviewId }, token),
      ).toEqual({ statusCode: 401, body: '' });
    }
    await expectUnchanged(review);
  });
});
