/**
 * `POST /slack/interactions`: verify, acknowledge, then vote. The acknowledgement does only what
 * must happen inside Slack's 3 seconds (the signature check, opening a modal while its trigger_id
 * is valid, validating a modal's fields) and hands the vote to `defer`; `processVote` does the rest
 * (identity binding, castVote, replies). In AWS `defer` is an asynchronous self-invocation
 * (InvocationType Event): a Lambda function cannot keep working after it has answered, and the
 * verified payload then travels inside AWS only. A refused request returns 401 with no body and
 * records nothing.
 */
import { z } from 'zod';
import type { HttpResult } from '../../domain/http-result.ts';
import { SLACK_IDS, slackDenyModal, slackStepUpModal } from '../../domain/messages/slack-review.ts';
import { resourceNameOf } from '../../domain/step-up.ts';
import type { CastVote, Clock, Directory, RequestStore } from '../../ports/index.ts';
import type { CredentialSource, SlackCredentials } from '../chat-credentials.ts';
import {
  recordUnboundIdentity,
  refusalFor,
  resolveSlackReviewer,
  UNBOUND_IDENTITY_MESSAGE,
} from '../chat-reviewers.ts';
import type { SlackApi } from './slack-api.ts';
import { verifySlackSignature } from './verify-signature.ts';

/** The vote handed from the acknowledgement to the worker: everything already verified. */
export const SlackVoteJob = z.strictObject({
  requestId: z.string().min(1),
  vote: z.enum(['approve', 'deny']),
  reason: z.string().optional(),
  /** Step-up approvals: the resource name the reviewer typed (castVote checks it). */
  stepUpConfirmation: z.string().optional(),
  slackUserId: z.string().min(1),
  /** Where to answer the reviewer with an ephemeral message. */
  channelId: z.string().min(1),
  /** Unique per click or submission (action_ts / view id): names the audit of a refusal. */
  attemptId: z.string().min(1),
  /** Slack redelivered this (X-Slack-Retry-Num): an "already voted" is then our own first delivery. */
  retry: z.boolean(),
});
export type SlackVoteJob = z.infer<typeof SlackVoteJob>;

const ModalMetadata = z.strictObject({ requestId: z.string().min(1), channelId: z.string().min(1) });

const BlockActions = z.looseObject({
  type: z.literal('block_actions'),
  user: z.looseObject({ id: z.string().min(1) }),
  trigger_id: z.string().min(1),
  channel: z.looseObject({ id: z.string().min(1) }),
  actions: z
    .array(z.looseObject({ action_id: z.string(), value: z.string().optional(), action_ts: z.string() }))
    .min(1),
});
const ViewSubmission = z.looseObject({
  type: z.literal('view_submission'),
  user: z.looseObject({ id: z.string().min(1) }),
  view: z.looseObject({
    id: z.string().min(1),
    callback_id: z.string(),
    private_metadata: z.string(),
    state: z.looseObject({
      values: z.record(z.string(), z.record(z.string(), z.looseObject({ value: z.string().nullish() }))),
    }),
  }),
});
const Interaction = z.discriminatedUnion('type', [BlockActions, ViewSubmission]);

export interface SlackInteractionsDeps {
  readonly credentials: CredentialSource<SlackCredentials>;
  readonly slack: (botToken: string) => SlackApi;
  readonly store: Pick<RequestStore, 'get' | 'appendAudit'>;
  readonly directory: Directory;
  readonly castVote: CastVote;
  readonly defer: (job: SlackVoteJob) => Promise<void>;
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

  async function onBlockAction(payload: z.infer<typeof BlockActions>, retry: boolean): Promise<HttpResult> {
    const action = payload.actions[0]!;
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
    await deps.defer({ ...base, vote: 'approve', attemptId: action.action_ts });
    return ACK;
  }

  async function onViewSubmission(
    payload: z.infer<typeof ViewSubmission>,
    retry: boolean,
  ): Promise<HttpResult> {
    const { view } = payload;
    const metadata = ModalMetadata.safeParse(parseJson(view.private_metadata));
    if (!metadata.success) return ACK;
    const base = { ...metadata.data, slackUserId: payload.user.id, attemptId: view.id, retry };
    if (view.callback_id === SLACK_IDS.denyModal) {
      const reason = view.state.values[SLACK_IDS.reasonBlock]?.[SLACK_IDS.reasonInput]?.value?.trim() ?? '';
      if (reason.length === 0) return modalErrors(SLACK_IDS.reasonBlock, 'A reason is required to deny.');
      await deps.defer({ ...base, vote: 'deny', reason });
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
      await deps.defer({ ...base, vote: 'approve', stepUpConfirmation: typed });
      return ACK;
    }
    return ACK;
  }

  /** The HTTP side: verify the raw body first, then acknowledge. */
  async function acknowledge(request: {
    readonly headers: Readonly<Record<string, string | undefined>>;
    readonly rawBody: Buffer;
  }): Promise<HttpResult> {
    try {
      const { signingSecret } = await deps.credentials();
      verifySlackSignature(request, signingSecret, Math.floor(deps.clock.now().getTime() / 1000));
    } catch {
      // A bad signature, or credentials we cannot read (then a real request cannot be told from a
      // forged one): either way, refuse.
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

  /** The worker side: bind the identity, vote, and tell the reviewer when the vote did not count. */
  async function processVote(input: SlackVoteJob): Promise<void> {
    const job = SlackVoteJob.parse(input);
    const slack = await api();
    const tell = (text: string) => slack.postEphemeral(job.channelId, job.slackUserId, text);
    const principal = await resolveSlackReviewer(
      deps.directory,
      (id) => slack.userEmail(id),
      job.slackUserId,
    );
    if (principal === undefined) {
      await recordUnboundIdentity(deps.store, {
        requestId: job.requestId,
        channel: 'slack',
        chatUserId: job.slackUserId,
        attemptId: job.attemptId,
        at: deps.clock.now(),
      });
      await tell(UNBOUND_IDENTITY_MESSAGE);
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

  return { acknowledge, processVote };
}
export type SlackInteractions = ReturnType<typeof createSlackInteractions>;
