import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../lambdas/handlers/environment-names.ts';
import { buildOpenApiDocument } from '../../lambdas/openapi.ts';
import { AGENT_DECISIONS_HANDLER_ENTRY } from '../../lib/agent-decisions.ts';
import { CHAT_HANDLER_ENTRIES, CHAT_ROUTES } from '../../lib/chat-integrations.ts';
import { CONFIG_DEFAULTS, CONTEXT_KEYS } from '../../lib/countersign-config.ts';
import {
  AGENT_API_ROUTES,
  AUDIT_KEYS_ROUTE,
  DEFAULT_THROTTLE,
  OPENAPI_ROUTE,
  RECEIPT_KEYS_ROUTE,
  REST_API_ROUTES,
} from '../../lib/countersign-http-api.ts';
import { API_HANDLER_ENTRY, PUBLIC_KEYS_HANDLER_ENTRY } from '../../lib/countersign-stack.ts';
import { ENTRY_METADATA_KEY } from '../../lib/handler-function.ts';
import { loadStack } from '../../local/aws/cloudformation/template.ts';
import {
  type BuiltStack,
  buildCountersignStack,
  TEST_CHAT_CONTEXT,
  TEST_FULL_CONTEXT,
  TEST_JWT_CONTEXT,
} from './build-stack.ts';

// biome-ignore lint/suspicious/noExplicitAny: template JSON is navigated freely; the assertions check its shape.
type Json = any;
type Resources = Record<string, { Type: string; Properties: Record<string, Json>; Metadata?: Json }>;
type Statement = { Effect: string; Action: string | string[]; Resource: Json };

/** Synthesis is slow the first time (loading aws-cdk-lib); builds get a generous limit. */
const SLOW_SYNTH_MS = 120_000;

const DIRECTORY = {
  users: [
    { id: 'alice', email: 'alice@example.com', groups: ['security'] },
    { id: 'dave', email: 'dave@example.com', groups: [] },
  ],
  agents: [{ id: 'invoice-bot', owner: 'dave' }],
};

let built: BuiltStack;
let resources: Resources;

beforeAll(() => {
  built = buildCountersignStack({ ...TEST_JWT_CONTEXT, [CONTEXT_KEYS.directory]: DIRECTORY });
  resources = built.template.toJSON().Resources;
}, SLOW_SYNTH_MS);

const ofType = (type: string, from: Resources = resources) =>
  Object.entries(from).filter(([, r]) => r.Type === type);
const onlyOne = (type: string) => {
  const found = ofType(type);
  expect(found).toHaveLength(1);
  return found[0]!;
};
const apiFunction = () => {
  const found = ofType('AWS::Lambda::Function').filter(
    ([, fn]) => fn.Metadata?.[ENTRY_METADATA_KEY] === API_HANDLER_ENTRY,
  );
  expect(found).toHaveLength(1);
  return found[0]!;
};
const logicalIdIn = (value: Json): string => value.Ref ?? value['Fn::GetAtt'][0];

interface RouteView {
  readonly authorizationType: string;
  readonly authorizer?: { Issuer: string; Audience: string[] };
  readonly entry: string;
}

/** Each route, by route key: how it is authorized and which handler module its integration runs. */
function routeViews(from: Resources = resources): Record<string, RouteView> {
  return Object.fromEntries(
    ofType('AWS::ApiGatewayV2::Route', from).map(([, route]) => {
      const target = route.Properties.Target['Fn::Join'][1];
      expect(target[0]).toBe('integrations/');
      const integration = from[logicalIdIn(target[1])]!;
      expect(integration.Properties).toMatchObject({
        IntegrationType: 'AWS_PROXY',
        PayloadFormatVersion: '2.0',
      });
      const fn = from[logicalIdIn(integration.Properties.IntegrationUri)]!;
      const authorizerId = route.Properties.AuthorizerId;
      return [
        route.Properties.RouteKey,
        {
          authorizationType: route.Properties.AuthorizationType,
          ...(authorizerId === undefined
            ? {}
            : { authorizer: from[logicalIdIn(authorizerId)]!.Properties.JwtConfiguration }),
          entry: fn.Metadata[ENTRY_METADATA_KEY],
        },
      ];
    }),
  );
}

const routeKey = (route: { method: string; path: string }) => `${route.method} ${route.path}`;

/** What the HTTP API serves whatever is configured: the receipts' keys, and the agents' fast path. */
const ALWAYS_SERVED = {
  [routeKey(RECEIPT_KEYS_ROUTE)]: { authorizationType: 'NONE', entry: PUBLIC_KEYS_HANDLER_ENTRY },
  [routeKey(AUDIT_KEYS_ROUTE)]: { authorizationType: 'NONE', entry: PUBLIC_KEYS_HANDLER_ENTRY },
  ...Object.fromEntries(
    Object.values(AGENT_API_ROUTES).map((route) => [
      routeKey(route),
      { authorizationType: 'AWS_IAM', entry: AGENT_DECISIONS_HANDLER_ENTRY },
    ]),
  ),
};
const jwtAuthorizer = {
  Issuer: TEST_JWT_CONTEXT['countersign:jwtIssuer'],
  Audience: [TEST_JWT_CONTEXT['countersign:jwtAudience']],
};

