/**
 * The agent side end to end on the twin, through `countersign/agent` only: the fast decision path
 * (SigV4 to the HTTP API's IAM-authorized route), waiting for people's votes, guard, and receipts
 * checked with Node's own crypto (not the code that signed or verifies them in the product).
 */
import { spawn } from 'node:child_process';
import { createPublicKey, randomUUID, verify } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  type AgentClient,
  ApprovalDeniedError,
  ApprovalPendingError,
  actionHash,
  CountersignApiError,
  createAgentClient,
  verifyReceipt,
} from 'countersign/agent';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignedTransport } from '../../../agent/transport.ts';
import type { RunningTwin } from '../../../local/twin/index.ts';
import { type Agent, demoAgent, E2eClient, REPO_ROOT, removeDir, startE2eTwin, tempDir } from './harness.ts';

const ROLE = 'arn:aws:iam::123456789012:role/invoice-exporter';
const ADMIN = 'arn:aws:iam::aws:policy/AdministratorAccess';

let twin: RunningTwin;
let agent: Agent;
let people: E2eClient;
let countersign: AgentClient;
let dataDir: string;

function clientAs(credentials: { accessKeyId: string; secretAccessKey: string }, endpoint = twin.url) {
  return createAgentClient({ agentId: agent.id, endpoint, region: twin.region, credentials });
}

beforeAll(async () => {
  dataDir = await tempDir('agent-sdk');
  twin = await startE2eTwin({ dataDir });
  agent = await demoAgent();
  people = new E2eClient(twin, agent);
  countersign = clientAs(agent);
}, 120_000);

afterAll(async () => {
  people?.destroy();
  await twin?.stop();
  if (dataDir !== undefined) await removeDir(dataDir);
});

const read = () => ({
  action: 'iam:GetRole',
  resource: { arn: ROLE, type: 'AWS::IAM::Role' },
  parameters: { roleName: 'invoice-exporter' },
  justification: 'agent SDK end-to-end test',
  onBehalfOf: 'dave',
});

/** ES256 over the JWS signing input, checked with node:crypto against the JWKS the twin serves. */
async function verifiesIndependently(jws: string): Promise<Record<string, unknown>> {
  const [header, payload, signature] = jws.split('.') as [string, string, string];
  const { kid } = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { kid: string };
  const jwks = (await (await fetch(`${twin.url}/api/receipts/jwks.json`)).json()) as {
    keys: { kid: string }[];
  };
  const jwk = jwks.keys.find((key) => key.kid === kid);
  expect(jwk, `no key ${kid} in the JWKS`).toBeDefined();
  const key = createPublicKey({ key: jwk as never, format: 'jwk' });
  const valid = verify(
    'sha256',
    Buffer.from(`${header}.${payload}`),
    { key, dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature, 'base64url'),
  );
  expect(valid).toBe(true);
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
}

