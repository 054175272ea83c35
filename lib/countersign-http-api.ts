import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** The REST API's routes (lambdas/http/api-app.ts): all behind the JWT authorizer but the document. */
export const REST_API_ROUTES = {
  listRequests: { method: apigwv2.HttpMethod.GET, path: '/api/requests' },
  showRequest: { method: apigwv2.HttpMethod.GET, path: '/api/requests/{id}' },
  castVote: { method: apigwv2.HttpMethod.POST, path: '/api/requests/{id}/votes' },
  closeRequestReview: { method: apigwv2.HttpMethod.POST, path: '/api/requests/{id}/review' },
  listPrivilegedCalls: { method: apigwv2.HttpMethod.GET, path: '/api/privileged-calls' },
  showPrivilegedCall: { method: apigwv2.HttpMethod.GET, path: '/api/privileged-calls/{eventId}' },
  closeCallReview: { method: apigwv2.HttpMethod.POST, path: '/api/privileged-calls/{eventId}/review' },
  me: { method: apigwv2.HttpMethod.GET, path: '/api/me' },
  showClassification: { method: apigwv2.HttpMethod.GET, path: '/api/classifications' },
} as const;
export const OPENAPI_ROUTE = { method: apigwv2.HttpMethod.GET, path: '/api/openapi.json' } as const;
/** The receipts' public keys (JWKS): unauthenticated, always served. */
export const RECEIPT_KEYS_ROUTE = {
  method: apigwv2.HttpMethod.GET,
  path: '/api/receipts/jwks.json',
} as const;

/** The agents' fast decision path (domain/agent-api.ts): IAM (SigV4) authorized, agents only. */
export const AGENT_API_ROUTES = {
  requestDecision: { method: apigwv2.HttpMethod.POST, path: '/api/agent/decisions' },
  awaitDecision: { method: apigwv2.HttpMethod.GET, path: '/api/agent/decisions/{requestId}' },
} as const;

/** The audit digest key's public half (a JWKS), which `countersign audit verify` checks digests with. */
export const AUDIT_KEYS_ROUTE = {
  method: apigwv2.HttpMethod.GET,
  path: '/api/audit/jwks.json',
} as const;

/** Stage-wide limits applied when none are given: a console and chat callbacks, not bulk traffic. */
export const DEFAULT_THROTTLE = { rateLimit: 50, burstLimit: 100 } as const;

export interface RestApiOptions {
  /** The REST API handler (`lambdas/handlers/api.ts`). */
  readonly handler: lambda.IFunction;
  /** The token issuer (`iss`) the JWT authorizer trusts. */
  readonly jwtIssuer: string;
  /** The audience the JWT authorizer accepts (`aud`, or `client_id` for access tokens). */
  readonly jwtAudience: string;
}

export interface UnauthenticatedRouteOptions {
  readonly method: apigwv2.HttpMethod;
  readonly path: string;
  readonly handler: lambda.IFunction;
  /**
   * How the handler authenticates the caller itself (a signature, a Bot Framework token), recorded
   * as the reason the route has no authorizer.
   */
  readonly authenticatedBy: string;
}

export interface CountersignHttpApiProps {
  /** Key encrypting the access-log group. */
  readonly logEncryptionKey: kms.IKey;
  /**
   * Retention of the access-log group.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * The REST API (`/api/*`): its routes behind a JWT authorizer, and the OpenAPI document.
   * @default - no REST API routes (they need a token issuer)
   */
  readonly restApi?: RestApiOptions;
  /**
   * Browser origins allowed to call the API (the web console, when served from another origin).
   * @default - no CORS configuration: browsers only call it from its own origin
   */
  readonly corsAllowedOrigins?: readonly string[];
  /**
   * Default route throttling of the stage.
   * @default DEFAULT_THROTTLE
   */
  readonly throttle?: apigwv2.ThrottleSettings;
}

/**
 * Fields of each access-log line: enough to trace a request and see why it failed, and no caller
 * identity (no IP, user agent or token claims), since the audit trail is where people are recorded.
 */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTimeEpoch',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationLatency: '$context.integration.latency',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
  error: '$context.error.message',
} as const;