describe('REST API routes', () => {
  it('serves every /api route with the api handler, behind the JWT authorizer but the document', () => {
    const views = routeViews();
    const expected = Object.fromEntries([
      ...Object.values(REST_API_ROUTES).map((route) => [
        routeKey(route),
        { authorizationType: 'JWT', authorizer: jwtAuthorizer, entry: API_HANDLER_ENTRY },
      ]),
      [routeKey(OPENAPI_ROUTE), { authorizationType: 'NONE', entry: API_HANDLER_ENTRY }],
      [routeKey(RECEIPT_KEYS_ROUTE), { authorizationType: 'NONE', entry: PUBLIC_KEYS_HANDLER_ENTRY }],
      [routeKey(AUDIT_KEYS_ROUTE), { authorizationType: 'NONE', entry: PUBLIC_KEYS_HANDLER_ENTRY }],
      ...Object.values(AGENT_API_ROUTES).map((route) => [
        routeKey(route),
        { authorizationType: 'AWS_IAM', entry: AGENT_DECISIONS_HANDLER_ENTRY },
      ]),
    ]);
    expect(views).toEqual(expected);
    expect(Object.keys(views).sort()).toEqual([
      'GET /api/agent/decisions/{requestId}',
      'GET /api/audit/jwks.json',
      'GET /api/classifications',
      'GET /api/me',
      'GET /api/openapi.json',
      'GET /api/privileged-calls',
      'GET /api/privileged-calls/{eventId}',
      'GET /api/receipts/jwks.json',
      'GET /api/requests',
      'GET /api/requests/{id}',
      'POST /api/agent/decisions',
      'POST /api/privileged-calls/{eventId}/review',
      'POST /api/requests/{id}/review',
      'POST /api/requests/{id}/votes',
    ]);
  });

  it('are exactly the operations of the OpenAPI document, public exactly where it needs no token', () => {
    const document = buildOpenApiDocument() as {
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    };
    const authorizationOf = (security: unknown[] | undefined) =>
      security === undefined ? 'JWT' : security.length === 0 ? 'NONE' : 'AWS_IAM';
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => [
        `${method.toUpperCase()} ${path}`,
        authorizationOf(operation.security),
      ]),
    );
    const views = routeViews();
    expect(Object.fromEntries(operations)).toEqual(
      Object.fromEntries(Object.entries(views).map(([key, view]) => [key, view.authorizationType])),
    );
  });

  it('has one JWT authorizer reading the bearer token from the Authorization header', () => {
    const [, authorizer] = onlyOne('AWS::ApiGatewayV2::Authorizer');
    expect(authorizer.Properties).toMatchObject({
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: jwtAuthorizer,
    });
  });

  it('lets API Gateway invoke the handler only for each route path of this API', () => {
    const [apiId] = onlyOne('AWS::ApiGatewayV2::Api');
    const [functionId] = apiFunction();
    const fromApiGateway = ofType('AWS::Lambda::Permission').filter(
      ([, permission]) =>
        permission.Properties.Principal === 'apigateway.amazonaws.com' &&
        permission.Properties.FunctionName['Fn::GetAtt'][0] === functionId,
    );
    const sourcePaths = fromApiGateway.map(([, permission]) => {
      expect(permission.Properties).toMatchObject({
        Action: 'lambda:InvokeFunction',
        Principal: 'apigateway.amazonaws.com',
        FunctionName: { 'Fn::GetAtt': [functionId, 'Arn'] },
      });
      const parts = permission.Properties.SourceArn['Fn::Join'][1] as Json[];
      expect(parts).toContainEqual({ Ref: apiId });
      return parts.at(-1) as string;
    });
    expect(sourcePaths.sort()).toEqual(
      [...Object.values(REST_API_ROUTES), OPENAPI_ROUTE].map((route) => `/*/*${route.path}`).sort(),
    );
  });

  it('are what the local twin reads: the same routes, handler and authorizer', async () => {
    const templatePath = join(tmpdir(), `countersign-http-api-${process.pid}.template.json`);
    writeFileSync(templatePath, JSON.stringify(built.template.toJSON()));
    const stack = await loadStack(templatePath);
    const apiFunctionId = apiFunction()[0];
    const functionIdOf = (entry: string) =>
      ofType('AWS::Lambda::Function').find(([, fn]) => fn.Metadata?.[ENTRY_METADATA_KEY] === entry)![0];
    expect(
      stack.httpRoutes.map(({ routeKey, functionLogicalId, authorization }) => ({
        routeKey,
        functionLogicalId,
        authorization,
      })),
    ).toEqual(
      Object.entries(routeViews()).map(([key, view]) => ({
        routeKey: key,
        functionLogicalId: functionIdOf(view.entry),
        authorization:
          view.authorizationType === 'JWT'
            ? { type: 'JWT', issuer: jwtAuthorizer.Issuer, audience: jwtAuthorizer.Audience }
            : { type: view.authorizationType === 'AWS_IAM' ? 'AWS_IAM' : 'NONE' },
      })),
    );
    const twinFunction = stack.functions.find((fn) => fn.logicalId === apiFunctionId)!;
    // The twin runs the function's asset, as Lambda unpacks it.
    expect(twinFunction.handler).toBe('index.handler');
    // The twin swaps DIRECTORY_JSON for countersign.local.json only where the template sets it.
    expect(twinFunction.environment[ENV.directoryJson]).toBeDefined();
  });
});

