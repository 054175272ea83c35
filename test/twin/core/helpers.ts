/** Shared setup for the twin core tests: a twin on a free port running the fixture stack. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SFNClient } from '@aws-sdk/client-sfn';
import { readLocalConfig } from '../../../local/product/config.ts';
import { countersignExtensions } from '../../../local/product/local-twin.ts';
import {
  combineExtensions,
  type RunningTwin,
  type StartTwinOptions,
  startTwin,
} from '../../../local/twin/index.ts';

export const FIXTURE_TEMPLATE = join(import.meta.dirname, 'fixtures', 'approval-stack.template.json');
export const STATE_MACHINE_ARN = 'arn:aws:states:local:000000000000:stateMachine:ApprovalStateMachine';

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export async function agentCredentials(): Promise<Credentials & { id: string }> {
  const directory = JSON.parse(
    await readFile(join(import.meta.dirname, '../../../countersign.local.json'), 'utf8'),
  );
  const agent = directory.agents[0];
  return { id: agent.id, accessKeyId: agent.accessKeyId, secretAccessKey: agent.secretAccessKey };
}

export function tempDataDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'countersign-twin-'));
}

export async function removeDir(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

/**
 * The twin running the fixture stack, with Countersign's rules and chat stand-ins (as the product
 * composes them) and `options.extend` after them; no dev issuer, so a test may bring its own JWT authorizer.
 */
export async function startFixtureTwin(
  dataDir: string,
  options: Partial<StartTwinOptions> = {},
): Promise<RunningTwin> {
  const config = await readLocalConfig();
  return startTwin({
    port: 0,
    dataDir,
    templatePath: FIXTURE_TEMPLATE,
    log: () => undefined,
    agents: config.agents,
    ...options,
    extend: async (context) =>
      combineExtensions([
        ...(await countersignExtensions(context, config)),
        (await options.extend?.(context)) ?? {},
      ]),
  });
}

/**
 * maxAttempts 1: the SDK must not retry (or correct its clock) behind the test's back. The
 * credentials are copied because the SDK annotates the object it is given.
 */
function clientConfig(twin: RunningTwin, { accessKeyId, secretAccessKey }: Credentials) {
  return {
    endpoint: twin.endpoint,
    region: twin.region,
    credentials: { accessKeyId, secretAccessKey },
    maxAttempts: 1,
  };
}

export function clients(twin: RunningTwin, credentials: Credentials = twin.operatorCredentials) {
  return {
    events: new EventBridgeClient(clientConfig(twin, credentials)),
    sfn: new SFNClient(clientConfig(twin, credentials)),
    dynamodb: new DynamoDBClient(clientConfig(twin, credentials)),
  };
}

/** Polls until `probe` returns a value (bounded; the twin works asynchronously after PutEvents). */
export async function eventually<T>(probe: () => Promise<T | undefined>, attempts = 400): Promise<T> {
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('condition not reached');
}

/** The approval item the fixture callback handler writes: its task token and invocation count. */
export async function approvalItem(
  dynamodb: DynamoDBClient,
  requestId: string,
): Promise<{ taskToken: string; invocations: number; functionName: string } | undefined> {
  const { Item } = await dynamodb.send(
    new GetItemCommand({
      TableName: 'Table',
      Key: { pk: { S: `request#${requestId}` }, sk: { S: 'approval' } },
      ConsistentRead: true,
    }),
  );
  if (Item?.taskToken?.S === undefined) return undefined;
  return {
    taskToken: Item.taskToken.S,
    invocations: Number(Item.invocations?.N),
    functionName: String(Item.functionName?.S),
  };
}
