import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sealVoteJob } from '../../../lambdas/adapters/slack/vote-job.ts';
import { SLACK_IDS } from '../../../lambdas/domain/messages/slack-review.ts';
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
import { pendingRecord } from './review-record.ts';

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

describe('a review approved through Slack and Teams', () => {
  it('posts once, updates in place after each vote, answers Teams with the updated card and DMs the requester', async () => {
    const record = await h.createPending();
    await h.notifier.requestReview(record); // a retried notification does not post twice
    const posted = h.sink.slack('chat.postMessage').filter((c) => json(c.body).includes(record.requestId));
    expect(posted).toHaveLength(1);
    expect(posted[0]?.authorization).toBe('Bearer xoxb-test-token');
    const slackRef = await h.refs.get(record.requestId, 'slack');
    const teamsRef = await h.refs.get(record.requestId, 'teams');
    expect(slackRef).toMatchObject({ conversationId: LOCAL_DIRECTORY.slack.channel });
    expect(h.sink.calls.filter((c) => c.service === 'teams' && c.method === 'POST')).toHaveLength(1);

    // alice approves in Slack: acknowledged at once with an empty 200, the vote runs deferred.
    const ack = await h.slack.acknowledge(
      h.signedSlack(clickPayload(slackIdOf('alice'), SLACK_IDS.approveAction, record.requestId)),
    );
    expect(ack).toEqual({ statusCode: 200, body: '' });
    expect((await h.store.get(record.requestId))?.votes).toEqual([]);
    await h.runDeferred();
    const afterAlice = await h.store.get(record.requestId);
    expect(afterAlice?.votes.map((v) => [v.voterId, v.channel])).toEqual([['alice', 'slack']]);
    const updates = h.sink.slack('chat.update').filter((c) => c.body.ts === slackRef?.messageId);
    expect(updates).toHaveLength(1);
    expect(updates[0]?.body.channel).toBe(slackRef?.conversationId);
    expect(json(updates[0]?.body.blocks)).toContain('1 of 2 approvals');
    expect(json(updates[0]?.body.blocks)).toContain(SLACK_IDS.approveAction);

    // bob approves in Teams: the invoke is answered with the decided card.
    const invoke = await h.teamsInvoke(teamsIdOf('bob'), 'approve', { requestId: record.requestId });
    expect(invoke.statusCode).toBe(200);
    const response = JSON.parse(invoke.body) as {
      type: string;
      value: { actions: unknown[]; body: unknown[] };
    };
    expect(response.type).toBe('application/vnd.microsoft.card.adaptive');
    expect(json(response.value.body)).toContain('Approved by alice, bob');
    expect(json(response.value.actions)).not.toContain('Action.Execute');

    const decided = await h.store.get(record.requestId);
    expect(decided).toMatchObject({ status: 'APPROVED', decision: 'APPROVED', approvers: ['alice', 'bob'] });
    expect(h.workflow.calls.filter((c) => c.taskToken === `token-${record.requestId}`)).toHaveLength(1);

    const finalSlack = h.sink
      .slack('chat.update')
      .filter((c) => c.body.ts === slackRef?.messageId)
      .at(-1);
    expect(json(finalSlack?.body.blocks)).toContain('Approved by alice, bob');
    expect(json(finalSlack?.body.blocks)).not.toContain(SLACK_IDS.approveAction);
    const teamsUpdates = h.sink.calls.filter(
      (c) => c.service === 'teams' && c.method === 'PUT' && c.path.endsWith(`/${teamsRef?.messageId}`),
    );
    expect(teamsUpdates.length).toBeGreaterThanOrEqual(2);
    expect(json(teamsUpdates.at(-1)?.body)).toContain('Approved by alice, bob');
    expect(teamsUpdates.at(-1)?.authorization).toBe('Bearer bf-token-1');
    expect(h.sink.calls.filter((c) => c.service === 'token')).toHaveLength(1); // cached

    const dm = h.sink.slack('chat.postMessage').filter((c) => c.body.channel === `D${slackIdOf('dave')}`);
    expect(dm).toHaveLength(1);
    expect(String(dm[0]?.body.text)).toContain('Approved by alice, bob');
  });
});