describe('REST API handler', () => {
  it('gets the table, the directory and the JWT settings in its environment', () => {
    const [, fn] = apiFunction();
    const [tableId] = onlyOne('AWS::DynamoDB::Table');
    expect(fn.Properties.Environment.Variables).toMatchObject({
      [ENV.tableName]: { Ref: tableId },
      [ENV.jwtIssuer]: jwtAuthorizer.Issuer,
      [ENV.jwtAudience]: jwtAuthorizer.Audience[0],
    });
    expect(JSON.parse(fn.Properties.Environment.Variables[ENV.directoryJson])).toEqual(DIRECTORY);
    expect(fn.Properties.Environment.Variables[ENV.jwtJwksUrl]).toBeUndefined();
    expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
  });

  it('may resume only this workflow, use only the table and its key, and has no wildcard action', () => {
    const [, fn] = apiFunction();
    const roleId = fn.Properties.Role['Fn::GetAtt'][0];
    const statements: Statement[] = ofType('AWS::IAM::Policy')
      .filter(([, policy]) => policy.Properties.Roles.some((role: Json) => role.Ref === roleId))
      .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement);
    const actions = statements.flatMap((statement) => [statement.Action].flat());
    expect(actions.filter((action) => action.includes('*'))).toEqual([]);
    expect(new Set(actions.map((action) => action.split(':')[0]))).toEqual(
      new Set(['logs', 'xray', 'dynamodb', 'kms', 'states']),
    );

    const [machineId] = onlyOne('AWS::StepFunctions::StateMachine');
    const sendTask = statements.filter((statement) =>
      [statement.Action].flat().some((action) => action.startsWith('states:')),
    );
    expect(sendTask).toEqual([
      {
        Effect: 'Allow',
        Action: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
        Resource: { Ref: machineId },
      },
    ]);

    const [tableId] = onlyOne('AWS::DynamoDB::Table');
    for (const statement of statements.filter((s) => [s.Action].flat()[0]!.startsWith('dynamodb:'))) {
      for (const resource of [statement.Resource].flat()) {
        expect(JSON.stringify(resource)).toContain(tableId);
      }
    }
    expect(actions).toEqual(
      expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem']),
    );
  });

  it(
    'sets the JWKS URL when one is configured',
    () => {
      const jwks = 'https://login.example.com/countersign/keys';
      const { template } = buildCountersignStack({ ...TEST_JWT_CONTEXT, [CONTEXT_KEYS.jwtJwksUrl]: jwks });
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ [ENV.jwtJwksUrl]: jwks }) },
      });
    },
    SLOW_SYNTH_MS,
  );
});

