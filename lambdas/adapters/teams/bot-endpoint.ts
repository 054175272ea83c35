/**
 * `POST /teams/messages`: the bot endpoint. Authenticates the Bot Framework JWT against the
 * activity it came with, then answers the `adaptiveCard/action` invoke synchronously (Teams waits
 * for the invoke response) with the updated card, or with an error body naming why the vote did
 * not count. A request that fails authentication gets 401 with no body and records nothing.
 */
import * as z from 'zod';
import type { HttpResult } from '../../domain/http-result.ts';
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
import type { CastVote, Clock, Directory, RequestStore } from '../../ports/index.ts';
import {
  recordChatRefusal,
  refusalFor,
  resolveTeamsReviewer,
  UNBOUND_IDENTITY_CODE,
  UNBOUND_IDENTITY_MESSAGE,
} from '../chat-reviewers.ts';
import type { BotFrameworkAuthenticator } from './bot-framework-auth.ts';

const InvokeActivity = z.looseObject({
  type: z.literal('invoke'),
  name: z.literal('adaptiveCard/action'),
  id: z.string().min(1),
  from: z.looseObject({ id: z.string().min(1), aadObjectId: z.string().optional() }),
  value: z
    .looseObject({
      action: z.looseObject({
        type: z.string(),
        verb: z.string().optional(),
        data: z.record(z.string(), z.unknown()).optional(),
      }),
    })
    .optional(),
});

const ActionData = z.looseObject({
  requestId: z.string().min(1),
  [TEAMS_INPUTS.reason]: z.string().optional(),
  [TEAMS_INPUTS.confirmResource]: z.string().optional(),
});

export interface BotEndpointDeps {
  readonly authenticator: BotFrameworkAuthenticator;
  readonly store: Pick<RequestStore, 'get' | 'appendAudit'>;
  readonly directory: Directory;
  readonly castVote: CastVote;
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

export function createTeamsBotEndpoint(deps: BotEndpointDeps) {
  async function vote(activity: z.infer<typeof InvokeActivity>): Promise<InvokeResponse> {
    const action = activity.value?.action;
    if (action === undefined) return teamsErrorResponse(400, 'BadRequest', 'Missing value property');
    if (action.type !== 'Action.Execute') {
      return teamsErrorResponse(400, 'NotSupported', `The action '${action.type}' is not supported.`);
    }
    const verb = action.verb;
    const data = ActionData.safeParse(action.data);
    if ((verb !== TEAMS_VERBS.approve && verb !== TEAMS_VERBS.deny) || !data.success) {
      return teamsErrorResponse(400, 'BadRequest', 'This card action is not one Countersign understands.');
    }
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
    return invokeResult(await vote(invoke.data));
  }

  return { handle };
}
export type TeamsBotEndpoint = ReturnType<typeof createTeamsBotEndpoint>;