/**
 * The HTTP API in front of Countersign's HTTP handlers: the REST API (JWT authorizer, re-checked in
 * the handler), and routes for callers that authenticate themselves (Slack, Teams). One `$default`
 * stage, auto-deployed, throttled, logging every request as JSON to an encrypted log group.
 * The local twin serves the same routes from the synthesized template.
 */
export class CountersignHttpApi extends Construct {
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly accessLogGroup: logs.LogGroup;
  /** The JWT authorizer of the REST API routes, when there is a REST API. */
  readonly jwtAuthorizer?: HttpJwtAuthorizer;

  constructor(scope: Construct, id: string, props: CountersignHttpApiProps) {
    super(scope, id);
    const origins = props.corsAllowedOrigins ?? [];
    this.api = new apigwv2.HttpApi(this, 'Api', {
      apiName: Stack.of(this).stackName,
      description: 'Countersign: REST API and chat callbacks',
      createDefaultStage: false,
      ...(origins.length === 0
        ? {}
        : {
            corsPreflight: {
              allowOrigins: [...origins],
              allowMethods: [
                apigwv2.CorsHttpMethod.GET,
                apigwv2.CorsHttpMethod.POST,
                apigwv2.CorsHttpMethod.OPTIONS,
              ],
              allowHeaders: ['authorization', 'content-type'],
              maxAge: Duration.hours(1),
            },
          }),
    });

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      encryptionKey: props.logEncryptionKey,
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      autoDeploy: true,
      throttle: props.throttle ?? DEFAULT_THROTTLE,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogGroup),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    if (props.restApi !== undefined) {
      this.jwtAuthorizer = this.#addRestApi(props.restApi);
    }
  }

  /** The API's base URL. */
  get url(): string {
    return this.api.apiEndpoint;
  }

  /**
   * A route without an authorizer, for callers API Gateway cannot authenticate but the handler
   * can (Slack signatures, Bot Framework tokens). The reason is recorded on the route.
   */
  addUnauthenticatedRoute(id: string, options: UnauthenticatedRouteOptions): apigwv2.HttpRoute {
    const [route] = this.api.addRoutes({
      path: options.path,
      methods: [options.method],
      integration: new HttpLambdaIntegration(`${id}Integration`, options.handler),
    });
    Validations.of(route!).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason: `${options.method} ${options.path} has no API Gateway authorizer: ${options.authenticatedBy}`,
    });
    return route!;
  }

  /**
   * Routes behind API Gateway's IAM authorizer: the caller signs with SigV4 (service `execute-api`)
   * and needs `execute-api:Invoke` on the route; the handler gets the verified caller's ARN
   * (`requestContext.authorizer.iam.userArn`).
   */
  addIamRoutes(
    id: string,
    options: {
      readonly routes: readonly { readonly method: apigwv2.HttpMethod; readonly path: string }[];
      readonly handler: lambda.IFunction;
    },
  ): void {
    const integration = new HttpLambdaIntegration(`${id}Integration`, options.handler);
    const authorizer = new HttpIamAuthorizer();
    for (const { method, path } of options.routes) {
      this.api.addRoutes({ path, methods: [method], integration, authorizer });
    }
  }

  #addRestApi(options: RestApiOptions): HttpJwtAuthorizer {
    const authorizer = new HttpJwtAuthorizer('JwtAuthorizer', options.jwtIssuer, {
      jwtAudience: [options.jwtAudience],
    });
    const integration = new HttpLambdaIntegration('RestApiIntegration', options.handler);
    for (const { method, path } of Object.values(REST_API_ROUTES)) {
      this.api.addRoutes({ path, methods: [method], integration, authorizer });
    }
    const [document] = this.api.addRoutes({
      path: OPENAPI_ROUTE.path,
      methods: [OPENAPI_ROUTE.method],
      integration,
    });
    Validations.of(document!).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'The OpenAPI document describes the public shape of the API and holds no data; clients read it before they have a token.',
    });
    return authorizer;
  }
}