describe('the first ask of a request', () => {
  it('looks up no earlier post (there is none to find); a later ask looks and does not post again', async () => {
    const record = pendingRecord({ requestId: 'invoice-bot:first-ask', clientRequestId: 'first-ask' });
    await h.store.claim(record);
    const posts = () =>
      h.sink.slack('chat.postMessage').filter((c) => json(c.body).includes(record.requestId)).length;
    const lookups = vi.spyOn(h.refs, 'get');
    try {
      await h.notifier.requestReview(record, { firstAsk: true });
      expect(lookups).not.toHaveBeenCalled();
      expect(posts()).toBe(1);
      await h.notifier.requestReview(record);
      expect(lookups).toHaveBeenCalledTimes(2);
      expect(posts()).toBe(1);
    } finally {
      lookups.mockRestore();
    }
  });
});

describe('forged Slack callbacks', () => {
  it.each([
    ['forged (wrong secret)', { secret: 'not-the-secret' }],
    ['replayed after 5 minutes', { timestamp: Math.floor(Date.parse('2024-05-14T13:59:59Z') / 1000) }],
    ['from the future', { timestamp: Math.floor(Date.parse('2024-05-14T14:10:01Z') / 1000) }],
    [
      'body tampered after signing',
      { tamper: (body: string) => body.replace('countersign_deny', 'countersign_approve') },
    ],
  ])('refuses a request %s with 401, empty body, recording nothing', async (_what, options) => {
    const record = await h.createPending();
    const callsBefore = h.sink.calls.length;
    const request = h.signedSlack(
      clickPayload(slackIdOf('alice'), SLACK_IDS.denyAction, record.requestId),
      options,
    );
    expect(await h.slack.acknowledge(request)).toEqual({ statusCode: 401, body: '' });
    expect(h.deferred).toHaveLength(0);
    expect(h.sink.calls.length).toBe(callsBefore);
    expect((await h.store.get(record.requestId))?.votes).toEqual([]);
    expect(await h.store.listAudit(record.requestId)).toEqual([]);
  });

  it('refuses requests with a signature or timestamp header missing', async () => {
    const record = await h.createPending();
    const signed = h.signedSlack(clickPayload(slackIdOf('alice'), SLACK_IDS.approveAction, record.requestId));
    for (const missing of ['x-slack-signature', 'x-slack-request-timestamp']) {
      const headers = { ...signed.headers };
      delete headers[missing];
      expect(await h.slack.acknowledge({ headers, rawBody: signed.rawBody })).toEqual({
        statusCode: 401,
        body: '',
      });
    }
    expect(h.deferred).toHaveLength(0);
  });

  it('refuses when the signing secret cannot be read (fail closed)', async () => {
    const { createSlackInteractions } = await import('../../../lambdas/adapters/slack/interactions.ts');
    const broken = createSlackInteractions({
      credentials: () => Promise.reject(new Error('AccessDenied')),
      jobKey: () => Promise.reject(new Error('unused')),
      slack: () => {
        throw new Error('unused');
      },
      store: h.store,
      reviews: h.reviews,
      directory: { resolve: async () => undefined, agent: async () => undefined },
      castVote: () => Promise.reject(new Error('unused')),
      closeReview: () => Promise.reject(new Error('unused')),
      defer: () => Promise.reject(new Error('unused')),
      clock: h.clock,
      consoleUrl: 'http://x',
    });
    const signed = h.signedSlack(clickPayload(slackIdOf('alice'), SLACK_IDS.approveAction, 'req-1'));
    // A server fault (the operator's alarm), not a 401 that reads as forged; nothing recorded.
    await expect(broken.acknowledge(signed)).rejects.toThrow('AccessDenied');
    expect(await h.store.listAudit('req-1')).toEqual([]);
  });
});

