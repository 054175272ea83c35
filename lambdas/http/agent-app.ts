/**
 * The agents' HTTP API (the fast decision path, domain/agent-api.ts): routes, who the caller is,
 * and the mapping of the services to HTTP. In AWS the route's IAM authorizer has verified the
 * caller's SigV4 signature and names it by ARN; the twin verifies the signature the same way and
 * passes the same context. The caller is the agent whose principal it is, or it is refused (403):
 * people use the REST API, agents this one.
 */

import {
  AGENT_DECISIONS_PATH,
  type AgentDecisionBody,
  AgentDecisionRequest,
  AgentDecisionStatus,
  WaitSeconds,
} from '../domain/agent-api.ts';
import { type AgentPrincipal, agentOfCaller } from '../domain/agent-principals.ts';
import { ForbiddenError, ValidationError } from '../domain/errors.ts';
import type { HttpResult } from '../domain/http-result.ts';
import { parse, RequestId } from '../domain/schemas.ts';
import * as z from '../domain/zod.ts';
import { type AgentDecisionDeps, awaitDecision, requestDecision } from '../services/agent-decisions.ts';
import type { HttpRequest } from './request.ts';
import { jsonResponse, type ServerFaultLogger, serveRoute } from './responses.ts';
import type { Route } from './router.ts';

export interface AgentApiDependencies {
  readonly decisions: AgentDecisionDeps;
  /** The agents and the IAM principals they run as (`countersign:agents`). */
  readonly agents: readonly AgentPrincipal[];
  readonly logger: ServerFaultLogger;
}

/** A request as the IAM authorizer passed it: with the ARN of the identity that signed it. */
export interface AgentHttpRequest extends HttpRequest {
  /** `requestContext.authorizer.iam.userArn`; undefined when nothing authorized the call. */
  readonly callerArn: string | undefined;
}

type AgentRoute = Route<
  (
    request: AgentHttpRequest,
    agentId: string,
    params: Readonly<Record<string, string>>,
  ) => Promise<HttpResult>
>;

function answer(body: AgentDecisionBody): HttpResult {
  return jsonResponse(body.status === AgentDecisionStatus.decided ? 200 : 202, body);
}

function jsonBody(request: HttpRequest): unknown {
  if (request.body === undefined || request.body.trim() === '') {
    throw new ValidationError('invalid request: a JSON body is required', [
      '(root): a JSON body is required',
    ]);
  }
  try {
    return JSON.parse(request.body);
  } catch (error) {
    throw new ValidationError('invalid request: the body is not valid JSON', ['(root): not valid JSON'], {
      cause: error,
    });
  }
}

/** The agent the signed caller is; 403 for anyone else (a person's or an unknown role's credentials). */
function agentOf(deps: AgentApiDependencies, request: AgentHttpRequest): string {
  const agentId = request.callerArn === undefined ? undefined : agentOfCaller(deps.agents, request.callerArn);
  if (agentId === undefined) {
    throw new ForbiddenError(
      'NOT_AN_AGENT',
      'only agents call this API, signed with their own IAM principal (countersign:agents)',
    );
  }
  return agentId;
}

function routes(deps: AgentApiDependencies): AgentRoute[] {
  return [
    {
      method: 'POST',
      path: AGENT_DECISIONS_PATH,
      handler: async (request, agentId) =>
        answer(
          await requestDecision(deps.decisions, {
            agentId,
            request: parse(AgentDecisionRequest, jsonBody(request), 'request'),
          }),
        ),
    },
    {
      method: 'GET',
      path: `${AGENT_DECISIONS_PATH}/{requestId}`,
      handler: async (request, agentId, params) =>
        answer(
          await awaitDecision(deps.decisions, {
            agentId,
            requestId: parse(RequestId, params.requestId, 'request id'),
            waitSeconds: parse(z._default(WaitSeconds, 0), request.query.wait, 'wait'),
          }),
        ),
    },
  ];
}

export type AgentApp = (request: AgentHttpRequest) => Promise<HttpResult>;

export function createAgentApp(deps: AgentApiDependencies): AgentApp {
  const table = routes(deps);
  return (request) =>
    serveRoute(table, request, deps.logger, (handler, params) =>
      handler(request, agentOf(deps, request), params),
    );
}
