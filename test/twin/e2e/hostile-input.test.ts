/**
 * Found by hand as a hostile client, kept as regression tests: malformed input that became an
 * approval, and bad input answered with a 5xx (which Slack and SDKs retry). Each is sent with valid
 * credentials so it reaches past authentication.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningTwin } from '../../../local/twin/index.ts';
import {
  type LocalDirectory,
  localDirectory,
  postSlack,
  signedJsonCall,
  slackForm,
} from '../../support/doors.ts';
import { agentRequest, demoAgent, E2eClient, idOf, removeDir, startE2eTwin, tempDir } from './harness.ts';

let twin: RunningTwin;
let client: E2eClient;
let dataDir: string;
let directory: LocalDirectory;

beforeAll(async () => {
  dataDir = await tempDir('hostile');
  twin = await startE2eTwin({ dataDir });
  client = new E2eClient(twin, await demoAgent());
  directory = await localDirectory();
});

afterAll(async () => {
  client?.destroy();
  await twin?.stop();
  if (dataDir !== undefined) await removeDir(dataDir);
});

function putEvents(body: string) {
  return signedJsonCall(twin, client.agent, {
    service: 'events',
    target: 'AWSEvents.PutEvents',
    version: '1.1',
    body,
  });
}

/** An auto-approved action (iam:GetRole is allowed by policy alone) in an entry with `detail` as given. */
function entryWith(detail: unknown) {
  return {
    EventBusName: 'countersign',
    Source: `countersign.agent.${client.agent.id}`,
    DetailType: 'Action Requested',
    Detail: detail,
  };
}

function readOnlyRequest() {
  return agentRequest(client.agent, { action: 'iam:GetRole', parameters: { roleName: 'invoice-exporter' } });
}

/** Lets any workflow the entries started run, then reads the request back. */
async function storedAfterSettling(requestId: string) {
  await new Promise((resolve) => setTimeout(resolve, 1500));
  return client.detail(requestId);
}

describe('PutEvents entries whose Detail is not a JSON object', () => {
  it('a well-formed one is stored and auto-approved (the control)', async () => {
    const request = readOnlyRequest();
    const result = await putEvents(JSON.stringify({ Entries: [entryWith(JSON.stringify(request))] }));
    expect(result.status).toBe(200);
    expect(JSON.parse(result.text)).toMatchObject({ FailedEntryCount: 0 });
    expect((await client.waitForDecision(idOf(request))).decision).toBe('AUTO_APPROVED');
  });

  it.each([
    ['a JSON array holding the request string', (text: string) => [text]],
    ['a JSON object (not a string)', (text: string) => JSON.parse(text)],
    ['a number', () => 42],
    ['null', () => null],
    ['true', () => true],
  ])('refuses Detail as %s, and nothing is stored', async (_name, shape) => {
    const request = readOnlyRequest();
    const result = await putEvents(JSON.stringify({ Entries: [entryWith(shape(JSON.stringify(request)))] }));
    expect(result.status).toBe(400);
    expect(result.headers.get('x-amzn-errortype')).toMatch(/^SerializationException/);
    expect(await storedAfterSettling(idOf(request))).toBeUndefined();
  });

  it.each([
    ['a JSON string holding the request', (text: string) => JSON.stringify(text)],
    ['a JSON array holding the request', (text: string) => `[${text}]`],
    ['a JSON number', () => '42'],
    ['JSON null', () => 'null'],
  ])('fails the entry whose Detail string is %s with MalformedDetail', async (_name, shape) => {
    const request = readOnlyRequest();
    const result = await putEvents(JSON.stringify({ Entries: [entryWith(shape(JSON.stringify(request)))] }));
    expect(result.status).toBe(200);
    expect(JSON.parse(result.text)).toMatchObject({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'MalformedDetail' }],
    });
    expect(await storedAfterSettling(idOf(request))).toBeUndefined();
  });
});

