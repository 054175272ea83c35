/**
 * `npm start` as a newcomer runs it: `countersign dev` in its own process. The twin it starts must
 * be the whole local twin (console, dev issuer, chat sinks), a request an agent sends must reach
 * reviewers in chat and be approvable through the API, and Ctrl-C must stop it cleanly.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { agentRequest, demoAgent, idOf, REPO_ROOT, tempDir } from './harness.ts';

let child: ChildProcessWithoutNullStreams;
let output = '';
let url: string;
let dataDir: string;

beforeAll(async () => {
  dataDir = await tempDir('dev');
  child = spawn(
    process.execPath,
    [join(REPO_ROOT, 'bin', 'countersign.mjs'), 'dev', '--port', '0', '--data-dir', dataDir],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    },
  );
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  url = await vi.waitFor(
    () => {
      const match = /Console\s+(http:\/\/127\.0\.0\.1:\d+)\//.exec(output);
      if (match?.[1] === undefined)
        throw new Error(`the twin has not printed its URL yet:\n${output.slice(-2000)}`);
      return match[1];
    },
    { timeout: 240_000, interval: 200 },
  );
}, 300_000);

afterAll(async () => {
  if (child.exitCode === null) child.kill('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

async function token(user: string): Promise<string> {
  const response = await fetch(`${url}/local/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user }),
  });
  return ((await response.json()) as { token: string }).token;
}

describe('countersign dev (npm start)', () => {
  it('serves the console and takes a request from an agent to a decision through chat and the API', async () => {
    expect(output).toContain('Demo identities (countersign.local.json)');
    expect((await fetch(`${url}/`)).status).toBe(200);

    const agent = await demoAgent();
    const events = new EventBridgeClient({
      endpoint: url,
      region: 'local',
      credentials: { accessKeyId: agent.accessKeyId, secretAccessKey: agent.secretAccessKey },
    });
    const detail = agentRequest(agent);
    const put = await events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: 'countersign',
            Source: `countersign.agent.${agent.id}`,
            DetailType: 'Action Requested',
            Detail: JSON.stringify(detail),
          },
        ],
      }),
    );
    events.destroy();
    expect(put.FailedEntryCount).toBe(0);

    // Reviewers were asked in Slack: the chat sinks are part of `npm start`.
    await vi.waitFor(
      async () => {
        const outbox = (await (await fetch(`${url}/local/outbox`)).json()) as { items: { method: string }[] };
        if (!outbox.items.some((entry) => entry.method === 'chat.postMessage'))
          throw new Error('no review posted');
      },
      { timeout: 30_000, interval: 100 },
    );

    const carol = await token('carol');
    const vote = await fetch(`${url}/api/requests/${encodeURIComponent(idOf(detail))}/votes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${carol}`, 'content-type': 'application/json' },
      body: JSON.stringify({ vote: 'approve' }),
    });
    expect(vote.status).toBe(201);
    const decided = await vi.waitFor(
      async () => {
        const response = await fetch(`${url}/api/requests/${encodeURIComponent(idOf(detail))}`, {
          headers: { authorization: `Bearer ${carol}` },
        });
        const body = (await response.json()) as { request: { status: string; decision?: string } };
        if (body.request.status === 'PENDING') throw new Error('still pending');
        return body.request;
      },
      { timeout: 30_000, interval: 100 },
    );
    expect(decided).toMatchObject({ status: 'APPROVED', decision: 'APPROVED' });
  });

  it('stops cleanly on Ctrl-C', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toContain('SIGINT: stopping the twin');
  });
});
