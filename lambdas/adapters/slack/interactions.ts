/**
 * `POST /slack/interactions`: verify, acknowledge, then vote on a request or close an after-the-fact
 * review. The acknowledgement does only what must happen inside Slack's 3 seconds (the signature
 * check, opening a modal while its trigger_id is valid, validating a modal's fields) and hands the
 * vote or close to `defer`; `processJob` does the rest (identity binding, castVote or closeReview,
 * replies). In AWS `defer` is an asynchronous self-invocation
 * (InvocationType Event): a Lambda function cannot keep working after it has answered, and the
 * verified payload then travels inside AWS only. A refused request returns 401 with no body and
 * records nothing.
 */
import { ReviewIneligible, ReviewStatus, reviewAuditRequestId } from '../../domain/after-the-fact-review.ts';
import { AuditKind } from '../../domain/audit-record.ts';
import type { HttpResult } from '../../domain/http-result.ts';
import { SLACK_REVIEW_IDS, slackAcknowledgeModal } from '../../domain/messages/review-alert.ts';
import {
  INCOMPLETE_REVIEW_NOTICE,
  REVIEW_IN_CONSOLE,
  reviewFacts,
} from '../../domain/messages/review-facts.ts';
import { SLACK_IDS, slackDenyModal, slackStepUpModal } from '../../domain/messages/slack-review.ts';
import { resourceNameOf } from '../../domain/step-up.ts';
import * as z from '../../domain/zod.ts';
import type {
  CastVote,
  Clock,
  CloseReview,
  Directory,
  RequestStore,
  ReviewStore,
} from '../../ports/index.ts';
import type { CredentialSource, SlackCredentials } from '../chat-credentials.ts';
import {
  REVIEW_GONE_MESSAGE,
  recordChatRefusal,
  refusalFor,
  resolveSlackReviewer,
  UNBOUND_IDENTITY_CODE,
  UNBOUND_IDENTITY_MESSAGE,
  UNBOUND_REVIEWER_MESSAGE,
} from '../chat-reviewers.ts';
import type { SlackApi } from './slack-api.ts';
import { verifySlackSignature } from './verify-signature.ts';
import {
  isReviewJob,
  type OpenedVoteJob,
  openVoteJob,
  type SealedVoteJob,
  type SlackJob,
  type SlackReviewJob,
  type SlackVoteJob,
  sealVoteJob,
  type VoteJobKey,
  type VoteJobRefusal,
} from './vote-job.ts';

const ModalMetadata = z.strictObject({
  requestId: z.string().check(z.minLength(1)),
  channelId: z.string().check(z.minLength(1)),
});
const ReviewModalMetadata = z.strictObject({
  reviewId: z.string().check(z.minLength(1)),
  channelId: z.string().check(z.minLength(1)),
});

const BlockActions = z.looseObject({
  type: z.literal('block_actions'),
  user: z.looseObject({ id: z.string().check(z.minLength(1)) }),
  trigger_id: z.string().check(z.minLength(1)),
  channel: z.looseObject({ id: z.string().check(z.minLength(1)) }),
  actions: z
    // What a job needs (SlackJob): a click without it is acknowledged and ignored, never a 5xx.
    .array(
      z.looseObject({
        action_id: z.string(),
        value: z.optional(z.string().check(z.minLength(1))),
        action_ts: z.string().check(z.minLength(1)),
      }),
    )
    .check(z.minLength(1)),
});
const ViewSubmission = z.looseObject({
  type: z.literal('view_submission'),
  user: z.looseObject({ id: z.string().check(z.minLength(1)) }),
  view: z.looseObject({
    id: z.string().check(z.minLength(1)),
    callback_id: z.string(),
    private_metadata: z.string(),
    state: z.looseObject({
      values: z.record(z.string(), z.record(z.string(), z.looseObject({ value: z.nullish(z.string()) }))),
    }),
  }),
});
const Interaction = z.discriminatedUnion('type', [BlockActions, ViewSubmission]);

export interface SlackInteractionsDeps {
  readonly credentials: CredentialSource<SlackCredentials>;
  /** The key vote jobs are sealed with on their way to the worker (readable by this function only). */
  readonly jobKey: CredentialSource<VoteJobKey>;
  readonly slack: (botToken: string) => SlackApi;
  readonly store: Pick<RequestStore, 'get' | 'appendAudit'>;
  readonly reviews: Pick<ReviewStore, 'get'>;
  readonly directory: Directory;
  readonly castVote: CastVote;
  readonly closeReview: CloseReview;
  /** Hands the sealed job to the worker (in AWS: an asynchronous invocation of this function). */
  readonly defer: (job: SealedVoteJob) => Promise<void>;
  readonly clock: Clock;
  readonly consoleUrl: string;
}

