/**
 * The HTTP API (API Gateway v2) on the twin: route matching with API Gateway's rules (exact method
 * before ANY, most specific path first, `{param}` and greedy `{proxy+}`, `$default` last), the
 * payload-format-2.0 event a handler receives, and the translation of its result back to HTTP.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { LOCAL_ACCOUNT } from '../cloudformation/intrinsics.ts';
import type { TwinHttpApiRoute } from '../cloudformation/template.ts';
import { jsonResponse, type TwinRequest, type TwinResponse } from '../http.ts';
import type { IamAuthorization, IamAuthorizerContext } from './iam-authorizer.ts';

export interface RouteMatch<R> {
  readonly route: R;
  readonly pathParameters: Record<string, string>;
}

export interface RoutePattern {
  /** Upper-case method or `ANY`. */
  readonly method: string;
  /** `/a/{b}/{c+}`, or `$default`. */
  readonly path: string;
}

/** Claims of a verified JWT, as the HTTP API's JWT authorizer hands them to the function. */
export interface JwtAuthorizerContext {
  readonly claims: Record<string, string | number | boolean | string[]>;
  readonly scopes: string[];
}

function matchPath(template: string, path: string): Record<string, string> | undefined {
  const templateParts = template.split('/').slice(1);
  const pathParts = path.split('/').slice(1);
  const parameters: Record<string, string> = {};
  for (let index = 0; index < templateParts.length; index += 1) {
    const part = templateParts[index]!;
    const greedy = /^\{(.+)\+\}$/.exec(part);
    if (greedy !== null) {
      const rest = pathParts.slice(index);
      if (rest.length === 0 || rest.join('') === '') return undefined;
      parameters[greedy[1]!] = decodeURIComponent(rest.join('/'));
      return parameters;
    }
    const value = pathParts[index];
    if (value === undefined) return undefined;
    const parameter = /^\{(.+)\}$/.exec(part);
    if (parameter !== null) {
      if (value === '') return undefined;
      parameters[parameter[1]!] = decodeURIComponent(value);
    } else if (part !== value) {
      return undefined;
    }
  }
  return templateParts.length === pathParts.length ? parameters : undefined;
}

/** Literal segments count most, then parameters; a greedy parameter least. */
function specificity(pattern: RoutePattern): number[] {
  if (pattern.path === '$default') return [-1, -1, -1];
  const parts = pattern.path.split('/').slice(1);
  const literal = parts.filter((part) => !part.startsWith('{')).length;
  const greedy = parts.some((part) => part.endsWith('+}')) ? 0 : 1;
  return [greedy, literal, pattern.method === 'ANY' ? 0 : 1];
}

function compareSpecificity(a: RoutePattern, b: RoutePattern): number {
  const [left, right] = [specificity(a), specificity(b)];
  for (let index = 0; index < left.length; index += 1) {
    if (left[index] !== right[index]) return right[index]! - left[index]!;
  }
  return 0;
}

export function matchRoute<R extends RoutePattern>(
  routes: readonly R[],
  method: string,
  path: string,
): RouteMatch<R> | undefined {
  for (const route of [...routes].sort(compareSpecificity)) {
    if (route.method !== 'ANY' && route.method !== method) continue;
    if (route.path === '$default') return { route, pathParameters: {} };
    const pathParameters = matchPath(route.path, path);
    if (pathParameters !== undefined) return { route, pathParameters };
  }
  return undefined;
}

const TEXT_TYPES = /^(text\/|application\/(json|x-www-form-urlencoded|xml|javascript)|[^;]*\+json)/;

function isTextBody(request: TwinRequest): boolean {
  const type = request.headers['content-type'];
  return type === undefined || TEXT_TYPES.test(type);
}

/** What an authorizer established about the caller: a JWT's claims, or the IAM identity that signed. */
export type AuthorizerContext =
  | { readonly jwt: JwtAuthorizerContext }
  | { readonly iam: IamAuthorizerContext };

/** The version 2.0 event API Gateway gives a Lambda integration. */
export function toApiGatewayEvent(
  request: TwinRequest,
  match: RouteMatch<RoutePattern>,
  authorizer?: AuthorizerContext,
): APIGatewayProxyEventV2 {
  const now = new Date();
  const routeKey = match.route.path === '$default' ? '$default' : `${match.route.method} ${match.route.path}`;
  const cookies = request.headers.cookie?.split(';').map((cookie) => cookie.trim());
  const { cookie: _cookie, ...headers } = request.headers;
  const queryStringParameters: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(request.rawQueryString)) {
    queryStringParameters[key] =
      key in queryStringParameters ? `${queryStringParameters[key]},${value}` : value;
  }
  const text = isTextBody(request);
  const event: APIGatewayProxyEventV2 & { requestContext: { authorizer?: AuthorizerContext } } = {
    version: '2.0',
    routeKey,
    rawPath: request.path,
    rawQueryString: request.rawQueryString,
    headers,
    requestContext: {
      accountId: LOCAL_ACCOUNT,
      apiId: 'local',
      domainName: request.headers.host ?? 'localhost',
      domainPrefix: (request.headers.host ?? 'localhost').split('.')[0]!,
      http: {
        method: request.method,
        path: request.path,
        protocol: 'HTTP/1.1',
        sourceIp: request.sourceIp,
        userAgent: request.headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
      ...(authorizer === undefined ? {} : { authorizer }),
    },
    isBase64Encoded: request.body.length > 0 && !text,
    ...(cookies === undefined ? {} : { cookies }),
    ...(Object.keys(queryStringParameters).length > 0 ? { queryStringParameters } : {}),
    ...(Object.keys(match.pathParameters).length > 0 ? { pathParameters: match.pathParameters } : {}),
    ...(request.body.length > 0 ? { body: request.body.toString(text ? 'utf8' : 'base64') } : {}),
  };
  return event;
}

