/**
 * The twin's chat wiring, as a TwinExtension: the Bot Framework issuer (OpenID metadata + JWKS),
 * the Lambda Invoke API the Slack handler's self-invocation uses, and the environment that points
 * the chat handlers' real clients at the twin (Slack and Bot Connector sinks, token endpoint,
 * issuer metadata). `secretsManagerFront` answers GetSecretValue for the chat secrets from
 * countersign.local.json; the extension contributes it as the `secretsmanager` AWS service, so the
 * AWS front verifies the caller's signature and dispatches `secretsmanager.*` targets to it.
 */
import { readFile } from 'node:fs/promises';
import { ENV } from '../../../lambdas/handlers/environment-names.ts';
import { AwsProtocolError } from '../../aws/front/errors.ts';
import { verifySigV4 } from '../../aws/front/sigv4.ts';
import { jsonResponse, type TwinRequest, type TwinResponse } from '../../twin/http.ts';
import type { TwinContext, TwinExtension, TwinRoute } from '../../twin/server.ts';
import { BOT_ISSUER_PATHS, type BotIssuer, createBotIssuer } from './bot-issuer.ts';
import { OUTBOX_PATHS } from './outbox.ts';

/** Stand-ins for what the operator puts in the secrets in AWS; the twin's sinks accept anything. */
export const LOCAL_BOT_TOKEN = 'xoxb-countersign-local-twin';
export const LOCAL_TEAMS_PASSWORD = 'countersign-local-twin';

interface LocalChatSettings {
  readonly slack?: { readonly signingSecret?: string; readonly channel?: string };
  readonly teams?: { readonly appId?: string; readonly conversationId?: string };
}

export interface ChatTwin {
  readonly extension: TwinExtension;
  readonly issuer: BotIssuer;
  /** Answers `secretsmanager.GetSecretValue` for the chat secrets the template names. */
  secretsManagerFront(request: TwinRequest): Promise<TwinResponse>;
}

function awsError(status: number, type: string, message: string): TwinResponse {
  return {
    statusCode: status,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type },
    body: JSON.stringify({ __type: type, message }),
  };
}

/** The secrets the template's chat handlers name, with the local values they stand for. */
function chatSecrets(twin: TwinContext, settings: LocalChatSettings): Map<string, string> {
  const values = new Map<string, string>();
  for (const fn of twin.stack.functions) {
    const slackArn = fn.environment[ENV.slackSecretArn];
    const teamsArn = fn.environment[ENV.teamsSecretArn];
    if (slackArn !== undefined && settings.slack?.signingSecret !== undefined) {
      values.set(
        slackArn,
        JSON.stringify({ signingSecret: settings.slack.signingSecret, botToken: LOCAL_BOT_TOKEN }),
      );
    }
    if (teamsArn !== undefined && settings.teams?.appId !== undefined) {
      values.set(
        teamsArn,
        JSON.stringify({ appId: settings.teams.appId, appPassword: LOCAL_TEAMS_PASSWORD }),
      );
    }
  }
  return values;
}

/** `POST /2015-03-31/functions/{name}/invocations`: Lambda's Invoke, for the Slack self-invocation. */
function lambdaInvokeRoute(twin: TwinContext): TwinRoute {
  return {
    method: 'POST',
    path: '/2015-03-31/functions/{name}/invocations',
    async handle(request, { name }) {
      // Only the twin's own handlers (signing with the operator key) may invoke a function, as
      // only the Slack handler's role may in AWS: a forged invocation would be a forged vote.
      try {
        const operator = twin.operatorCredentials;
        await verifySigV4(
          {
            method: request.method,
            path: request.path,
            query: Object.fromEntries(new URLSearchParams(request.rawQueryString)),
            headers: request.headers,
            body: request.body,
          },
          'lambda',
          (accessKeyId) => (accessKeyId === operator.accessKeyId ? operator.secretAccessKey : undefined),
        );
      } catch (error) {
        if (error instanceof AwsProtocolError) return awsError(error.statusCode, error.type, error.message);
        throw error;
      }
      const functionName = decodeURIComponent(name ?? '');
      if (!twin.stack.functions.some((fn) => fn.name === functionName || fn.arn === functionName)) {
        return awsError(404, 'ResourceNotFoundException', `Function not found: ${functionName}`);
      }
      const event = JSON.parse(request.body.length === 0 ? 'null' : request.body.toString('utf8')) as unknown;
      if (request.headers['x-amz-invocation-type'] === 'Event') {
        // Asynchronous, as Lambda: accepted now, run after the answer; a failure is only logged.
        void twin.invokeFunction(functionName, event).catch(() => undefined);
        return { statusCode: 202, body: '' };
      }
      return jsonResponse(200, await twin.invokeFunction(functionName, event));
    },
  };
}

function issuerRoutes(issuer: BotIssuer, origin: string): TwinRoute[] {
  return [
    {
      method: 'GET',
      path: BOT_ISSUER_PATHS.metadata,
      handle: async () => jsonResponse(200, issuer.metadata(origin)),
    },
    { method: 'GET', path: BOT_ISSUER_PATHS.keys, handle: async () => jsonResponse(200, issuer.keys()) },
  ];
}

export async function createChatTwin(twin: TwinContext, directoryPath: string): Promise<ChatTwin> {
  const settings = JSON.parse(await readFile(directoryPath, 'utf8')) as LocalChatSettings;
  const issuer = await createBotIssuer(twin.dataDir);
  const secrets = chatSecrets(twin, settings);
  const secretsManagerFront = async (request: TwinRequest): Promise<TwinResponse> => {
    if (request.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue') {
      return awsError(400, 'UnknownOperationException', 'only GetSecretValue is served locally');
    }
    const { SecretId } = JSON.parse(request.body.toString('utf8')) as { SecretId?: string };
    const value = SecretId === undefined ? undefined : secrets.get(SecretId);
    if (value === undefined) {
      return awsError(400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    }
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/x-amz-json-1.1' },
      body: JSON.stringify({ ARN: SecretId, Name: SecretId, SecretString: value, VersionId: 'local' }),
    };
  };
  return {
    issuer,
    secretsManagerFront,
    extension: {
      routes: [lambdaInvokeRoute(twin), ...issuerRoutes(issuer, twin.url)],
      awsServices: {
        secretsmanager: {
          signingName: 'secretsmanager',
          contentType: 'application/x-amz-json-1.1',
          handle: secretsManagerFront,
        },
      },
      environment: {
        AWS_ENDPOINT_URL_LAMBDA: twin.url,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: twin.url,
        [ENV.slackApiUrl]: `${twin.url}${OUTBOX_PATHS.slackApiBase}`,
        [ENV.teamsServiceUrl]: `${twin.url}${OUTBOX_PATHS.teamsServiceUrl}`,
        [ENV.botTokenUrl]: `${twin.url}${OUTBOX_PATHS.teamsToken}`,
        [ENV.botOpenIdMetadataUrl]: issuer.metadataUrl(twin.url),
        ...(settings.slack?.channel === undefined ? {} : { [ENV.slackChannelId]: settings.slack.channel }),
        ...(settings.teams?.conversationId === undefined
          ? {}
          : { [ENV.teamsConversationId]: settings.teams.conversationId }),
      },
    },
  };
}
