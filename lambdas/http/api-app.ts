/**
 * The REST API: routes, authentication and the mapping from the services to HTTP. Built from its
 * ports so that the Lambda entry (handlers/api.ts), the twin and the tests run the same code.
 */
import { ReviewInput, requestReviewId, reviewView } from '../domain/after-the-fact-review.ts';
import { canRead, checkEligibility } from '../domain/approval.ts';
import {
  AuthenticationError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  ValidationError,
} from '../domain/errors.ts';
import type { HttpResult } from '../domain/http-result.ts';
import {
  type CallRecord,
  CallStatusValue,
  canReadCall,
  type PrivilegedCall,
  toPrivilegedCall,
} from '../domain/privileged-calls.ts';
import {
  Decision,
  type Principal,
  parse,
  type RequestRecord,
  RequestStatusValue,
  VoteInput,
} from '../domain/schemas.ts';
import * as z from '../domain/zod.ts';
import type {
  AccessTokenVerifier,
  CastVote,
  ClassificationReader,
  Clock,
  CloseReview,
  Directory,
  PrivilegedCallStore,
  RequestStore,
  ReviewStore,
  SettleRequest,
} from '../ports/index.ts';
import { showClassification } from '../services/classification.ts';
import type {
  ClassificationDetailBody,
  PrivilegedCallPage,
  RequestDetailBody,
  ReviewClosedBody,
} from './bodies.ts';
import { bearerToken, type HttpRequest } from './request.ts';
import { jsonResponse, type ServerFaultLogger, serveRoute } from './responses.ts';
import type { Route } from './router.ts';

export const IdentityProblem = {
  unknown: 'UNKNOWN_IDENTITY',
  ambiguous: 'AMBIGUOUS_IDENTITY',
} as const;

export interface ApiDependencies {
  readonly store: Pick<RequestStore, 'get' | 'list' | 'listAudit'>;
  /** Macie's verdicts, read by auditors through GET /api/classifications. */
  readonly classifications: ClassificationReader;
  /** Privileged calls reconciled from CloudTrail. */
  readonly calls: Pick<PrivilegedCallStore, 'getCall' | 'listCalls'>;
  /** After-the-fact reviews of unapproved calls and break-glass requests. */
  readonly reviews: Pick<ReviewStore, 'get' | 'getMany'>;
  readonly directory: Directory;
  /** Groups whose members may read every request (besides its requesters and approver groups). */
  readonly auditorGroups: readonly string[];
  readonly verifier: AccessTokenVerifier;
  readonly castVote: CastVote;
  readonly closeReview: CloseReview;
  /** Run on a request before its detail is shown: its stored votes may already decide it. */
  readonly settle: SettleRequest;
  readonly clock: Clock;
  readonly logger: ServerFaultLogger;
  /**
   * The OpenAPI document served at /api/openapi.json, asked for when that route is called: building
   * it (z.toJSONSchema over every schema) is work no other route needs at a cold start (issue 15).
   */
  readonly openApiDocument: () => unknown;
}

/** Larger pages are reduced to this size (the response then carries a cursor), not refused. */
export const MAX_PAGE_SIZE = 100;
const DEFAULT_PAGE_SIZE = 25;

export const ClassificationQuery = z.strictObject({
  resource: z.string().check(z.minLength(1), z.maxLength(2048)),
});

/** The code of a classification read by someone outside the auditor groups. */
export const NOT_AN_AUDITOR = 'NOT_AN_AUDITOR';

export const ListQuery = z.strictObject({
  status: z.optional(RequestStatusValue),
  limit: z.pipe(
    z._default(z.coerce.number<string>().check(z.int(), z.gte(1)), DEFAULT_PAGE_SIZE),
    z.transform((limit) => Math.min(limit, MAX_PAGE_SIZE)),
  ),
  cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(4096))),
});

export const CallListQuery = z.extend(ListQuery, { status: z.optional(CallStatusValue) });

interface RouteContext {
  readonly request: HttpRequest;
  readonly params: Readonly<Record<string, string>>;
  readonly principal: Principal;
}

type ApiRoute = Route<
  | { readonly public: true; readonly handle: () => Promise<HttpResult> }
  | { readonly public: false; readonly handle: (context: RouteContext) => Promise<HttpResult> }
>;