describe('Slack idempotency', () => {
  it('a retried delivery adds no vote and says nothing; a double click gets one "already voted"', async () => {
    const record = await h.createPending();
    const click = clickPayload(
      slackIdOf('alice'),
      SLACK_IDS.approveAction,
      record.requestId,
      '1715697200.000001',
    );
    await h.slack.acknowledge(h.signedSlack(click));
    await h.slack.acknowledge(h.signedSlack(click, { retryNum: 1 }));
    await h.runDeferred();
    expect((await h.store.get(record.requestId))?.votes).toHaveLength(1);
    const before = ephemeralsTo(slackIdOf('alice')).length;
    await h.slack.acknowledge(h.signedSlack(click, { retryNum: 2 }));
    await h.runDeferred();
    expect(ephemeralsTo(slackIdOf('alice')).length).toBe(before);

    const again = clickPayload(
      slackIdOf('alice'),
      SLACK_IDS.approveAction,
      record.requestId,
      '1715697201.000001',
    );
    await h.slack.acknowledge(h.signedSlack(again));
    await h.runDeferred();
    expect((await h.store.get(record.requestId))?.votes).toHaveLength(1);
    const replies = ephemeralsTo(slackIdOf('alice')).slice(before);
    expect(replies).toHaveLength(1);
    expect(String(replies[0]?.body.text)).toMatch(/already voted/);
  });
});

describe('Slack modals', () => {
  it('deny opens a modal that requires a reason, then denies with it', async () => {
    const record = await h.createPending();
    const click = clickPayload(slackIdOf('bob'), SLACK_IDS.denyAction, record.requestId, '1715697300.000001');
    expect(await h.slack.acknowledge(h.signedSlack(click))).toEqual({ statusCode: 200, body: '' });
    const opened = h.sink.slack('views.open').at(-1);
    expect(opened?.body.trigger_id).toBe('trigger-1715697300.000001');
    expect(opened?.body.view).toMatchObject({ callback_id: SLACK_IDS.denyModal });
    expect(h.deferred).toHaveLength(0);

    const empty = submissionPayload(
      slackIdOf('bob'),
      SLACK_IDS.denyModal,
      { requestId: record.requestId },
      {
        [SLACK_IDS.reasonBlock]: { [SLACK_IDS.reasonInput]: { value: '   ' } },
      },
    );
    const refused = await h.slack.acknowledge(h.signedSlack(empty));
    expect(JSON.parse(refused.body)).toEqual({
      response_action: 'errors',
      errors: { [SLACK_IDS.reasonBlock]: 'A reason is required to deny.' },
    });
    expect(h.deferred).toHaveLength(0);

    const filled = submissionPayload(
      slackIdOf('bob'),
      SLACK_IDS.denyModal,
      { requestId: record.requestId },
      {
        [SLACK_IDS.reasonBlock]: { [SLACK_IDS.reasonInput]: { value: 'not during the freeze' } },
      },
    );
    expect(await h.slack.acknowledge(h.signedSlack(filled))).toEqual({ statusCode: 200, body: '' });
    await h.runDeferred();
    expect(await h.store.get(record.requestId)).toMatchObject({
      status: 'DENIED',
      reason: 'not during the freeze',
    });
    expect(
      h.workflow.calls.filter((c) => c.kind === 'fail' && c.taskToken === `token-${record.requestId}`),
    ).toHaveLength(1);
  });

  it('a step-up approval opens a confirmation modal and counts only with the resource name typed', async () => {
    const record = await h.createPending({
      policy: { ...(await import('./review-record.ts')).pendingRecord().policy, stepUp: true, quorum: 1 },
    });
    await h.slack.acknowledge(
      h.signedSlack(
        clickPayload(slackIdOf('alice'), SLACK_IDS.approveAction, record.requestId, '1715697400.000001'),
      ),
    );
    expect(h.sink.slack('views.open').at(-1)?.body.view).toMatchObject({
      callback_id: SLACK_IDS.stepUpModal,
    });
    expect(h.deferred).toHaveLength(0);
    const typed = (value: string) =>
      submissionPayload(
        slackIdOf('alice'),
        SLACK_IDS.stepUpModal,
        { requestId: record.requestId },
        {
          [SLACK_IDS.confirmBlock]: { [SLACK_IDS.confirmInput]: { value } },
        },
      );
    const wrong = await h.slack.acknowledge(h.signedSlack(typed('finance-exports')));
    expect(JSON.parse(wrong.body)).toMatchObject({ response_action: 'errors' });
    expect(h.deferred).toHaveLength(0);
    await h.slack.acknowledge(h.signedSlack(typed('invoices.csv')));
    expect(h.deferred.at(-1)?.job).toMatchObject({ vote: 'approve', stepUpConfirmation: 'invoices.csv' });
    await h.runDeferred();
    expect(await h.store.get(record.requestId)).toMatchObject({ status: 'APPROVED', approvers: ['alice'] });
  });

  it('the vote worker records a step-up approval only with the confirmation (castVote checks it, not the modal)', async () => {
    const record = await h.createPending({
      policy: { ...(await import('./review-record.ts')).pendingRecord().policy, stepUp: true, quorum: 1 },
    });
    const job = {
      requestId: record.requestId,
      vote: 'approve' as const,
      slackUserId: slackIdOf('alice'),
      channelId: 'C0COUNTERSIGN',
      attemptId: 'attempt-step-up',
      retry: false,
    };
    await h.slack.processJob(sealVoteJob(job, VOTE_JOB_KEY, h.clock.now()));
    expect((await h.store.get(record.requestId))?.votes).toEqual([]);
    expect(h.sink.slack('chat.postEphemeral').at(-1)?.body.text).toMatch(/step-up confirmation/);
    await h.slack.processJob(
      sealVoteJob({ ...job, stepUpConfirmation: 'invoices.csv' }, VOTE_JOB_KEY, h.clock.now()),
    );
    expect(await h.store.get(record.requestId)).toMatchObject({ status: 'APPROVED' });
  });
});

