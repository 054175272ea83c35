import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StaticDirectory } from '../../../lambdas/adapters/static-directory.ts';
import { ENV } from '../../../lambdas/handlers/environment-names.ts';
import { createDevIssuer, type DevIssuer } from '../../../local/product/dev-issuer.ts';
import { type LocalTable, startDynalite } from '../../support/dynalite.ts';
import { type ServedRoutes, serveRoutes } from './serve-routes.ts';

const document = { users: [{ id: 'carol', email: 'carol@example.com', groups: ['platform'] }], agents: [] };

let table: LocalTable;
let issuerServer: ServedRoutes;
let issuer: DevIssuer;
let dataDir: string;
let handler: (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

beforeAll(async () => {
  table = await startDynalite();
  dataDir = await mkdtemp(join(tmpdir(), 'countersign-api-handler-'));
  let baseUrl = '';
  issuer = await createDevIssuer({
    dataDir,
    directory: new StaticDirectory(document),
    baseUrl: () => baseUrl,
  });
  issuerServer = await serveRoutes(() => issuer.routes);
  baseUrl = issuerServer.url;
  const endpoint = await table.client.config.endpoint!();
  Object.assign(process.env, {
    [ENV.tableName]: table.tableName,
    [ENV.directoryJson]: JSON.stringify(document),
    [ENV.auditorGroups]: '["security"]',
    ...issuer.environment(),
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: `${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`,
  });
  ({ handler } = (await import('../../../lambdas/handlers/api.ts')) as unknown as {
    handler: typeof handler;
  });
});

afterAll(async () => {
  await issuerServer.close();
  await table.close();
  await rm(dataDir, { recursive: true, force: true });
});

function event(method: string, path: string, headers: Record<string, string> = {}): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers,
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: 'r1',
      routeKey: '$default',
      stage: '$default',
      time: '22/Nov/2026:10:00:00 +0000',
      timeEpoch: 0,
    },
  };
}

const context = { functionName: 'api', awsRequestId: 'r1', getRemainingTimeInMillis: () => 1000 } as Context;

describe('the api Lambda handler', () => {
  it('serves API Gateway v2 events with a token from the dev issuer, and refuses without one', async () => {
    const token = await issuer.issueToken('carol');
    const me = await handler(event('GET', '/api/me', { Authorization: `Bearer ${token}` }), context);
    expect(me.statusCode).toBe(200);
    expect(JSON.parse(me.body!).principal).toMatchObject({ id: 'carol', groups: ['platform'] });
    const list = await handler(event('GET', '/api/requests', { authorization: `Bearer ${token}` }), context);
    expect(JSON.parse(list.body!)).toEqual({ items: [] });
    expect((await handler(event('GET', '/api/me'), context)).statusCode).toBe(401);
  });
});
