/**
 * The twin's doors as a hostile client reaches them, with valid credentials so that what is sent
 * gets past authentication: raw SigV4-signed AWS JSON calls (any body, not what an SDK would send),
 * Slack callbacks signed with the twin's signing secret, and Teams activities with a token from the
 * twin's own Bot Framework issuer. Signatures are computed here from the published schemes.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../../local/aws/front/sigv4.ts';
import { type BotIssuer, createBotIssuer } from '../../local/product/chat/bot-issuer.ts';
import { OUTBOX_PATHS } from '../../local/product/chat/outbox.ts';
import type { RunningTwin } from '../../local/twin/index.ts';

export const DIRECTORY_PATH = join(import.meta.dirname, '..', '..', 'countersign.local.json');

export interface LocalDirectory {
  readonly users: { id: string; slackUserId: string; teamsAadObjectId: string }[];
  readonly agents: { id: string; owner: string; accessKeyId: string; secretAccessKey: string }[];
  readonly slack: { signingSecret: string; channel: string };
  readonly teams: { appId: string; conversationId: string };
}

export async function localDirectory(): Promise<LocalDirectory> {
  return JSON.parse(await readFile(DIRECTORY_PATH, 'utf8')) as LocalDirectory;
}

export interface DoorAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

async function answer(response: Response): Promise<DoorAnswer> {
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/**
 * A SigV4-signed request to the twin's AWS front with exactly `body` (bytes as given), as the SDK
 * signs for `service` (S3: the path as sent, other services: URI-encoded once more).
 */
export async function signedAwsRequest(
  twin: RunningTwin,
  credentials: { readonly accessKeyId: string; readonly secretAccessKey: string },
  request: {
    readonly service: string;
    readonly method?: string;
    readonly path?: string;
    readonly query?: Record<string, string>;
    readonly headers?: Record<string, string>;
    readonly body?: string | Buffer;
  },
): Promise<DoorAnswer> {
  const url = new URL(request.path ?? '/', twin.url);
  const signer = new SignatureV4({
    service: request.service,
    region: twin.region,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    sha256: NodeSha256,
    applyChecksum: false,
    uriEscapePath: request.service !== 's3',
  });
  const method = request.method ?? 'POST';
  const signed = await signer.sign({
    method,
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    query: request.query ?? {},
    headers: { host: url.host, ...request.headers },
    ...(request.body === undefined ? {} : { body: request.body }),
  });
  const query = new URLSearchParams(request.query ?? {}).toString();
  const response = await fetch(`${twin.url}${url.pathname}${query === '' ? '' : `?${query}`}`, {
    method,
    headers: signed.headers as Record<string, string>,
    ...(request.body === undefined || method === 'GET' || method === 'HEAD'
      ? {}
      : { body: typeof request.body === 'string' ? request.body : new Uint8Array(request.body) }),
  });
  return answer(response);
}

/** An AWS JSON-protocol call (`X-Amz-Target`) with a raw body. */
export function signedJsonCall(
  twin: RunningTwin,
  credentials: { readonly accessKeyId: string; readonly secretAccessKey: string },
  call: {
    readonly service: string;
    readonly target: string;
    readonly version: '1.0' | '1.1';
    readonly body: string;
  },
): Promise<DoorAnswer> {
  return signedAwsRequest(twin, credentials, {
    service: call.service,
    headers: { 'content-type': `application/x-amz-json-${call.version}`, 'x-amz-target': call.target },
    body: call.body,
  });
}

/** Slack's v0 scheme: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{raw body}` with the signing secret. */
export async function postSlack(
  twin: RunningTwin,
  signingSecret: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<DoorAnswer> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  const response = await fetch(`${twin.url}/slack/interactions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': signature,
      ...headers,
    },
    body,
  });
  return answer(response);
}

/** A Slack interaction payload, form-encoded as Slack posts it. */
export function slackForm(payload: unknown): string {
  return `payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

export function teamsServiceUrl(twin: RunningTwin): string {
  return `${twin.url}${OUTBOX_PATHS.teamsServiceUrl}`;
}

export function twinBotIssuer(twin: RunningTwin): Promise<BotIssuer> {
  return createBotIssuer(twin.dataDir);
}

/** A Teams activity with a channel token minted by the twin's Bot Framework issuer. */
export async function postTeams(
  twin: RunningTwin,
  issuer: BotIssuer,
  appId: string,
  body: string,
): Promise<DoorAnswer> {
  const token = await issuer.mintChannelToken({ appId, serviceUrl: teamsServiceUrl(twin) });
  const response = await fetch(`${twin.url}/teams/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  });
  return answer(response);
}

/** A `block_actions` payload as Slack posts it for a click on one of our message buttons. */
export function slackClick(click: {
  readonly slackUserId: string;
  readonly channelId: string;
  readonly blockId: string;
  readonly actionId: string;
  readonly value: string;
}) {
  // Unique per click, as Slack's action_ts is; the trigger names the user so a test can find its modal.
  const actionTs = `${Math.floor(Date.now() / 1000)}.${randomUUID().slice(0, 6)}`;
  return {
    type: 'block_actions',
    user: { id: click.slackUserId, team_id: 'T0COUNTER' },
    api_app_id: 'A0COUNTER',
    trigger_id: `trigger-${click.slackUserId}-${actionTs}`,
    team: { id: 'T0COUNTER' },
    container: { type: 'message', channel_id: click.channelId },
    channel: { id: click.channelId, name: 'approvals' },
    actions: [
      {
        action_id: click.actionId,
        block_id: click.blockId,
        type: 'button',
        value: click.value,
        action_ts: actionTs,
      },
    ],
  };
}

/** A `view_submission` payload of one of our modals: one plain-text input filled in. */
export function slackSubmission(submission: {
  readonly slackUserId: string;
  readonly callbackId: string;
  readonly privateMetadata: Readonly<Record<string, string>>;
  readonly blockId: string;
  readonly inputId: string;
  readonly value: string;
}) {
  return {
    type: 'view_submission',
    user: { id: submission.slackUserId },
    view: {
      id: `V${randomUUID().slice(0, 8)}`,
      callback_id: submission.callbackId,
      private_metadata: JSON.stringify(submission.privateMetadata),
      state: {
        values: {
          [submission.blockId]: {
            [submission.inputId]: { type: 'plain_text_input', value: submission.value },
          },
        },
      },
    },
  };
}