describe('identity binding', () => {
  it('binds a Slack user without a configured id through users.info email', async () => {
    const record = await h.createPending();
    h.sink.slackEmails.set('U0UNMAPPED1', 'bob@example.com');
    await h.slack.acknowledge(
      h.signedSlack(clickPayload('U0UNMAPPED1', SLACK_IDS.approveAction, record.requestId)),
    );
    await h.runDeferred();
    expect((await h.store.get(record.requestId))?.votes.map((v) => v.voterId)).toEqual(['bob']);
  });

  it('refuses an unknown Slack user with a clear ephemeral reply and an audit record', async () => {
    const record = await h.createPending();
    await h.slack.acknowledge(
      h.signedSlack(clickPayload('U0STRANGER', SLACK_IDS.approveAction, record.requestId, '1715697500.1')),
    );
    await h.runDeferred();
    expect((await h.store.get(record.requestId))?.votes).toEqual([]);
    expect(String(ephemeralsTo('U0STRANGER').at(-1)?.body.text)).toMatch(
      /not linked to a Countersign identity/,
    );
    const audit = await h.store.listAudit(record.requestId);
    expect(audit).toEqual([
      expect.objectContaining({
        kind: 'REFUSED',
        key: 'REFUSED#slack:U0STRANGER#UNKNOWN_IDENTITY',
        actor: 'slack:U0STRANGER',
        data: expect.objectContaining({ channel: 'slack', code: 'UNKNOWN_IDENTITY', vote: 'approve' }),
      }),
    ]);
  });

  it('refuses an unknown Teams user with an error response and an audit record', async () => {
    const record = await h.createPending();
    const response = await h.teamsInvoke('00000000-dead-beef-0000-000000000000', 'approve', {
      requestId: record.requestId,
    });
    expect(response.statusCode).toBe(403);
    expect(JSON.parse(response.body)).toMatchObject({
      type: 'application/vnd.microsoft.error',
      value: { code: 'UNKNOWN_IDENTITY' },
    });
    expect((await h.store.listAudit(record.requestId)).map((a) => a.kind)).toEqual(['REFUSED']);
  });

  it('records nothing for a Teams action on a request that does not exist, whoever sends it', async () => {
    for (const sender of ['00000000-dead-beef-0000-000000000000', teamsIdOf('alice')]) {
      const response = await h.teamsInvoke(sender, 'approve', { requestId: 'invoice-bot:never-asked' });
      expect(JSON.parse(response.body)).toMatchObject({ statusCode: 404, value: { code: 'NOT_FOUND' } });
    }
    expect(await h.store.listAudit('invoice-bot:never-asked')).toEqual([]);
    expect(await h.store.get('invoice-bot:never-asked')).toBeUndefined();
  });

  it('refuses self-approval by dave through every alias: Slack id, Slack email, Teams id', async () => {
    const record = await h.createPending();
    await h.slack.acknowledge(
      h.signedSlack(
        clickPayload(slackIdOf('dave'), SLACK_IDS.approveAction, record.requestId, '1715697600.1'),
      ),
    );
    h.sink.slackEmails.set('U0DAVEALT', 'dave@example.com');
    await h.slack.acknowledge(
      h.signedSlack(clickPayload('U0DAVEALT', SLACK_IDS.approveAction, record.requestId, '1715697600.2')),
    );
    await h.runDeferred();
    for (const id of [slackIdOf('dave'), 'U0DAVEALT']) {
      expect(String(ephemeralsTo(id).at(-1)?.body.text)).toMatch(/no self-approval/);
    }
    const teams = await h.teamsInvoke(teamsIdOf('dave'), 'approve', { requestId: record.requestId });
    expect(JSON.parse(teams.body)).toMatchObject({ statusCode: 403, value: { code: 'REQUESTER' } });
    expect((await h.store.get(record.requestId))?.votes).toEqual([]);
  });

  it('one person through Slack and Teams votes once', async () => {
    const record = await h.createPending({
      policy: { ...(await import('./review-record.ts')).pendingRecord().policy, quorum: 3 },
    });
    await h.slack.acknowledge(
      h.signedSlack(clickPayload(slackIdOf('alice'), SLACK_IDS.approveAction, record.requestId)),
    );
    await h.runDeferred();
    const teams = await h.teamsInvoke(teamsIdOf('alice'), 'approve', { requestId: record.requestId });
    expect(teams.statusCode).toBe(409);
    expect(JSON.parse(teams.body)).toMatchObject({ value: { code: 'ALREADY_VOTED' } });
    expect((await h.store.get(record.requestId))?.votes).toHaveLength(1);
  });
});