describe('fuzz counterexamples', () => {
  it('a Detail with an extra "__proto__" key is evaluated invalid, never stored or approved', async () => {
    const request = readOnlyRequest();
    const detail = JSON.stringify(request).replace(/}$/, ',"__proto__":{"x":1}}');
    const result = await putEvents(JSON.stringify({ Entries: [entryWith(detail)] }));
    expect(JSON.parse(result.text)).toMatchObject({ FailedEntryCount: 0 });
    expect(await storedAfterSettling(idOf(request))).toBeUndefined();
  });

  it('a signed Slack approve click with an empty action_ts is acknowledged, not a 500', async () => {
    const user = directory.users.find((candidate) => candidate.id === 'bob')!;
    const result = await postSlack(
      twin,
      directory.slack.signingSecret,
      slackForm({
        type: 'block_actions',
        user: { id: user.slackUserId },
        trigger_id: 'trigger-fuzz',
        channel: { id: directory.slack.channel },
        actions: [{ action_id: 'countersign_approve', value: '\u{a374f}\u{2b202}', action_ts: '' }],
      }),
    );
    expect(result.status).toBe(200);
  });

  it('a signed DynamoDB call whose body is JSON null is a 400, and the twin keeps serving', async () => {
    const answer = await signedJsonCall(twin, twin.operatorCredentials, {
      service: 'dynamodb',
      target: 'DynamoDB_20120810.Scan',
      version: '1.0',
      body: 'null',
    });
    expect(answer.status).toBe(400);
    expect(answer.headers.get('x-amzn-errortype')).toMatch(/^SerializationException/);
    expect((await client.api('GET', '/api/me', 'alice')).status).toBe(200);
  });
});

describe('bad PutEvents bodies get a 400, never a 5xx', () => {
  const request = () => JSON.stringify(readOnlyRequest());
  it.each([
    ['null', () => 'null'],
    ['Entries not an array', () => JSON.stringify({ Entries: { 0: entryWith(request()) } })],
    ['Entries holding null', () => JSON.stringify({ Entries: [null] })],
    ['an entry that is a string', () => JSON.stringify({ Entries: ['entry'] })],
    ['Source not a string', () => JSON.stringify({ Entries: [{ ...entryWith(request()), Source: 7 }] })],
    [
      'Resources not strings',
      () => JSON.stringify({ Entries: [{ ...entryWith(request()), Resources: [1] }] }),
    ],
    ['Time a string', () => JSON.stringify({ Entries: [{ ...entryWith(request()), Time: 'yesterday' }] })],
    [
      'Time not finite',
      () => JSON.stringify({ Entries: [entryWith(request())] }).replace(/}]}$/, ',"Time":1e400}]}'),
    ],
    ['deeply nested', () => `{"Entries":${'['.repeat(100_000)}${']'.repeat(100_000)}}`],
  ])('%s', async (_name, body) => {
    const result = await putEvents(body());
    expect(result.status).toBe(400);
    expect(result.headers.get('x-amzn-errortype')).toMatch(/^(SerializationException|ValidationException)/);
  });

  it.each([
    ['a Time past what a date can hold', 1e20],
    ['a negative Time', -1e17],
  ])('an entry with %s fails that entry alone', async (_name, time) => {
    const good = readOnlyRequest();
    const entries = `[${JSON.stringify(entryWith(request()))
      .slice(0, -1)
      .concat(`,"Time":${time}}`)},${JSON.stringify(entryWith(JSON.stringify(good)))}]`;
    const result = await putEvents(`{"Entries":${entries}}`);
    expect(result.status).toBe(200);
    expect(JSON.parse(result.text)).toMatchObject({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'InvalidArgument' }, { EventId: expect.any(String) }],
    });
  });
});

describe('bad paths and ids on the REST API and Slack', () => {
  it.each([
    ['a bad percent-encoding', '/api/requests/%E0%A4%A'],
    ['a lone percent', '/api/requests/50%'],
    ['an id past the DynamoDB key limit', `/api/requests/invoice-bot%3A${'x'.repeat(3000)}`],
    ['a vote on an id past the key limit', `/api/requests/invoice-bot%3A${'y'.repeat(3000)}/votes`],
  ])('%s is a 4xx', async (_name, path) => {
    const method = path.endsWith('/votes') ? 'POST' : 'GET';
    const result = await client.api(
      method,
      path,
      'alice',
      method === 'POST' ? { vote: 'approve' } : undefined,
    );
    expect(result.status).toBeGreaterThanOrEqual(400);
    expect(result.status).toBeLessThan(500);
  });

  it.each(['countersign_approve', 'countersign_deny'])(
    'a signed Slack click (%s) on an id past the key limit is acknowledged, never a 5xx',
    async (actionId) => {
      const user = directory.users.find((candidate) => candidate.id === 'alice')!;
      const result = await postSlack(
        twin,
        directory.slack.signingSecret,
        slackForm({
          type: 'block_actions',
          user: { id: user.slackUserId },
          trigger_id: 'trigger-long',
          channel: { id: directory.slack.channel },
          actions: [{ action_id: actionId, value: `invoice-bot:${'z'.repeat(3000)}`, action_ts: '1.2' }],
        }),
      );
      expect(result.status).toBe(200);
    },
  );
});
