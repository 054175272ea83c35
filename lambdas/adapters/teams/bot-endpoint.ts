/**
 * `POST /teams/messages`: the bot endpoint. Authenticates the Bot Framework JWT against the
 * activity it came with, then answers the `adaptiveCard/action` invoke synchronously (Teams waits
 * for the invoke response) with the updated card, or with an error body naming why the vote (or
 * the close of an after-the-fact review) did not count. A request that fails authentication gets
 * 401 with no body and records nothing.
 */
import { ReviewStatus } from '../../domain/after-the-fact-review.ts';
import type { HttpResult } from '../../domain/http-result.ts';
import {
  TEAMS_REVIEW_INPUTS,
  TEAMS_REVIEW_VERBS,
  teamsReviewAlertCard,
} from '../../domain/messages/review-alert.ts';
import {
  INCOMPLETE_REVIEW_NOTICE,
  REVIEW_IN_CONSOLE,
  reviewFacts,
} from '../../domain/messages/review-facts.ts';
import {
  type InvokeResponse,
  TEAMS_INPUTS,
  TEAMS_VERBS,
  teamsCardResponse,
  teamsErrorResponse,
  teamsReviewCard,
} from '../../domain/messages/teams-review.ts';
import * as z from '../../domain/zod.ts';
import type {
  CastVote,
  Clock,
  CloseReview,
  Directory,
  RequestStore,
  ReviewStore,
} from '../../ports/index.ts';
import {
  REVIEW_GONE_MESSAGE,
  recordChatRefusal,
  refusalFor,
  resolveTeamsReviewer,
  UNBOUND_IDENTITY_CODE,
  UNBOUND_IDENTITY_MESSAGE,
  UNBOUND_REVIEWER_MESSAGE,
} from '../chat-reviewers.ts';
import type { BotFrameworkAuthenticator } from './bot-framework-auth.ts';

const InvokeActivity = z.looseObject({
  type: z.literal('invoke'),
  name: z.literal('adaptiveCard/action'),
  id: z.string().check(z.minLength(1)),
  from: z.looseObject({ id: z.string().check(z.minLength(1)), aadObjectId: z.optional(z.string()) }),
  value: z.optional(
    z.looseObject({
      action: z.looseObject({
        type: z.string(),
        verb: z.optional(z.string()),
        data: z.optional(z.record(z.string(), z.unknown())),
      }),
    }),
  ),
});

const ActionData = z.looseObject({
  requestId: z.string().check(z.minLength(1)),
  [TEAMS_INPUTS.reason]: z.optional(z.string()),
  [TEAMS_INPUTS.confirmResource]: z.optional(z.string()),
});

const ReviewActionData = z.looseObject({
  reviewId: z.string().check(z.minLength(1)),
  [TEAMS_REVIEW_INPUTS.reason]: z.optional(z.string()),
});

const REVIEW_OUTCOME = {
  [TEAMS_REVIEW_VERBS.acknowledge]: ReviewStatus.acknowledged,
  [TEAMS_REVIEW_VERBS.escalate]: ReviewStatus.escalated,
} as const;

function isReviewVerb(verb: string | undefined): verb is keyof typeof REVIEW_OUTCOME {
  return verb === TEAMS_REVIEW_VERBS.acknowledge || verb === TEAMS_REVIEW_VERBS.escalate;
}

export interface BotEndpointDeps {
  readonly authenticator: BotFrameworkAuthenticator;
  readonly store: Pick<RequestStore, 'get' | 'appendAudit'>;
  readonly reviews: Pick<ReviewStore, 'get'>;
  readonly directory: Directory;
  readonly castVote: CastVote;
  readonly closeReview: CloseReview;
  readonly clock: Clock;
  readonly consoleUrl: string;
}

