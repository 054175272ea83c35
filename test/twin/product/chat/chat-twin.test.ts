import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cachedSecret,
  SlackCredentials,
  TeamsCredentials,
} from '../../../../lambdas/adapters/chat-credentials.ts';
import { createBotFrameworkAuthenticator } from '../../../../lambdas/adapters/teams/bot-framework-auth.ts';
import { matchRoute } from '../../../../local/aws/apigateway/http-api.ts';
import type { TwinStack } from '../../../../local/aws/cloudformation/template.ts';
import { createKeyRing } from '../../../../local/aws/front/credentials.ts';
import { createAwsFront } from '../../../../local/aws/front/front.ts';
import { readBody, readHead, writeResponse } from '../../../../local/aws/http.ts';
import { LocalSecretsManager, secretsManagerService } from '../../../../local/aws/secretsmanager/service.ts';
import { type ChatTwin, createChatTwin, LOCAL_BOT_TOKEN } from '../../../../local/product/chat/chat-twin.ts';
import { readLocalConfig } from '../../../../local/product/config.ts';
import type { TwinContext } from '../../../../local/twin/index.ts';

const slackArn = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:ChatSlackCredentials-local';
const teamsArn = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:ChatTeamsCredentials-local';
const operator = { accessKeyId: 'AKIALOCALTESTKEY0001', secretAccessKey: 'local-operator-secret-000' };

let server: Server;
let url: string;
let chat: ChatTwin;
let dataDir: string;

beforeAll(async () => {
  const config = await readLocalConfig();
  dataDir = await mkdtemp(join(tmpdir(), 'cs-chat-twin-'));
  const stack = {
    functions: [
      {
        name: 'countersign-slack',
        arn: 'arn:aws:lambda:us-east-1:000000000000:function:countersign-slack',
        environment: { SLACK_SECRET_ARN: slackArn, TEAMS_SECRET_ARN: teamsArn },
      },
    ],
  } as unknown as TwinStack;
  let front: ReturnType<typeof createAwsFront> | undefined;
  server = createServer(async (message, response) => {
    const head = readHead(message);
    if (front?.accepts(head)) {
      await writeResponse(response, await front.handle(head, message));
      return;
    }
    const match = matchRoute(chat.extension.routes ?? [], head.method, head.path);
    const request = { ...head, body: await readBody(message) };
    await writeResponse(
      response,
      match === undefined ? { statusCode: 404 } : await match.route.handle(request, match.pathParameters),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const twin: TwinContext = {
    url,
    dataDir,
    repoRoot: '.',
    stack,
    operatorCredentials: operator,
    invokeFunction: async () => ({}),
    invokeHttpRoute: async () => ({ statusCode: 404 }),
    drainEventSourceMappings: async () => undefined,
  };
  chat = await createChatTwin(twin, config);
  // The template's two secrets, filled with the values the chat twin gives them.
  const secrets = await LocalSecretsManager.open({
    dataDir,
    secrets: [
      { name: 'ChatSlackCredentials', arn: slackArn, generate: {} },
      { name: 'ChatTeamsCredentials', arn: teamsArn, generate: {} },
    ],
    values: chat.extension.secretValues ?? {},
  });
  front = createAwsFront({
    services: [secretsManagerService(secrets)],
    keys: createKeyRing(operator, []),
    authorize: () => true,
    log: () => undefined,
  });
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dataDir, { recursive: true, force: true });
});

describe('the twin chat wiring', () => {
  it('gives the chat secrets the credentials from countersign.local.json, read with the real client', async () => {
    const client = new SecretsManagerClient({ endpoint: url, region: 'us-east-1', credentials: operator });
    const slack = cachedSecret({ client, secretId: slackArn, schema: SlackCredentials });
    expect(await slack()).toEqual({
      signingSecret: '8f742231b10e8888abcd99yyyzzz85a5',
      botToken: LOCAL_BOT_TOKEN,
    });
    const teams = cachedSecret({ client, secretId: teamsArn, schema: TeamsCredentials });
    expect((await teams()).appId).toBe('00000000-0000-4000-8000-c0ffee000001');
    await expect(client.send(new GetSecretValueCommand({ SecretId: 'other' }))).rejects.toThrow(/can't find/);
    client.destroy();
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
      SLACK_API_URL: `${url}/local/sinks/slack/api/`,
      TEAMS_SERVICE_URL: `${url}/local/sinks/teams/`,
      BOT_TOKEN_URL: `${url}/local/sinks/teams/oauth2/v2.0/token`,
      SLACK_CHANNEL_ID: 'C0COUNTERSIGN',
      TEAMS_CONVERSATION_ID: '19:countersign-approvals@thread.tacv2',
    });
  });
});