describe('Teams bot endpoint', () => {
  it.each([
    ['a wrong issuer', { overrides: { iss: 'https://evil.example' } }],
    ['a wrong audience', { overrides: { aud: 'another-bot' } }],
    ['an expired token', { overrides: { exp: Math.floor(Date.now() / 1000) - 600 } }],
    ['a mismatched serviceUrl', { serviceUrl: 'https://smba.trafficmanager.net/evil/' }],
  ])('refuses %s with 401 and records nothing', async (_what, token) => {
    const record = await h.createPending();
    const response = await h.teamsInvoke(
      teamsIdOf('alice'),
      'approve',
      { requestId: record.requestId },
      token,
    );
    expect(response).toEqual({ statusCode: 401, body: '' });
    expect((await h.store.get(record.requestId))?.votes).toEqual([]);
    expect(await h.store.listAudit(record.requestId)).toEqual([]);
  });

  it('refuses a missing token and a body that is not an activity', async () => {
    expect(await h.teams.handle({ headers: {}, body: '{"type":"invoke","serviceUrl":"x"}' })).toEqual({
      statusCode: 401,
      body: '',
    });
    expect(await h.teams.handle({ headers: { authorization: 'Bearer x.y.z' }, body: 'not json' })).toEqual({
      statusCode: 401,
      body: '',
    });
  });

  it('requires a reason to deny and the resource name for a step-up approval', async () => {
    const stepUp = await h.createPending({
      policy: { ...(await import('./review-record.ts')).pendingRecord().policy, stepUp: true },
    });
    const noName = await h.teamsInvoke(teamsIdOf('alice'), 'approve', { requestId: stepUp.requestId });
    expect(JSON.parse(noName.body)).toMatchObject({ statusCode: 400, value: { code: 'STEP_UP_REQUIRED' } });
    const named = await h.teamsInvoke(teamsIdOf('alice'), 'approve', {
      requestId: stepUp.requestId,
      confirmResource: 'invoices.csv',
    });
    expect(named.statusCode).toBe(200);
    const noReason = await h.teamsInvoke(teamsIdOf('bob'), 'deny', { requestId: stepUp.requestId });
    expect(JSON.parse(noReason.body)).toMatchObject({ statusCode: 400, value: { code: 'BAD_REQUEST' } });
    const withReason = await h.teamsInvoke(teamsIdOf('bob'), 'deny', {
      requestId: stepUp.requestId,
      reason: 'freeze',
    });
    expect(JSON.parse(withReason.body).value.body).toEqual(
      expect.arrayContaining([expect.objectContaining({ text: 'Denied by bob: freeze' })]),
    );
  });

  it('answers unsupported actions as botbuilder does', async () => {
    const record = await h.createPending();
    const unknownVerb = await h.teamsInvoke(teamsIdOf('alice'), 'delete', { requestId: record.requestId });
    expect(JSON.parse(unknownVerb.body)).toMatchObject({ statusCode: 400, value: { code: 'BadRequest' } });
  });
});