const UNAUTHORIZED: HttpResult = { statusCode: 401, body: '' };
const ACK: HttpResult = { statusCode: 200, body: '' };

function modalErrors(blockId: string, message: string): HttpResult {
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ response_action: 'errors', errors: { [blockId]: message } }),
  };
}

function parseJson(text: string | null): unknown {
  try {
    return JSON.parse(text ?? 'null');
  } catch {
    return undefined;
  }
}

function header(headers: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  return Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
}

export function createSlackInteractions(deps: SlackInteractionsDeps) {
  async function api(): Promise<SlackApi> {
    return deps.slack((await deps.credentials()).botToken);
  }

  /** The directory person behind a Slack account (its configured id, else its profile's email). */
  function reviewerOf(slack: SlackApi, slackUserId: string) {
    return resolveSlackReviewer(deps.directory, (id) => slack.userEmail(id), slackUserId);
  }

  /** Acknowledge opens the reason modal; Escalate closes the review at once. */
  async function onReviewAction(payload: z.infer<typeof BlockActions>, retry: boolean): Promise<HttpResult> {
    const action = payload.actions[0]!;
    const reviewId = action.value;
    if (reviewId === undefined) return ACK;
    if (action.action_id === SLACK_REVIEW_IDS.escalateAction) {
      await defer({
        reviewId,
        outcome: ReviewStatus.escalated,
        slackUserId: payload.user.id,
        channelId: payload.channel.id,
        attemptId: action.action_ts,
        retry,
      });
      return ACK;
    }
    const review = await deps.reviews.get(reviewId);
    if (review === undefined) return ACK;
    const metadata = JSON.stringify({ reviewId, channelId: payload.channel.id });
    await (await api()).openView(
      payload.trigger_id,
      slackAcknowledgeModal(review, metadata, deps.consoleUrl),
    );
    return ACK;
  }

  async function onBlockAction(payload: z.infer<typeof BlockActions>, retry: boolean): Promise<HttpResult> {
    const action = payload.actions[0]!;
    if (
      action.action_id === SLACK_REVIEW_IDS.acknowledgeAction ||
      action.action_id === SLACK_REVIEW_IDS.escalateAction
    ) {
      return onReviewAction(payload, retry);
    }
    const requestId = action.value;
    const isVote = action.action_id === SLACK_IDS.approveAction || action.action_id === SLACK_IDS.denyAction;
    if (!isVote || requestId === undefined) return ACK;
    const metadata = JSON.stringify({ requestId, channelId: payload.channel.id });
    const base = { requestId, slackUserId: payload.user.id, channelId: payload.channel.id, retry };
    if (action.action_id === SLACK_IDS.denyAction) {
      const record = await deps.store.get(requestId);
      if (record === undefined) return ACK;
      await (await api()).openView(payload.trigger_id, slackDenyModal(record, metadata));
      return ACK;
    }
    const record = await deps.store.get(requestId);
    if (record?.policy.stepUp === true) {
      await (await api()).openView(payload.trigger_id, slackStepUpModal(record, metadata, deps.consoleUrl));
      return ACK;
    }
    await defer({ ...base, vote: 'approve', attemptId: action.action_ts });
    return ACK;
  }

  /** The reason modal of Acknowledge: no reason, no close (the modal says so in place). */
  async function onAcknowledgeSubmission(
    payload: z.infer<typeof ViewSubmission>,
    retry: boolean,
  ): Promise<HttpResult> {
    const { view } = payload;
    const metadata = ReviewModalMetadata.safeParse(parseJson(view.private_metadata));
    if (!metadata.success) return ACK;
    const reason =
      view.state.values[SLACK_REVIEW_IDS.reasonBlock]?.[SLACK_REVIEW_IDS.reasonInput]?.value?.trim() ?? '';
    if (reason.length === 0) {
      return modalErrors(SLACK_REVIEW_IDS.reasonBlock, 'A reason is required to acknowledge.');
    }
    await defer({
      ...metadata.data,
      outcome: ReviewStatus.acknowledged,
      reason,
      slackUserId: payload.user.id,
      attemptId: view.id,
      retry,
    });
    return ACK;
  }

  async function onViewSubmission(
    payload: z.infer<typeof ViewSubmission>,
    retry: boolean,
  ): Promise<HttpResult> {
    const { view } = payload;
    if (view.callback_id === SLACK_REVIEW_IDS.acknowledgeModal)
      return onAcknowledgeSubmission(payload, retry);
    const metadata = ModalMetadata.safeParse(parseJson(view.private_metadata));
    if (!metadata.success) return ACK;
    const base = { ...metadata.data, slackUserId: payload.user.id, attemptId: view.id, retry };
    if (view.callback_id === SLACK_IDS.denyModal) {
      const reason = view.state.values[SLACK_IDS.reasonBlock]?.[SLACK_IDS.reasonInput]?.value?.trim() ?? '';
      if (reason.length === 0) return modalErrors(SLACK_IDS.reasonBlock, 'A reason is required to deny.');
      await defer({ ...base, vote: 'deny', reason });
      return ACK;
    }
    if (view.callback_id === SLACK_IDS.stepUpModal) {
      const record = await deps.store.get(metadata.data.requestId);
      if (record === undefined) return ACK;
      const typed = view.state.values[SLACK_IDS.confirmBlock]?.[SLACK_IDS.confirmInput]?.value?.trim() ?? '';
      // Checked here too only so the modal can say so in place; castVote checks it again.
      if (typed !== resourceNameOf(record.resource.arn)) {
        return modalErrors(
          SLACK_IDS.confirmBlock,
          `Type ${resourceNameOf(record.resource.arn)} exactly to approve.`,
        );
      }
      await defer({ ...base, vote: 'approve', stepUpConfirmation: typed });
      return ACK;
    }
    return ACK;
  }

  /** The HTTP side: verify the raw body first, then acknowledge. */
  async function acknowledge(request: {
    readonly headers: Readonly<Record<string, string | undefined>>;
    readonly rawBody: Buffer;
  }): Promise<HttpResult> {
    // Credentials that cannot be read (Secrets Manager failing) fail the invocation: nothing is
    // recorded from a request nobody could verify, the function's error is what the operator's alarm
    // counts, and the user's click (or Slack's retry) goes through once the secret is readable.
    // Never a 401 for it: that would read as a forged request.
    const { signingSecret } = await deps.credentials();
    try {
      verifySlackSignature(request, signingSecret, Math.floor(deps.clock.now().getTime() / 1000));
    } catch {
      return UNAUTHORIZED;
    }
    const form = new URLSearchParams(request.rawBody.toString('utf8'));
    const result = Interaction.safeParse(parseJson(form.get('payload')));
    // Verified but not an interaction we act on (e.g. a URL button click): acknowledge, do nothing.
    if (!result.success) return ACK;
    const parsed = result.data;
    const retry = Number(header(request.headers, 'x-slack-retry-num') ?? '0') > 0;
    return parsed.type === 'block_actions' ? onBlockAction(parsed, retry) : onViewSubmission(parsed, retry);
  }

  /** Seals a verified vote or close for the worker. */
  async function defer(job: SlackJob): Promise<void> {
    await deps.defer(sealVoteJob(job, await deps.jobKey(), deps.clock.now()));
  }

  /**
   * Where the refusal of a job naming `refusal`'s request or review is audited: that request, or the
   * review's call or break-glass request, when it exists (a made-up id must not create records).
   */
  async function refusalTrailOf(refusal: Extract<OpenedVoteJob, { ok: false }>): Promise<string | undefined> {
    const { claimedRequestId, claimedReviewId } = refusal;
    if (claimedRequestId !== undefined) {
      const record = await deps.store.get(claimedRequestId).catch(() => undefined);
      return record === undefined ? undefined : claimedRequestId;
    }
    if (claimedReviewId === undefined) return undefined;
    const review = await deps.reviews.get(claimedReviewId).catch(() => undefined);
    return review === undefined ? undefined : reviewAuditRequestId(review);
  }

  /**
   * A job the worker cannot trust records no vote and closes no review. The refusal is audited
   * where the job points when that exists, with the reason only.
   */
  async function refuseJob(refusal: Extract<OpenedVoteJob, { ok: false }>): Promise<void> {
    const requestId = await refusalTrailOf(refusal);
    if (requestId === undefined) return;
    const at = deps.clock.now();
    // One record per reason: a replayed or forged job is the same fact however often it comes.
    await deps.store.appendAudit({
      requestId,
      kind: AuditKind.refused,
      key: `${AuditKind.refused}#slack-job#${refusal.code}`,
      at: at.toISOString(),
      actor: 'unauthenticated',
      data: { channel: 'slack', code: refusal.code },
    });
  }

  /**
   * The worker side: open the sealed job (refused and audited unless authentic and fresh), bind the
   * identity, vote or close the review, and tell the reviewer when it did not count.
   */
  async function processJob(input: unknown): Promise<{ readonly refused?: VoteJobRefusal }> {
    const opened = openVoteJob(input, await deps.jobKey(), deps.clock.now());
    if (!opened.ok) {
      await refuseJob(opened);
      return { refused: opened.code };
    }
    if (isReviewJob(opened.job)) await closeFromSlack(opened.job);
    else await vote(opened.job);
    return {};
  }

  /**
   * Closes the review as the reviewer chose; closeReview checks eligibility and closes it with one
   * conditional write, and updates the alert in place. A refusal changes nothing and is told to the
   * reviewer alone.
   */
  async function closeFromSlack(job: SlackReviewJob): Promise<void> {
    const slack = await api();
    const tell = (text: string) => slack.postEphemeral(job.channelId, job.slackUserId, text);
    if ((await deps.reviews.get(job.reviewId)) === undefined) {
      await tell(REVIEW_GONE_MESSAGE);
      return;
    }
    const principal = await reviewerOf(slack, job.slackUserId);
    if (principal === undefined) {
      await tell(UNBOUND_REVIEWER_MESSAGE);
      return;
    }
    try {
      await deps.closeReview({
        reviewId: job.reviewId,
        principal,
        input: { outcome: job.outcome, ...(job.reason === undefined ? {} : { reason: job.reason }) },
        channel: 'slack',
      });
    } catch (error) {
      const refusal = refusalFor(error);
      if (refusal === undefined) throw error;
      // A redelivery of the close this reviewer made is not a second click: stay quiet.
      if (job.retry && refusal.code === ReviewIneligible.closed) {
        const stored = await deps.reviews.get(job.reviewId);
        if (stored?.closedBy === principal.id && stored.status === job.outcome) return;
      }
      await tell(refusal.code === 'NOT_FOUND' ? REVIEW_GONE_MESSAGE : refusal.message);
    }
  }

  async function vote(job: SlackVoteJob): Promise<void> {
    const record = await deps.store.get(job.requestId);
    if (record === undefined) {
      // Nothing to vote on, and nothing to record against: the reviewer is told and that is all.
      await (await api()).postEphemeral(job.channelId, job.slackUserId, 'This request no longer exists.');
      return;
    }
    const slack = await api();
    const tell = (text: string) => slack.postEphemeral(job.channelId, job.slackUserId, text);
    const refuse = async (code: string, message: string) => {
      await recordChatRefusal(deps.store, {
        requestId: job.requestId,
        channel: 'slack',
        chatUserId: job.slackUserId,
        code,
        reason: message,
        vote: job.vote,
        at: deps.clock.now(),
      });
      await tell(message);
    };
    if (job.vote === 'approve' && !reviewFacts(record, deps.consoleUrl).complete) {
      // The message offered no Approve: what it could not show in full is approved in the console only.
      await refuse(REVIEW_IN_CONSOLE, INCOMPLETE_REVIEW_NOTICE);
      return;
    }
    const principal = await reviewerOf(slack, job.slackUserId);
    if (principal === undefined) {
      await refuse(UNBOUND_IDENTITY_CODE, UNBOUND_IDENTITY_MESSAGE);
      return;
    }
    try {
      await deps.castVote({
        requestId: job.requestId,
        principal,
        input: {
          vote: job.vote,
          ...(job.reason === undefined ? {} : { reason: job.reason }),
          ...(job.stepUpConfirmation === undefined ? {} : { stepUpConfirmation: job.stepUpConfirmation }),
        },
        channel: 'slack',
      });
    } catch (error) {
      const refusal = refusalFor(error);
      if (refusal === undefined) throw error;
      // A redelivery of a vote we already recorded is not the reviewer's double click: stay quiet.
      if (job.retry && refusal.code === 'ALREADY_VOTED') return;
      await tell(refusal.message);
    }
  }

  return { acknowledge, processJob };
}
export type SlackInteractions = ReturnType<typeof createSlackInteractions>;
