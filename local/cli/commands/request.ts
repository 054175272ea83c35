/**
 * `countersign request`: ask as an agent. The request goes in through the front door, a
 * SigV4-signed EventBridge PutEvents with the agent's own keys from countersign.local.json, so
 * the twin checks it exactly as AWS would (known key, own `Source` only).
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ValidationError } from '../../../lambdas/domain/errors.ts';
import {
  AGENT_SOURCE_PREFIX,
  AgentRequestDetail,
  DETAIL_TYPE,
  parse,
  publicRequestId,
  type RequestRecord,
  RequestStatus,
} from '../../../lambdas/domain/schemas.ts';
import type { RequestDetailBody } from '../../../lambdas/http/bodies.ts';
import { type LocalAgent, type LocalConfig, readLocalConfig } from '../../product/config.ts';
import { ApiError, ExitCode, parseCommandLine, printJson, runCommand, UsageError } from '../output.ts';
import { TwinClient, twinUrl } from '../twin-client.ts';

const USAGE = [
  'countersign request --agent <id> --action <service:Operation> --resource <arn> [--resource-type <type>]',
  '                    [--param key=value …] --justification <text> [--request-id <id>]',
  '       countersign request --file request.json [--agent <id>]',
  '  options: --wait [--timeout <seconds>] [--as <user>]  --bus <name>  --region <region>  --json  --url <twin>',
].join('\n');

const POLL_INTERVAL_MS = 250;
const DEFAULT_WAIT_SECONDS = 300;

interface RequestFlags {
  readonly agent?: string;
  readonly action?: string;
  readonly resource?: string;
  readonly 'resource-type'?: string;
  readonly param?: string[];
  readonly justification?: string;
  readonly 'request-id'?: string;
  readonly file?: string;
}

/** `key=value` pairs as string parameters; anything richer belongs in `--file`. */
export function parseParams(pairs: readonly string[]): Record<string, string> {
  const parameters: Record<string, string> = {};
  for (const pair of pairs) {
    const separator = pair.indexOf('=');
    if (separator <= 0) throw new UsageError(`--param expects key=value, got "${pair}"`);
    parameters[pair.slice(0, separator)] = pair.slice(separator + 1);
  }
  return parameters;
}