describe('decided by policy, at once', () => {
  it('auto-approves a read with a receipt that verifies independently, and answers the same again', async () => {
    const requestId = `sdk-${randomUUID()}`;
    const result = await countersign.requestApproval({ ...read(), requestId });
    expect(result).toMatchObject({
      requestId: `${agent.id}:${requestId}`,
      decision: 'AUTO_APPROVED',
      approvers: [],
      actionHash: actionHash(read()),
    });
    expect(await verifiesIndependently(result.receipt)).toMatchObject({
      iss: 'countersign',
      requestId: result.requestId,
      agentId: agent.id,
      actionHash: result.actionHash,
      decision: 'AUTO_APPROVED',
    });
    await expect(
      verifyReceipt(result.receipt, {
        jwksUrl: `${twin.url}/api/receipts/jwks.json`,
        actionHash: result.actionHash,
        agentId: agent.id,
      }),
    ).resolves.toMatchObject({ decision: 'AUTO_APPROVED' });

    // Recorded like any decision: the REST API shows it decided, with the same receipt.
    const recorded = await people.waitFor(result.requestId, (found) => found.request.status === 'APPROVED');
    expect(recorded.receipt).toBe(result.receipt);

    // Idempotent on requestId: the same answer; the id reused for another action is refused.
    await expect(countersign.requestApproval({ ...read(), requestId })).resolves.toEqual(result);
    const reused = countersign.requestApproval({ ...read(), parameters: { roleName: 'other' }, requestId });
    await expect(reused).rejects.toMatchObject({ name: 'CountersignApiError', status: 409 });
  });

  it('denies what policy forbids; guard throws ApprovalDeniedError and never runs the action', async () => {
    let ran = false;
    const destroy = countersign.guard(
      {
        action: 'kms:ScheduleKeyDeletion',
        resource: { arn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
        parameters: { pendingWindowInDays: 7 },
        justification: 'agent SDK end-to-end test',
      },
      () => {
        ran = true;
      },
    );
    await expect(destroy).rejects.toBeInstanceOf(ApprovalDeniedError);
    await expect(destroy).rejects.toMatchObject({ decision: 'POLICY_DENIED' });
    expect(ran).toBe(false);
  });

  it('refuses callers that are not agents, and unsigned calls, with 403', async () => {
    const operator = clientAs(twin.operatorCredentials);
    await expect(operator.requestApproval(read())).rejects.toMatchObject({ status: 403 });
    const unsigned = await fetch(`${twin.url}/api/agent/decisions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...read(), requestId: 'unsigned', agent: { id: agent.id } }),
    });
    expect(unsigned.status).toBe(403);
    const wrongSecret = clientAs({ accessKeyId: agent.accessKeyId, secretAccessKey: 'not-the-secret' });
    await expect(wrongSecret.requestApproval(read())).rejects.toBeInstanceOf(CountersignApiError);
  });
});

describe('decided by people', () => {
  it('waits for two platform approvals of an AdministratorAccess attachment', async () => {
    const requestId = `sdk-${randomUUID()}`;
    const attach = {
      action: 'iam:AttachRolePolicy',
      resource: { arn: ROLE, type: 'AWS::IAM::Role' },
      parameters: { roleName: 'invoice-exporter', policyArn: ADMIN },
      justification: 'agent SDK end-to-end test',
      onBehalfOf: 'dave',
      requestId,
    };
    const id = `${agent.id}:${requestId}`;

    // Waiting can stop (timeout or signal) without losing the request: it stays pending.
    await expect(countersign.requestApproval({ ...attach, timeoutMs: 300 })).rejects.toBeInstanceOf(
      ApprovalPendingError,
    );
    const approval = countersign.requestApproval(attach);
    await people.waitFor(id, (found) => found.request.status === 'PENDING');
    expect(await countersign.getDecision(requestId)).toBeUndefined();
    expect((await people.vote(id, 'carol', 'approve', undefined, 'invoice-exporter')).status).toBe(201);
    expect((await people.vote(id, 'erin', 'approve', undefined, 'invoice-exporter')).status).toBe(201);

    const result = await approval;
    expect(result).toMatchObject({ requestId: id, decision: 'APPROVED', approvers: ['carol', 'erin'] });
    expect(await verifiesIndependently(result.receipt)).toMatchObject({
      decision: 'APPROVED',
      approvers: ['carol', 'erin'],
      actionHash: actionHash(attach),
    });
    expect(await countersign.getDecision(id)).toEqual(result);
  }, 60_000);
});

describe('guard', () => {
  let proxy: Server;
  let replayedReceipt: string | undefined;

  /**
   * A man in the middle between agent and Countersign: it answers every decision with the receipt
   * of another, approved action (a replay), so only the receipt's own check can catch it.
   */
  beforeAll(async () => {
    // It speaks to Countersign with the agent's key (a proxy the agent trusts with it, say).
    const upstream = new SignedTransport({ endpoint: twin.url, region: twin.region, credentials: agent });
    proxy = createServer(async (request, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const url = new URL(request.url!, 'http://proxy');
      const answer = await upstream.call(request.method as 'GET' | 'POST', url.pathname, {
        query: Object.fromEntries(url.searchParams),
        ...(chunks.length === 0 ? {} : { body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }),
      });
      const body = answer.body as Record<string, unknown>;
      response.writeHead(answer.status, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify(replayedReceipt === undefined ? body : { ...body, receipt: replayedReceipt }),
      );
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  });

  afterAll(() => new Promise<void>((resolve) => proxy.close(() => resolve())));

  it('runs exactly the approved action, frozen', async () => {
    const seen = await countersign.guard(read(), (approved) => {
      expect(approved.claims.decision).toBe('AUTO_APPROVED');
      expect(() => {
        (approved.parameters as Record<string, unknown>).roleName = 'someone-else';
      }).toThrow(TypeError);
      return approved.parameters;
    });
    expect(seen).toEqual(read().parameters);
  });

  it('refuses a tampered action: an approval replayed for another action never runs it', async () => {
    const approved = await countersign.requestApproval(read());
    replayedReceipt = approved.receipt;
    const viaProxy = createAgentClient({
      agentId: agent.id,
      endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
      jwksUrl: `${twin.url}/api/receipts/jwks.json`,
      credentials: agent,
    });
    let ran = false;
    const tampered = viaProxy.guard(
      { ...read(), parameters: { roleName: 'invoice-exporter', extra: 'tampered' } },
      () => {
        ran = true;
      },
    );
    await expect(tampered).rejects.toBeInstanceOf(ApprovalDeniedError);
    expect(ran).toBe(false);
  });
});

describe('MCP server (npx countersign mcp), from the official MCP client', () => {
  let mcp: Client;

  beforeAll(async () => {
    mcp = new Client({ name: 'countersign-e2e', version: '1.0.0' });
    await mcp.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [join(REPO_ROOT, 'bin', 'countersign.mjs'), 'mcp'],
        cwd: REPO_ROOT,
        env: {
          COUNTERSIGN_AGENT_ID: agent.id,
          COUNTERSIGN_ENDPOINT: twin.url,
          AWS_REGION: twin.region,
          AWS_ACCESS_KEY_ID: agent.accessKeyId,
          AWS_SECRET_ACCESS_KEY: agent.secretAccessKey,
          NODE_NO_WARNINGS: '1',
        },
        stderr: 'pipe',
      }),
    );
  }, 60_000);

  afterAll(() => mcp?.close());

  const textOf = (result: Awaited<ReturnType<Client['callTool']>>) =>
    (result.content as { type: string; text: string }[]).map((part) => part.text).join('\n');

  it('lists request_approval (its input schema generated from the request schema) and get_decision', async () => {
    const { tools } = await mcp.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(['get_decision', 'request_approval']);
    const request = tools.find((tool) => tool.name === 'request_approval')!;
    expect(Object.keys(request.inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining([
        'action',
        'resource',
        'parameters',
        'justification',
        'requestId',
        'onBehalfOf',
      ]),
    );
    expect(request.inputSchema.required).toEqual(
      expect.arrayContaining(['action', 'resource', 'justification']),
    );
    expect(request.inputSchema).toMatchObject({ additionalProperties: false });
  });

  it('answers a read with the decision and a receipt that verifies', async () => {
    const result = await mcp.callTool({ name: 'request_approval', arguments: read() });
    expect(result.isError ?? false).toBe(false);
    expect(result.structuredContent).toMatchObject({
      decision: 'AUTO_APPROVED',
      actionHash: actionHash(read()),
    });
    expect(textOf(result)).toContain('AUTO_APPROVED');
    const { receipt } = result.structuredContent as { receipt: string };
    expect(await verifiesIndependently(receipt)).toMatchObject({
      decision: 'AUTO_APPROVED',
      agentId: agent.id,
    });
  });

  it('answers the pending request id when people decide, and get_decision reads it', async () => {
    const asked = await mcp.callTool({
      name: 'request_approval',
      arguments: {
        action: 'iam:AttachRolePolicy',
        resource: { arn: ROLE },
        parameters: { roleName: 'invoice-exporter', policyArn: ADMIN },
        justification: 'MCP end-to-end test',
        waitSeconds: 0,
      },
    });
    expect(asked.structuredContent).toMatchObject({ decision: 'PENDING' });
    const { requestId } = asked.structuredContent as { requestId: string };
    expect(requestId.startsWith(`${agent.id}:`)).toBe(true);
    const read = await mcp.callTool({ name: 'get_decision', arguments: { requestId } });
    expect(read.structuredContent).toEqual({ requestId, decision: 'PENDING' });
  });

  it('answers bad input and refusals with tool errors that say what is wrong', async () => {
    const missing = await mcp.callTool({
      name: 'request_approval',
      arguments: { action: 'iam:GetRole', resource: { arn: ROLE } },
    });
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toMatch(/justification/);
    const unknown = await mcp.callTool({ name: 'get_decision', arguments: { requestId: 'no-such-request' } });
    expect(unknown.isError).toBe(true);
    expect(textOf(unknown)).toMatch(/404/);
  });
});

describe('examples/agent.ts', () => {
  it('runs against the twin: a read at once, an attachment after a platform vote, a tampered action refused', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'examples', 'agent.ts')], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        COUNTERSIGN_ENDPOINT: twin.url,
        NODE_NO_WARNINGS: '1',
      },
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const id = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
        const waiting = /approve (\S+) --as carol/.exec(stdout);
        if (waiting !== null) resolve(waiting[1]!);
      });
      child.on('close', () => reject(new Error(`the example ended early: ${stdout}${stderr}`)));
    });
    await people.waitFor(id, (found) => found.request.status === 'PENDING');
    expect((await people.vote(id, 'carol', 'approve')).status).toBe(201);
    expect(await exited, stderr).toBe(0);
    expect(stdout).toMatch(/^1\. invoice-bot:\S+: AUTO_APPROVED/m);
    expect(stdout).toMatch(/approved by carol: attaching/);
    expect(stdout).toMatch(/^3\. the receipt does not vouch for AdministratorAccess: HASH_MISMATCH/m);
  }, 60_000);
});