describe('20 reviewers clicking at once', () => {
  it('makes exactly one decision and counts every vote that was recorded', async () => {
    const reviewers = Array.from({ length: 20 }, (_, i) => ({
      id: `reviewer-${i + 1}`,
      email: `reviewer-${i + 1}@example.com`,
      groups: ['security'],
      slackUserId: `U0REV${String(i + 1).padStart(4, '0')}`,
    }));
    const crowd = await startChatHarness({
      users: [...LOCAL_DIRECTORY.users, ...reviewers],
      agents: LOCAL_DIRECTORY.agents,
    });
    try {
      const record = await crowd.createPending();
      await Promise.all(
        reviewers.map((reviewer, i) =>
          crowd.slack.acknowledge(
            crowd.signedSlack(
              clickPayload(
                reviewer.slackUserId,
                SLACK_IDS.approveAction,
                record.requestId,
                `1715697700.${i}`,
              ),
            ),
          ),
        ),
      );
      await crowd.runDeferred();
      const stored = await crowd.store.get(record.requestId);
      expect(stored).toMatchObject({ status: 'APPROVED', decision: 'APPROVED' });
      expect(crowd.workflow.calls).toHaveLength(1);
      expect(stored?.approvers.length).toBeGreaterThanOrEqual(2);
      const voters = new Set(stored?.votes.map((v) => v.voterId));
      expect(voters.size).toBe(stored?.votes.length);
      const refused = crowd.sink.slack('chat.postEphemeral');
      // Every click either counted or was told why not: none lost, none counted twice.
      expect(stored!.votes.length + refused.length).toBe(20);
      expect(refused.every((c) => /no longer waiting|already/.test(String(c.body.text)))).toBe(true);
      const decidedAudits = (await crowd.store.listAudit(record.requestId)).filter(
        (a) => a.kind === 'DECIDED',
      );
      expect(decidedAudits).toHaveLength(1);
    } finally {
      await crowd.close();
    }
  });
});