function invokeResult(response: InvokeResponse): HttpResult {
  // As botbuilder does: the HTTP status is the invoke response's statusCode.
  return {
    statusCode: response.statusCode,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(response),
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

type CardAction = NonNullable<z.infer<typeof InvokeActivity>['value']>['action'];

const NOT_UNDERSTOOD = teamsErrorResponse(
  400,
  'BadRequest',
  'This card action is not one Countersign understands.',
);

export function createTeamsBotEndpoint(deps: BotEndpointDeps) {
  /**
   * Acknowledge (a reason required, closeReview checks it) or Escalate from the alert card, answered
   * with the card refreshed to show the outcome. A refusal changes nothing and is answered with why.
   */
  async function closeFromTeams(
    activity: z.infer<typeof InvokeActivity>,
    verb: keyof typeof REVIEW_OUTCOME,
    action: CardAction,
  ): Promise<InvokeResponse> {
    const data = ReviewActionData.safeParse(action.data);
    if (!data.success) return NOT_UNDERSTOOD;
    const { reviewId } = data.data;
    if ((await deps.reviews.get(reviewId)) === undefined) {
      return teamsErrorResponse(404, 'NOT_FOUND', REVIEW_GONE_MESSAGE);
    }
    const principal = await resolveTeamsReviewer(deps.directory, activity.from.aadObjectId);
    if (principal === undefined)
      return teamsErrorResponse(403, UNBOUND_IDENTITY_CODE, UNBOUND_REVIEWER_MESSAGE);
    const reason = data.data[TEAMS_REVIEW_INPUTS.reason]?.trim() || undefined;
    try {
      const { review } = await deps.closeReview({
        reviewId,
        principal,
        input: { outcome: REVIEW_OUTCOME[verb], ...(reason === undefined ? {} : { reason }) },
        channel: 'teams',
      });
      return teamsCardResponse(teamsReviewAlertCard(review, deps.consoleUrl));
    } catch (error) {
      const refusal = refusalFor(error);
      if (refusal === undefined) throw error;
      const message = refusal.code === 'NOT_FOUND' ? REVIEW_GONE_MESSAGE : refusal.message;
      return teamsErrorResponse(refusal.status, refusal.code, message);
    }
  }

  async function act(activity: z.infer<typeof InvokeActivity>): Promise<InvokeResponse> {
    const action = activity.value?.action;
    if (action === undefined) return teamsErrorResponse(400, 'BadRequest', 'Missing value property');
    if (action.type !== 'Action.Execute') {
      return teamsErrorResponse(400, 'NotSupported', `The action '${action.type}' is not supported.`);
    }
    const verb = action.verb;
    if (isReviewVerb(verb)) return closeFromTeams(activity, verb, action);
    const data = ActionData.safeParse(action.data);
    if ((verb !== TEAMS_VERBS.approve && verb !== TEAMS_VERBS.deny) || !data.success) return NOT_UNDERSTOOD;
    // The request first: an action naming a request that does not exist records nothing at all.
    const record = await deps.store.get(data.data.requestId);
    if (record === undefined) return teamsErrorResponse(404, 'NOT_FOUND', 'This request no longer exists.');
    const refuse = async (status: number, code: string, message: string) => {
      await recordChatRefusal(deps.store, {
        requestId: record.requestId,
        channel: 'teams',
        chatUserId: activity.from.aadObjectId ?? activity.from.id,
        code,
        reason: message,
        vote: verb,
        at: deps.clock.now(),
      });
      return teamsErrorResponse(status, code, message);
    };
    if (verb === TEAMS_VERBS.approve && !reviewFacts(record, deps.consoleUrl).complete) {
      // The card offered no Approve: what it could not show in full is approved in the console only.
      return refuse(400, REVIEW_IN_CONSOLE, INCOMPLETE_REVIEW_NOTICE);
    }
    const principal = await resolveTeamsReviewer(deps.directory, activity.from.aadObjectId);
    if (principal === undefined) return refuse(403, UNBOUND_IDENTITY_CODE, UNBOUND_IDENTITY_MESSAGE);
    const reason = data.data[TEAMS_INPUTS.reason]?.trim() || undefined;
    const confirmation = data.data[TEAMS_INPUTS.confirmResource]?.trim() || undefined;
    try {
      const result = await deps.castVote({
        requestId: record.requestId,
        principal,
        input: {
          vote: verb,
          ...(reason === undefined ? {} : { reason }),
          // What the reviewer typed; castVote checks it for a step-up request.
          ...(confirmation === undefined ? {} : { stepUpConfirmation: confirmation }),
        },
        channel: 'teams',
      });
      return teamsCardResponse(teamsReviewCard(result.record, deps.consoleUrl));
    } catch (error) {
      const refusal = refusalFor(error);
      if (refusal === undefined) throw error;
      return teamsErrorResponse(refusal.status, refusal.code, refusal.message);
    }
  }

  async function handle(request: {
    readonly headers: Readonly<Record<string, string | undefined>>;
    readonly body: string;
  }): Promise<HttpResult> {
    const activity = parseJson(request.body) as { serviceUrl?: unknown; channelId?: unknown } | undefined;
    const authorization = Object.entries(request.headers).find(
      ([key]) => key.toLowerCase() === 'authorization',
    )?.[1];
    try {
      if (activity === undefined || activity === null) throw new Error('no activity');
      await deps.authenticator.authenticate(authorization, activity);
    } catch {
      return { statusCode: 401, body: '' };
    }
    const invoke = InvokeActivity.safeParse(activity);
    // Other activities (conversationUpdate, plain messages) need no answer from a review bot.
    if (!invoke.success) return { statusCode: 200, body: '' };
    return invokeResult(await act(invoke.data));
  }

  return { handle };
}
export type TeamsBotEndpoint = ReturnType<typeof createTeamsBotEndpoint>;
