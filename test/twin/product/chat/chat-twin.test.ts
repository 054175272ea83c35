import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cachedSecret,
  SlackCredentials,
  TeamsCredentials,
} from '../../../../lambdas/adapters/chat-credentials.ts';
import { createBotFrameworkAuthenticator } from '../../../../lambdas/adapters/teams/bot-framework-auth.ts';
import { matchRoute } from '../../../../local/aws/apigateway/http-api.ts';
import { type ChatTwin, createChatTwin, LOCAL_BOT_TOKEN } from '../../../../local/product/chat/chat-twin.ts';
import { readRequest, writeResponse } from '../../../../local/twin/http.ts';
import type { TwinContext } from '../../../../local/twin/server.ts';
import type { TwinStack } from '../../../../local/twin/template.ts';

const directoryPath = fileURLToPath(new URL('../../../../countersign.local.json', import.meta.url));
const slackArn = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:ChatSlackCredentials-local';
const teamsArn = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:ChatTeamsCredentials-local';
const clientConfig = (endpoint: string) => ({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});

let server: Server;
let url: string;
let dataDir: string;
let chat: ChatTwin;
const invocations: Array<{ name: string; event: unknown }> = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'cs-chat-twin-'));
  server = createServer(async (message, response) => {
    const request = await readRequest(message);
    if (request.headers['x-amz-target']?.startsWith('secretsmanager.')) {
      writeResponse(response, await chat.secretsManagerFront(request));
      return;
    }
    const match = matchRoute(chat.extension.routes ?? [], request.method, request.path);
    writeResponse(
      response,
      match === undefined ? { statusCode: 404 } : await match.route.handle(request, match.pathParameters),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const stack = {
    functions: [
      {
        name: 'countersign-slack',
        arn: 'arn:aws:lambda:us-east-1:000000000000:function:countersign-slack',
        environment: { SLACK_SECRET_ARN: slackArn, TEAMS_SECRET_ARN: teamsArn },
      },
    ],
  } as unknown as TwinStack;
  const twin: TwinContext = {
    url,
    dataDir,
    repoRoot: '.',
    stack,
    operatorCredentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    invokeFunction: async (name, event) => {
      invocations.push({ name, event });
      return { ok: true };
    },
    invokeHttpRoute: async () => ({ statusCode: 404 }),
  };
  chat = await createChatTwin(twin, directoryPath);
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dataDir, { recursive: true, force: true });
});

describe('the twin chat wiring', () => {
  it('answers the real Secrets Manager client with the chat credentials from countersign.local.json', async () => {
    const client = new SecretsManagerClient(clientConfig(url));
    const slack = cachedSecret({ client, secretId: slackArn, schema: SlackCredentials });
    expect(await slack()).toEqual({
      signingSecret: '8f742231b10e8888abcd99yyyzzz85a5',
      botToken: LOCAL_BOT_TOKEN,
    });
    const teams = cachedSecret({ client, secretId: teamsArn, schema: TeamsCredentials });
    expect((await teams()).appId).toBe('00000000-0000-4000-8000-c0ffee000001');
    await expect(client.send(new GetSecretValueCommand({ SecretId: 'other' }))).rejects.toThrow(/can't find/);
  });

  it('serves Lambda Invoke for the asynchronous self-invocation, and refuses unknown functions', async () => {
    const client = new LambdaClient(clientConfig(url));
    const result = await client.send(
      new InvokeCommand({
        FunctionName: 'countersign-slack',
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify({ countersignSlackVote: { requestId: 'r1' } })),
      }),
    );
    expect(result.StatusCode).toBe(202);
    expect(invocations).toEqual([
      { name: 'countersign-slack', event: { countersignSlackVote: { requestId: 'r1' } } },
    ]);
    await expect(
      client.send(
        new InvokeCommand({ FunctionName: 'nope', InvocationType: 'Event', Payload: new Uint8Array() }),
      ),
    ).rejects.toThrow(/Function not found/);
  });

  it('serves the Bot Framework issuer the Teams endpoint validates against', async () => {
    const appId = '00000000-0000-4000-8000-c0ffee000001';
    const serviceUrl = `${url}/local/sinks/teams/`;
    const token = await chat.issuer.mintChannelToken({ appId, serviceUrl });
    const auth = createBotFrameworkAuthenticator({
      appId,
      openIdMetadataUrl: String(chat.extension.environment?.BOT_OPENID_METADATA_URL),
    });
    await expect(
      auth.authenticate(`Bearer ${token}`, { serviceUrl, channelId: 'msteams' }),
    ).resolves.toMatchObject({
      aud: appId,
    });
  });

  it('points the handlers at the twin', () => {
    expect(chat.extension.environment).toMatchObject({
      AWS_ENDPOINT_URL_LAMBDA: url,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: url,
      SLACK_API_URL: `${url}/local/sinks/slack/api/`,
      TEAMS_SERVICE_URL: `${url}/local/sinks/teams/`,
      BOT_TOKEN_URL: `${url}/local/sinks/teams/oauth2/v2.0/token`,
      SLACK_CHANNEL_ID: 'C0COUNTERSIGN',
      TEAMS_CONVERSATION_ID: '19:countersign-approvals@thread.tacv2',
    });
  });
});