describe('HTTP API stage', () => {
  it('is the auto-deployed $default stage, throttled, logging JSON lines to an encrypted log group', () => {
    const [, stage] = onlyOne('AWS::ApiGatewayV2::Stage');
    expect(stage.Properties).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: {
        ThrottlingRateLimit: DEFAULT_THROTTLE.rateLimit,
        ThrottlingBurstLimit: DEFAULT_THROTTLE.burstLimit,
      },
    });
    const logGroup = resources[stage.Properties.AccessLogSettings.DestinationArn['Fn::GetAtt'][0]]!;
    const [dataKeyId] = ofType('AWS::KMS::Key').find(([, key]) => key.Properties.KeySpec === undefined)!;
    expect(logGroup.Properties).toMatchObject({
      RetentionInDays: CONFIG_DEFAULTS.logRetentionDays,
      KmsKeyId: { 'Fn::GetAtt': [dataKeyId, 'Arn'] },
    });
    const line = JSON.parse(stage.Properties.AccessLogSettings.Format);
    expect(line).toMatchObject({
      requestId: '$context.requestId',
      routeKey: '$context.routeKey',
      status: '$context.status',
      authorizerError: '$context.authorizer.error',
    });
    // No caller identity in the access log: people are recorded in the audit trail, not here.
    expect(JSON.stringify(line)).not.toMatch(/sourceIp|userAgent|claims/);
  });

  it(
    'has no CORS configuration unless console origins are configured',
    () => {
      expect(onlyOne('AWS::ApiGatewayV2::Api')[1].Properties.CorsConfiguration).toBeUndefined();
      const origin = 'https://console.example.com';
      const { template } = buildCountersignStack({
        ...TEST_JWT_CONTEXT,
        [CONTEXT_KEYS.apiCorsOrigins]: [origin],
        [CONTEXT_KEYS.apiThrottleRateLimit]: 5,
        [CONTEXT_KEYS.apiThrottleBurstLimit]: 10,
      });
      template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
        CorsConfiguration: {
          AllowOrigins: [origin],
          AllowMethods: ['GET', 'POST', 'OPTIONS'],
          AllowHeaders: ['authorization', 'content-type'],
          MaxAge: 3600,
        },
      });
      template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        DefaultRouteSettings: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
      });
    },
    SLOW_SYNTH_MS,
  );

  it('is exported as the HttpApiUrl output', () => {
    const [apiId] = onlyOne('AWS::ApiGatewayV2::Api');
    built.template.hasOutput('HttpApiUrl', { Value: { 'Fn::GetAtt': [apiId, 'ApiEndpoint'] } });
  });
});

describe('chat routes', () => {
  const chatViews = {
    [routeKey(CHAT_ROUTES.slack)]: { authorizationType: 'NONE', entry: CHAT_HANDLER_ENTRIES.slack },
    [routeKey(CHAT_ROUTES.teams)]: { authorizationType: 'NONE', entry: CHAT_HANDLER_ENTRIES.teams },
  };

  it(
    'join the REST API on the same HTTP API, without an authorizer (the handlers verify callers)',
    () => {
      const { template } = buildCountersignStack(TEST_FULL_CONTEXT);
      const full = template.toJSON().Resources as Resources;
      expect(ofType('AWS::ApiGatewayV2::Api', full)).toHaveLength(1);
      const views = routeViews(full);
      expect(Object.keys(views).sort()).toEqual(
        [...Object.keys(routeViews()), ...Object.keys(chatViews)].sort(),
      );
      expect(views).toMatchObject(chatViews);
    },
    SLOW_SYNTH_MS,
  );

  it(
    'share the HTTP API with the receipt keys when there is no REST API',
    () => {
      const { template } = buildCountersignStack(TEST_CHAT_CONTEXT);
      const chatOnly = template.toJSON().Resources as Resources;
      expect(ofType('AWS::ApiGatewayV2::Api', chatOnly)).toHaveLength(1);
      expect(ofType('AWS::ApiGatewayV2::Authorizer', chatOnly)).toEqual([]);
      expect(routeViews(chatOnly)).toEqual({ ...chatViews, ...ALWAYS_SERVED });
    },
    SLOW_SYNTH_MS,
  );
});

describe('without a token issuer', () => {
  it(
    'leaves the REST API out, still serving the receipt keys and the agents’ fast path',
    () => {
      const { template } = buildCountersignStack();
      const json = template.toJSON();
      expect(routeViews(json.Resources)).toEqual(ALWAYS_SERVED);
      const entries = ofType('AWS::Lambda::Function', json.Resources).map(
        ([, fn]) => fn.Metadata?.[ENTRY_METADATA_KEY],
      );
      expect(entries).not.toContain(API_HANDLER_ENTRY);
      expect(json.Outputs.HttpApiUrl).toBeDefined();
    },
    SLOW_SYNTH_MS,
  );

  it(
    'warns at synth when the issuer or the console is the local twin, which AWS cannot reach',
    () => {
      expect(Annotations.fromStack(built.stack).findWarning('*', Match.anyValue())).toEqual([]);
      const twin = buildCountersignStack({
        [CONTEXT_KEYS.jwtIssuer]: 'http://127.0.0.1:4710/local',
        [CONTEXT_KEYS.jwtAudience]: 'countersign-twin',
        [CONTEXT_KEYS.consoleUrl]: 'http://127.0.0.1:4710',
      });
      const warnings = Annotations.fromStack(twin.stack).findWarning(
        '*',
        Match.stringLikeRegexp(
          String.raw`local twin: countersign:jwtIssuer \(http://127\.0\.0\.1:4710/local\), countersign:consoleUrl \(http://127\.0\.0\.1:4710\)`,
        ),
      );
      expect(warnings).toHaveLength(1);
    },
    SLOW_SYNTH_MS,
  );
});