async function readDetailFile(path: string): Promise<Record<string, unknown>> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read ${path} as JSON: ${(error as Error).message}`, { cause: error });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new UsageError(`${path} must hold one JSON object (the request detail)`);
  }
  return json as Record<string, unknown>;
}

/** The agent request detail from the flags or the file, validated with the product's own schema. */
export async function buildDetail(
  flags: RequestFlags,
  config: LocalConfig,
): Promise<{ detail: AgentRequestDetail; agent: LocalAgent }> {
  const fromFile = flags.file === undefined ? undefined : await readDetailFile(flags.file);
  const fileAgent = (fromFile?.agent as { id?: unknown } | undefined)?.id;
  const agentId = flags.agent ?? (typeof fileAgent === 'string' ? fileAgent : undefined);
  if (agentId === undefined) throw new UsageError('--agent <id> is required');
  const agent = config.agents.find((candidate) => candidate.id === agentId);
  if (agent === undefined) throw new UsageError(`no agent "${agentId}" in countersign.local.json`);
  if (fileAgent !== undefined && fileAgent !== agentId) {
    throw new UsageError(`the file asks as "${String(fileAgent)}" but --agent is "${agentId}"`);
  }
  const candidate = fromFile ?? {
    action: flags.action,
    resource: { arn: flags.resource, ...(flags['resource-type'] ? { type: flags['resource-type'] } : {}) },
    parameters: parseParams(flags.param ?? []),
    justification: flags.justification,
  };
  const input = {
    ...candidate,
    requestId: flags['request-id'] ?? candidate.requestId ?? randomUUID(),
    // A twin agent acts for its owner.
    agent: { id: agent.id, onBehalfOf: agent.owner },
  };
  try {
    return { detail: parse(AgentRequestDetail, input, 'request'), agent };
  } catch (error) {
    if (error instanceof ValidationError) throw new UsageError(error.issues.join('\n'), { cause: error });
    throw error;
  }
}

async function putRequest(
  endpoint: string,
  agent: LocalAgent,
  detail: AgentRequestDetail,
  options: { bus: string; region: string },
): Promise<void> {
  const client = new EventBridgeClient({
    endpoint,
    region: options.region,
    credentials: { accessKeyId: agent.accessKeyId, secretAccessKey: agent.secretAccessKey },
    maxAttempts: 2,
  });
  try {
    const result = await client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: options.bus,
            Source: `${AGENT_SOURCE_PREFIX}${agent.id}`,
            DetailType: DETAIL_TYPE.actionRequested,
            Detail: JSON.stringify(detail),
          },
        ],
      }),
    );
    const entry = result.Entries?.[0];
    if ((result.FailedEntryCount ?? 0) > 0 || entry?.ErrorCode !== undefined) {
      throw new ApiError(
        400,
        entry?.ErrorCode ?? 'FailedEntry',
        entry?.ErrorMessage ?? 'the event was not accepted',
      );
    }
  } finally {
    client.destroy();
  }
}

/** Polls the REST API until the request is decided or `timeoutSeconds` pass. */
async function waitForDecision(
  client: TwinClient,
  requestId: string,
  viewer: string,
  timeoutSeconds: number,
): Promise<RequestRecord | undefined> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (Date.now() < deadline) {
    try {
      const { request } = (await client.api(
        'GET',
        `/api/requests/${encodeURIComponent(requestId)}`,
        viewer,
      )) as RequestDetailBody;
      if (request.status !== RequestStatus.pending) return request;
    } catch (error) {
      // The workflow records the request a moment after PutEvents returns.
      if (!(error instanceof ApiError && error.status === 404)) throw error;
    }
    await delay(POLL_INTERVAL_MS);
  }
  return undefined;
}

export async function run(args: string[]): Promise<number> {
  return runCommand('request', USAGE, args, async () => {
    const { values, positionals } = parseCommandLine({
      args,
      allowPositionals: true,
      options: {
        agent: { type: 'string' },
        action: { type: 'string' },
        resource: { type: 'string' },
        'resource-type': { type: 'string' },
        param: { type: 'string', multiple: true },
        justification: { type: 'string' },
        'request-id': { type: 'string' },
        file: { type: 'string' },
        bus: { type: 'string', default: 'countersign' },
        region: { type: 'string', default: 'us-east-1' },
        wait: { type: 'boolean', default: false },
        timeout: { type: 'string' },
        as: { type: 'string' },
        json: { type: 'boolean', default: false },
        url: { type: 'string' },
        config: { type: 'string' },
      },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const timeoutSeconds = Number(values.timeout ?? DEFAULT_WAIT_SECONDS);
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds <= 0) {
      throw new UsageError('--timeout must be a positive number of seconds');
    }
    const config = await readLocalConfig(values.config);
    const { detail, agent } = await buildDetail(values, config);
    const url = twinUrl(values.url);
    await putRequest(url, agent, detail, { bus: values.bus, region: values.region });
    // The public id is scoped by agent: the one the API, the console and the decision event use.
    const requestId = publicRequestId(agent.id, detail.requestId!);
    if (!values.wait) {
      if (values.json) printJson({ requestId });
      else console.log(requestId);
      return ExitCode.ok;
    }
    // Who reads the outcome: --as, else the person the agent acts for (their own request).
    const viewer = values.as ?? agent.owner;
    if (viewer === undefined)
      throw new UsageError('--wait needs --as <user> for an agent that acts for nobody');
    if (!values.json) console.log(`${requestId}: waiting for a decision…`);
    const decided = await waitForDecision(new TwinClient(url), requestId, viewer, timeoutSeconds);
    if (decided === undefined) {
      if (values.json) printJson({ requestId, status: RequestStatus.pending });
      console.error(`countersign request: ${requestId} is still undecided after ${timeoutSeconds}s`);
      return ExitCode.failure;
    }
    if (values.json)
      printJson({ requestId, status: decided.status, decision: decided.decision, reason: decided.reason });
    else
      console.log(
        `${requestId}: ${decided.status} (${decided.decision})${decided.reason ? `: ${decided.reason}` : ''}`,
      );
    // Scripts can branch on the outcome: 0 only when the action may go ahead.
    return decided.status === RequestStatus.approved ? ExitCode.ok : ExitCode.failure;
  });
}