/** What API Gateway makes of a function's result (payload format 2.0, including the inferred form). */
export function fromApiGatewayResult(result: unknown): TwinResponse {
  if (result === null || typeof result !== 'object' || !('statusCode' in result)) {
    // No statusCode: API Gateway answers 200 with the result as JSON.
    return jsonResponse(200, result);
  }
  const structured = result as Exclude<APIGatewayProxyResultV2, string>;
  const headers = Object.fromEntries(
    Object.entries(structured.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]),
  );
  const body =
    structured.body === undefined
      ? ''
      : structured.isBase64Encoded === true
        ? Buffer.from(structured.body, 'base64')
        : structured.body;
  return {
    statusCode: structured.statusCode ?? 200,
    headers,
    ...(structured.cookies === undefined ? {} : { cookies: structured.cookies }),
    body,
  };
}

/** A route served by the twin's own code beside the template's (e.g. `/local/token`). */
export interface LocalRoute extends RoutePattern {
  handle(request: TwinRequest, pathParameters: Record<string, string>): Promise<TwinResponse>;
}

export interface HttpApiOptions {
  readonly routes: readonly TwinHttpApiRoute[];
  /** Runs a route's function with its event (a Lambda invocation). */
  readonly invoke: (route: TwinHttpApiRoute, event: APIGatewayProxyEventV2) => Promise<unknown>;
  /** The JWT authorizer of the JWT routes: the verified claims, or undefined to refuse. */
  readonly authorize: (
    token: string,
    route: TwinHttpApiRoute,
  ) => Promise<JwtAuthorizerContext | undefined> | JwtAuthorizerContext | undefined;
  /** The IAM authorizer of the AWS_IAM routes (SigV4, `execute-api`). */
  readonly authorizeIam: (request: TwinRequest) => Promise<IamAuthorization>;
  readonly log: (line: string) => void;
}

export interface HttpApi {
  /** Serves a request with its route's function, with what its authorizer established. */
  invoke(request: TwinRequest, authorizer?: AuthorizerContext): Promise<TwinResponse>;
  /** The whole HTTP side of the twin: `routes` first, then the template's routes behind their authorizers. */
  withRoutes(routes: readonly LocalRoute[]): (request: TwinRequest) => Promise<TwinResponse>;
}

const UNAUTHORIZED = jsonResponse(401, { message: 'Unauthorized' }, { 'www-authenticate': 'Bearer' });
const NOT_FOUND = jsonResponse(404, { message: 'Not Found' });
const BAD_REQUEST = jsonResponse(400, { message: 'Bad Request' });

/** A path API Gateway can decode: every `%` starts a UTF-8 escape (`%E0%A4%A`, `50%` do not). */
function isWellEncoded(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

function bearerToken(request: TwinRequest): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
}

/** The HTTP API of the template (API Gateway v2): its routes, their integrations and authorizers. */
export function serveHttpApi(options: HttpApiOptions): HttpApi {
  const invoke = async (request: TwinRequest, authorizer?: AuthorizerContext): Promise<TwinResponse> => {
    const match = matchRoute(options.routes, request.method, request.path);
    if (match === undefined) return NOT_FOUND;
    try {
      return fromApiGatewayResult(
        await options.invoke(match.route, toApiGatewayEvent(request, match, authorizer)),
      );
    } catch (error) {
      options.log(`the function of ${match.route.routeKey} failed: ${(error as Error).message}`);
      return jsonResponse(500, { message: 'Internal Server Error' });
    }
  };
  const serveTemplateRoute = async (request: TwinRequest): Promise<TwinResponse> => {
    const match = matchRoute(options.routes, request.method, request.path);
    if (match === undefined) return NOT_FOUND;
    if (match.route.authorization.type === 'AWS_IAM') {
      const authorization = await options.authorizeIam(request);
      return 'refused' in authorization
        ? jsonResponse(403, { message: authorization.refused })
        : invoke(request, authorization);
    }
    if (match.route.authorization.type !== 'JWT') return invoke(request);
    const token = bearerToken(request);
    const claims = token === undefined ? undefined : await options.authorize(token, match.route);
    return claims === undefined ? UNAUTHORIZED : invoke(request, { jwt: claims });
  };
  return {
    invoke,
    withRoutes: (routes) => async (request) => {
      // Path parameters are decoded before any route runs: a path that does not decode is the
      // client's error, answered before routing as API Gateway answers it.
      if (!isWellEncoded(request.path)) return BAD_REQUEST;
      const own = matchRoute(routes, request.method, request.path);
      return own === undefined ? serveTemplateRoute(request) : own.route.handle(request, own.pathParameters);
    },
  };
}