/**
 * Resolves the token's holder in the directory, by id (`sub`) and by verified email. Unknown or
 * contradictory identities are refused: nobody is guessed into a principal.
 */
async function resolvePrincipal(directory: Directory, verifier: AccessTokenVerifier, request: HttpRequest) {
  const token = bearerToken(request);
  if (token === undefined) throw new AuthenticationError('a bearer token is required');
  const verified = await verifier.verify(token);
  const [bySubject, byEmail] = await Promise.all([
    directory.resolve({ kind: 'id', value: verified.subject }),
    verified.email === undefined ? undefined : directory.resolve({ kind: 'email', value: verified.email }),
  ]);
  if (bySubject !== undefined && byEmail !== undefined && bySubject.id !== byEmail.id) {
    throw new ForbiddenError(
      IdentityProblem.ambiguous,
      "The token's subject and email name two different people in the Countersign directory.",
    );
  }
  const principal = bySubject ?? byEmail;
  if (principal === undefined) {
    throw new ForbiddenError(
      IdentityProblem.unknown,
      'Your identity is not in the Countersign directory, so you cannot use this API. Ask an administrator to add you.',
    );
  }
  return principal;
}

function parseJsonBody(request: HttpRequest, what: string): unknown {
  if (request.body === undefined || request.body.trim() === '') {
    throw new ValidationError(`invalid ${what}: a JSON body is required`, [
      '(root): a JSON body is required',
    ]);
  }
  try {
    return JSON.parse(request.body);
  } catch (error) {
    throw new ValidationError(`invalid ${what}: the body is not valid JSON`, ['(root): not valid JSON'], {
      cause: error,
    });
  }
}