describe('what chat could not show in full is approved in the console only', () => {
  it('refuses a chat approval of a request whose message was cut, in Slack and Teams; a deny still counts', async () => {
    const parameters = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`p${i}`, i]));
    const record = await h.createPending({ parameters });
    const job = {
      requestId: record.requestId,
      vote: 'approve' as const,
      slackUserId: slackIdOf('alice'),
      channelId: 'C0COUNTERSIGN',
      attemptId: 'cut-1',
      retry: false,
    };
    await h.slack.processJob(sealVoteJob(job, VOTE_JOB_KEY, h.clock.now()));
    const teams = await h.teamsInvoke(teamsIdOf('bob'), 'approve', { requestId: record.requestId });
    expect(JSON.parse(teams.body)).toMatchObject({ statusCode: 400, value: { code: 'REVIEW_IN_CONSOLE' } });
    expect((await h.store.get(record.requestId))?.votes).toEqual([]);
    const deny = await h.teamsInvoke(teamsIdOf('bob'), 'deny', {
      requestId: record.requestId,
      reason: 'too much',
    });
    expect(JSON.parse(deny.body)).toMatchObject({ statusCode: 200 });
    expect(await h.store.get(record.requestId)).toMatchObject({ status: 'DENIED' });
  });
});

describe('the Slack vote worker trusts nobody', () => {
  const jobFor = (requestId: string) => ({
    requestId,
    vote: 'approve' as const,
    slackUserId: slackIdOf('alice'),
    channelId: 'C0COUNTERSIGN',
    attemptId: `attempt-${requestId}`,
    retry: false,
  });

  it('records no vote for a forged, altered or expired job, and audits the refusal without secrets', async () => {
    const record = await h.createPending({
      policy: { ...(await import('./review-record.ts')).pendingRecord().policy, quorum: 1 },
    });
    const job = jobFor(record.requestId);
    const sealed = sealVoteJob(job, VOTE_JOB_KEY, h.clock.now());
    const attempts = [
      // Made up by someone with lambda:InvokeFunction: no seal, or a seal with a key of their own.
      { countersignSlackVote: job },
      sealVoteJob(job, { key: 'an-attackers-key-that-is-long-enough-0123456789' }, h.clock.now()),
      // A real seal on another vote (the reviewer's deny turned into an approve).
      { ...sealVoteJob({ ...job, vote: 'deny', reason: 'no' }, VOTE_JOB_KEY, h.clock.now()), job },
      // A real seal, past its two minutes.
      sealVoteJob(job, VOTE_JOB_KEY, new Date(h.clock.now().getTime() - 121_000)),
      // A real seal whose expiry was pushed out.
      { ...sealed, expiresAt: sealed.expiresAt + 3600 },
    ];
    const outcomes = [];
    for (const attempt of attempts) outcomes.push(await h.slack.processJob(attempt));
    expect(outcomes.map((outcome) => outcome.refused)).toEqual([
      'MALFORMED_JOB',
      'FORGED_JOB',
      'FORGED_JOB',
      'EXPIRED_JOB',
      'FORGED_JOB',
    ]);
    const stored = await h.store.get(record.requestId);
    expect(stored?.votes).toEqual([]);
    expect(stored?.status).toBe('PENDING');
    expect(h.workflow.calls.filter((call) => call.taskToken === `token-${record.requestId}`)).toEqual([]);
    const refusals = (await h.store.listAudit(record.requestId)).filter((audit) => audit.kind === 'REFUSED');
    expect(refusals.length).toBeGreaterThan(0);
    for (const refusal of refusals) {
      expect(refusal).toMatchObject({ actor: 'unauthenticated', data: { channel: 'slack' } });
      expect(JSON.stringify(refusal)).not.toContain(VOTE_JOB_KEY.key);
      expect(JSON.stringify(refusal)).not.toContain(sealed.mac);
    }
    // The genuine job still counts.
    expect(await h.slack.processJob(sealed)).toEqual({});
    expect(await h.store.get(record.requestId)).toMatchObject({ status: 'APPROVED', approvers: ['alice'] });
  });

  it('creates no record for a forged job naming a request that does not exist', async () => {
    const forged = { countersignSlackVote: jobFor('invoice-bot:no-such-request') };
    expect(await h.slack.processJob(forged)).toEqual({ refused: 'MALFORMED_JOB' });
    expect(await h.store.listAudit('invoice-bot:no-such-request')).toEqual([]);
  });
});
