/**
 * The HTTP API's OpenAPI 3.1 document (the REST API for people, the fast decision path for agents),
 * served at GET /api/openapi.json. Its schemas are generated
 * from the same zod schemas the handler validates with, so the description cannot drift from the code.
 */
import { ReviewInput, ReviewView } from './domain/after-the-fact-review.ts';
import { AgentDecisionRequest, DecidedBody, MAX_WAIT_SECONDS, PendingBody } from './domain/agent-api.ts';
import { Eligibility } from './domain/approval.ts';
import { AuditRecord } from './domain/audit-record.ts';
import { CallStatusValue, PrivilegedCall } from './domain/privileged-calls.ts';
import { JsonObject, Principal, RequestRecord, RequestStatusValue, VoteInput } from './domain/schemas.ts';
import * as z from './domain/zod.ts';
import { MAX_PAGE_SIZE } from './http/api-app.ts';
import {
  ClassificationDetailBody,
  PrivilegedCallPage,
  RequestDetailBody,
  ReviewClosedBody,
} from './http/bodies.ts';

/**
 * The document's components, as JSON Schema. The schemas only the document names are built here,
 * when the document is asked for, not when the handler loads: most starts never serve it.
 */
function componentSchemas(): Record<string, unknown> {
  const ErrorBody = z.strictObject({
    error: z.strictObject({
      code: z
        .string()
        .check(z.meta({ description: 'Stable, machine-readable reason, e.g. REQUESTER or ALREADY_VOTED.' })),
      message: z.string().check(z.meta({ description: 'What happened and why, in plain words.' })),
      issues: z
        .optional(z.array(z.string()))
        .check(z.meta({ description: 'One line per invalid field (400 only).' })),
    }),
  });

  const RequestPage = z.strictObject({
    items: z.array(RequestRecord),
    cursor: z
      .optional(z.string())
      .check(z.meta({ description: 'Pass as `cursor` to get the next page; absent on the last.' })),
  });

  const VoteAccepted = z.strictObject({
    request: RequestRecord,
    decided: z.boolean().check(z.meta({ description: 'Whether this vote decided the request.' })),
  });

  const Me = z.strictObject({ principal: Principal });

  const registry = z.registry<{ id: string }>();
  const named = {
    JsonValue: JsonObject._zod.def.out._zod.def.valueType,
    Principal,
    RequestRecord,
    AuditRecord,
    VoteInput,
    Eligibility,
    RequestPage,
    RequestDetail: RequestDetailBody,
    ClassificationDetail: ClassificationDetailBody,
    VoteAccepted,
    Me,
    PrivilegedCall,
    PrivilegedCallPage,
    Review: ReviewView,
    ReviewInput,
    ReviewClosed: ReviewClosedBody,
    Error: ErrorBody,
    AgentDecisionRequest,
    Decided: DecidedBody,
    Pending: PendingBody,
  };
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { uri: (id) => `#/components/schemas/${id}`, io: 'output' });
  // OpenAPI 3.1's default dialect is 2020-12 already; a fragment-only $id is not valid there.
  return Object.fromEntries(
    Object.entries(schemas).map(([id, { $schema: _dialect, $id: _id, ...schema }]) => [id, schema]),
  );
}

const json = (ref: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } });
const errorResponse = (description: string) => ({ description, content: json('Error') });
const authErrors = {
  '401': errorResponse('Missing, invalid or expired bearer token.'),
  '403': errorResponse('The token is valid but its holder is not in the Countersign directory.'),
};
const requestIdParameter = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string' },
  description: 'The requestId.',
};
const eventIdParameter = {
  name: 'eventId',
  in: 'path',
  required: true,
  schema: { type: 'string' },
  description: 'The CloudTrail eventID of the call.',
};
const pageParameters = [
  {
    name: 'limit',
    in: 'query',
    schema: { type: 'integer', minimum: 1, default: 25 },
    description: `Page size; values above ${MAX_PAGE_SIZE} are reduced to ${MAX_PAGE_SIZE}.`,
  },
  { name: 'cursor', in: 'query', schema: { type: 'string' }, description: 'From the previous page.' },
];
const reviewResponses = (what: string) => ({
  '200': { description: 'The review is closed.', content: json('ReviewClosed') },
  '400': errorResponse(
    'The body is not a valid review outcome: ACKNOWLEDGED needs a `reason`; nothing was recorded.',
  ),
  '401': authErrors['401'],
  '403': errorResponse(
    'The caller may not close it: an agent or service (NOT_A_HUMAN), the agent, its owner or whom it acts for ' +
      '(REQUESTER), or not in the review’s groups (NOT_IN_GROUP).',
  ),
  '404': errorResponse(`No ${what} with this id (or one the caller may not read).`),
  '409': errorResponse(
    `Already closed (REVIEW_CLOSED), or the ${what} has no after-the-fact review (NO_REVIEW).`,
  ),
});