function routes(deps: ApiDependencies): ApiRoute[] {
  const readable = (principal: Principal) => (record: RequestRecord) =>
    canRead(record, principal, deps.auditorGroups);
  /** A request the caller may not read is answered exactly as one that does not exist. */
  const getRecord = async (requestId: string, principal: Principal): Promise<RequestRecord> => {
    const record = await deps.store.get(requestId);
    if (record === undefined || !readable(principal)(record)) {
      throw new NotFoundError(`no request with id ${requestId}`);
    }
    return record;
  };
  /** A call the caller may not read is answered exactly as one that does not exist. */
  const getCall = async (eventId: string, principal: Principal): Promise<CallRecord> => {
    const call = await deps.calls.getCall(eventId);
    if (call === undefined || !canReadCall(call, principal, deps.auditorGroups)) {
      throw new NotFoundError(`no privileged call with eventId ${eventId}`);
    }
    return call;
  };
  /** The calls as the API shows them, each with its review. */
  const shown = async (calls: readonly CallRecord[]): Promise<PrivilegedCall[]> => {
    const reviewIds = calls.flatMap((call) => (call.reviewId === undefined ? [] : [call.reviewId]));
    const reviews = new Map(
      (await deps.reviews.getMany(reviewIds)).map((review) => [review.reviewId, review]),
    );
    return calls.map((call) => {
      const review = call.reviewId === undefined ? undefined : reviews.get(call.reviewId);
      return toPrivilegedCall(call, review === undefined ? undefined : reviewView(review));
    });
  };
  const reviewOf = async (record: RequestRecord) => {
    if (record.decision !== Decision.breakGlass) return undefined;
    const review = await deps.reviews.get(requestReviewId(record.requestId));
    return review === undefined ? undefined : reviewView(review);
  };
  return [
    {
      method: 'GET',
      path: '/api/openapi.json',
      handler: { public: true, handle: async () => jsonResponse(200, deps.openApiDocument()) },
    },
    {
      method: 'GET',
      path: '/api/me',
      handler: { public: false, handle: async ({ principal }) => jsonResponse(200, { principal }) },
    },
    {
      method: 'GET',
      path: '/api/requests',
      handler: {
        public: false,
        handle: async ({ request, principal }) => {
          const query = parse(ListQuery, request.query, 'query');
          const page = await deps.store.list({ ...query, visible: readable(principal) });
          return jsonResponse(200, page.cursor === undefined ? { items: page.items } : page);
        },
      },
    },
    {
      method: 'GET',
      path: '/api/requests/{id}',
      handler: {
        public: false,
        handle: async ({ params, principal }) => {
          const record = await deps.settle(await getRecord(params.id!, principal));
          const timeline = await deps.store.listAudit(record.requestId);
          const review = await reviewOf(record);
          const body: RequestDetailBody = {
            request: record,
            timeline,
            canVote: checkEligibility(record, principal, deps.clock.now()),
            ...(review === undefined ? {} : { review }),
          };
          return jsonResponse(200, body);
        },
      },
    },
    {
      method: 'GET',
      path: '/api/classifications',
      handler: {
        public: false,
        handle: async ({ request, principal }) => {
          // Where sensitive data lies is for the auditors: nobody else may ask about any resource.
          if (!principal.groups.some((group) => deps.auditorGroups.includes(group))) {
            throw new ForbiddenError(
              NOT_AN_AUDITOR,
              'Only members of the auditor groups may read classifications.',
            );
          }
          const { resource } = parse(ClassificationQuery, request.query, 'query');
          const body: ClassificationDetailBody = await showClassification(
            { store: deps.classifications },
            resource,
          );
          return jsonResponse(200, body);
        },
      },
    },
    {
      method: 'POST',
      path: '/api/requests/{id}/votes',
      handler: {
        public: false,
        handle: async ({ request, params, principal }) => {
          const input = parse(VoteInput, parseJsonBody(request, 'vote'), 'vote');
          // Someone who may not read the request must not learn that it exists by voting on it.
          await getRecord(params.id!, principal);
          const { record, decided } = await deps.castVote({
            requestId: params.id!,
            principal,
            input,
            channel: 'api',
          });
          return jsonResponse(201, { request: record, decided });
        },
      },
    },
    {
      method: 'POST',
      path: '/api/requests/{id}/review',
      handler: {
        public: false,
        handle: async ({ request, params, principal }) => {
          const input = parse(ReviewInput, parseJsonBody(request, 'review'), 'review');
          const record = await getRecord(params.id!, principal);
          if (record.decision !== Decision.breakGlass) {
            throw new ConflictError('NO_REVIEW', 'Only a break-glass request is reviewed after the fact.');
          }
          const { review } = await deps.closeReview({
            reviewId: requestReviewId(record.requestId),
            principal,
            input,
            channel: 'api',
          });
          const body: ReviewClosedBody = { review: reviewView(review) };
          return jsonResponse(200, body);
        },
      },
    },
    {
      method: 'GET',
      path: '/api/privileged-calls',
      handler: {
        public: false,
        handle: async ({ request, principal }) => {
          const query = parse(CallListQuery, request.query, 'query');
          const page = await deps.calls.listCalls({
            ...query,
            visible: (call) => canReadCall(call, principal, deps.auditorGroups),
          });
          const body: PrivilegedCallPage = {
            items: await shown(page.items),
            ...(page.cursor === undefined ? {} : { cursor: page.cursor }),
          };
          return jsonResponse(200, body);
        },
      },
    },
    {
      method: 'GET',
      path: '/api/privileged-calls/{eventId}',
      handler: {
        public: false,
        handle: async ({ params, principal }) => {
          const [call] = await shown([await getCall(params.eventId!, principal)]);
          return jsonResponse(200, call);
        },
      },
    },
    {
      method: 'POST',
      path: '/api/privileged-calls/{eventId}/review',
      handler: {
        public: false,
        handle: async ({ request, params, principal }) => {
          const input = parse(ReviewInput, parseJsonBody(request, 'review'), 'review');
          const call = await getCall(params.eventId!, principal);
          if (call.reviewId === undefined) {
            throw new ConflictError(
              'NO_REVIEW',
              `A ${call.status} call has no after-the-fact review: only UNAPPROVED and BREAK_GLASS calls do.`,
            );
          }
          const { review } = await deps.closeReview({
            reviewId: call.reviewId,
            principal,
            input,
            channel: 'api',
          });
          const body: ReviewClosedBody = { review: reviewView(review) };
          return jsonResponse(200, body);
        },
      },
    },
  ];
}

export type ApiApp = (request: HttpRequest) => Promise<HttpResult>;

export function createApiApp(deps: ApiDependencies): ApiApp {
  const table = routes(deps);
  return (request) =>
    serveRoute(table, request, deps.logger, async (route, params) => {
      if (route.public) return route.handle();
      const principal = await resolvePrincipal(deps.directory, deps.verifier, request);
      return route.handle({ request, params, principal });
    });
}