export function buildOpenApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Countersign REST API',
      version: '1.0.0',
      description:
        'Review and decide approval requests from AI agents and pipelines. Every call except this document ' +
        'needs a bearer JWT from the configured issuer (the local twin: POST /local/token {"user":"alice"}).',
    },
    servers: [{ url: '/' }],
    security: [{ bearerAuth: [] }],
    paths: {
      '/api/requests': {
        get: {
          operationId: 'listRequests',
          summary: 'List requests, newest first',
          parameters: [
            {
              name: 'status',
              in: 'query',
              schema: z.toJSONSchema(RequestStatusValue),
              description: 'Only requests in this status.',
            },
            ...pageParameters,
          ],
          responses: {
            '200': { description: 'One page of requests.', content: json('RequestPage') },
            '400': errorResponse('Invalid query parameters.'),
            ...authErrors,
          },
        },
      },
      '/api/requests/{id}': {
        get: {
          operationId: 'getRequest',
          summary: 'A request with its votes, audit timeline and whether the caller may vote',
          parameters: [requestIdParameter],
          responses: {
            '200': { description: 'The request.', content: json('RequestDetail') },
            ...authErrors,
            '404': errorResponse('No request with this id.'),
          },
        },
      },
      '/api/requests/{id}/votes': {
        post: {
          operationId: 'castVote',
          summary:
            'Approve or deny a pending request (a reason is required to deny; a step-up approval carries the resource name)',
          parameters: [requestIdParameter],
          requestBody: { required: true, content: json('VoteInput') },
          responses: {
            '201': { description: 'The vote was recorded.', content: json('VoteAccepted') },
            '400': errorResponse(
              'The body is not a valid vote (INVALID_REQUEST), or it approves a step-up request without ' +
                '`stepUpConfirmation` set to the resource name (STEP_UP_REQUIRED); nothing was recorded.',
            ),
            '401': authErrors['401'],
            '403': errorResponse(
              'The caller may not vote: an agent or service (NOT_A_HUMAN), the requester or whom the agent acts ' +
                'for (REQUESTER), not in an approver group (NOT_IN_GROUP), or unknown to the directory.',
            ),
            '404': errorResponse('No request with this id.'),
            '409': errorResponse('Already voted (ALREADY_VOTED), already decided (NOT_PENDING) or EXPIRED.'),
          },
        },
      },
      '/api/classifications': {
        get: {
          operationId: 'showClassification',
          summary:
            'What Macie found in an S3 bucket or object: its classification, verdicts and history (auditors only)',
          parameters: [
            {
              name: 'resource',
              in: 'query',
              required: true,
              schema: { type: 'string' },
              description: 'The bucket or object ARN, e.g. arn:aws:s3:::finance-exports/2026/cards.csv.',
            },
          ],
          responses: {
            '200': { description: 'The classification.', content: json('ClassificationDetail') },
            '400': errorResponse('The resource is not an S3 bucket or object ARN.'),
            '401': authErrors['401'],
            '403': errorResponse(
              'The caller is not in an auditor group (NOT_AN_AUDITOR), or unknown to the directory.',
            ),
          },
        },
      },
      '/api/requests/{id}/review': {
        post: {
          operationId: 'closeRequestReview',
          summary:
            'Close the after-the-fact review of a break-glass request: ACKNOWLEDGED (with a reason) or ESCALATED',
          parameters: [requestIdParameter],
          requestBody: { required: true, content: json('ReviewInput') },
          responses: reviewResponses('request'),
        },
      },
      '/api/privileged-calls': {
        get: {
          operationId: 'listPrivilegedCalls',
          summary:
            'Privileged AWS calls (CloudTrail) reconciled with approvals, newest first; auditors and each call’s reviewers read them',
          parameters: [
            {
              name: 'status',
              in: 'query',
              schema: z.toJSONSchema(CallStatusValue),
              description: 'Only calls with this status.',
            },
            ...pageParameters,
          ],
          responses: {
            '200': { description: 'One page of calls.', content: json('PrivilegedCallPage') },
            '400': errorResponse('Invalid query parameters.'),
            ...authErrors,
          },
        },
      },
      '/api/privileged-calls/{eventId}': {
        get: {
          operationId: 'getPrivilegedCall',
          summary: 'One reconciled call, with the request that covers it or its after-the-fact review',
          parameters: [eventIdParameter],
          responses: {
            '200': { description: 'The call.', content: json('PrivilegedCall') },
            ...authErrors,
            '404': errorResponse('No call with this eventId.'),
          },
        },
      },
      '/api/privileged-calls/{eventId}/review': {
        post: {
          operationId: 'closeCallReview',
          summary:
            'Close the after-the-fact review of an UNAPPROVED (or BREAK_GLASS) call: ACKNOWLEDGED (with a reason) or ESCALATED',
          parameters: [eventIdParameter],
          requestBody: { required: true, content: json('ReviewInput') },
          responses: reviewResponses('call'),
        },
      },
      '/api/me': {
        get: {
          operationId: 'whoAmI',
          summary: 'The directory identity the bearer token resolves to',
          responses: { '200': { description: 'The caller.', content: json('Me') }, ...authErrors },
        },
      },
      '/api/receipts/jwks.json': {
        get: {
          operationId: 'receiptKeys',
          summary: 'The public keys decision receipts verify with (a JWKS; current and retired keys)',
          security: [],
          responses: {
            '200': { description: 'The JWKS: P-256 keys, `alg` ES256, `kid` = RFC 7638 thumbprint.' },
            '503': errorResponse('A key could not be read; try again.'),
          },
        },
      },
      '/api/agent/decisions': {
        post: {
          operationId: 'requestDecision',
          summary:
            'Agents: ask for a decision (the fast path). What policy alone decides is answered at once; the rest starts the approval workflow',
          security: [{ sigv4: [] }],
          requestBody: { required: true, content: json('AgentDecisionRequest') },
          responses: {
            '200': { description: 'Decided by policy, with its signed receipt.', content: json('Decided') },
            '202': {
              description: 'People decide, or Countersign executes it: wait with GET.',
              content: json('Pending'),
            },
            '400': errorResponse('The body is not a valid request; nothing was stored.'),
            '403': errorResponse(
              'The caller is not an agent (NOT_AN_AGENT), or asks in another agent’s name (NOT_THIS_AGENT).',
            ),
            '409': errorResponse('The requestId already names another action (REQUEST_ID_REUSED).'),
          },
        },
      },
      '/api/agent/decisions/{requestId}': {
        get: {
          operationId: 'awaitDecision',
          summary: 'Agents: the decision of one of their requests, waiting up to `wait` seconds for it',
          security: [{ sigv4: [] }],
          parameters: [
            {
              name: 'requestId',
              in: 'path',
              required: true,
              schema: { type: 'string' },
              description: 'The public request id, `<agentId>:<requestId>`.',
            },
            {
              name: 'wait',
              in: 'query',
              schema: { type: 'integer', minimum: 0, maximum: MAX_WAIT_SECONDS, default: 0 },
              description: 'Seconds to wait for the decision before answering 202.',
            },
          ],
          responses: {
            '200': { description: 'Decided, with its signed receipt.', content: json('Decided') },
            '202': { description: 'Not decided yet.', content: json('Pending') },
            '400': errorResponse('An invalid request id or wait.'),
            '403': errorResponse('The caller is not an agent, or the request is another agent’s.'),
            '404': errorResponse('No request with this id.'),
          },
        },
      },
      '/api/audit/jwks.json': {
        get: {
          operationId: 'auditDigestKeys',
          summary:
            'The public key the audit archive’s digests verify with (a JWKS), for `countersign audit verify`',
          security: [],
          responses: {
            '200': { description: 'The JWKS: a P-256 key, `alg` ES256, `kid` = RFC 7638 thumbprint.' },
            '503': errorResponse('The key could not be read; try again.'),
          },
        },
      },
      '/api/openapi.json': {
        get: {
          operationId: 'openApiDocument',
          summary: 'This document',
          security: [],
          responses: { '200': { description: 'The OpenAPI 3.1 document.' } },
        },
      },
    },
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        // API Gateway's IAM authorization: AWS Signature Version 4, service `execute-api`.
        sigv4: {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          'x-amazon-apigateway-authtype': 'awsSigv4',
        },
      },
      schemas: componentSchemas(),
    },
  };
}
