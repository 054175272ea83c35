/**
 * Signed decision receipts end to end on the twin: the same KMS adapter signs through the twin's
 * KMS, the request carries its receipt, the unauthenticated JWKS route serves the key, and
 * `countersign receipt verify` accepts the receipt for its action and refuses it for another.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { verifyReceipt } from '../../../lambdas/domain/receipt.ts';
import type { RunningTwin } from '../../../local/twin/index.ts';
import {
  agentRequest,
  demoAgent,
  E2eClient,
  idOf,
  REPO_ROOT,
  removeDir,
  startE2eTwin,
  tempDir,
} from './harness.ts';

let twin: RunningTwin;
let client: E2eClient;
let dataDir: string;

beforeAll(async () => {
  dataDir = await tempDir('receipts');
  twin = await startE2eTwin({ dataDir });
  client = new E2eClient(twin, await demoAgent());
}, 120_000);

afterAll(async () => {
  client?.destroy();
  await twin?.stop();
  if (dataDir !== undefined) await removeDir(dataDir);
});

/** The CLI in its own process, run asynchronously: the twin answers it from this process. */
function cli(
  args: string[],
  input?: string,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'countersign.mjs'), 'receipt', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  child.stdin.end(input ?? '');
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

describe('receipts on the twin', () => {
  it('signs every decision; the JWKS route verifies it; the CLI checks it for its action only', async () => {
    const request = agentRequest(client.agent, {
      action: 'iam:GetRole',
      parameters: { roleName: 'invoice-exporter' },
    });
    await client.send(request);
    const decided = await client.waitForDecision(idOf(request));
    expect(decided.decision).toBe('AUTO_APPROVED');
    const receipt = await vi.waitFor(
      async () => {
        const found = (await client.detail(idOf(request)))?.request.receipt;
        if (found === undefined) throw new Error('no receipt yet');
        return found;
      },
      { timeout: 20_000, interval: 100 },
    );

    const response = await fetch(`${twin.url}/api/receipts/jwks.json`);
    expect(response.status).toBe(200);
    const jwks = (await response.json()) as { keys: Record<string, string>[] };
    expect(jwks.keys).toEqual([
      expect.objectContaining({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' }),
    ]);
    expect(jwks.keys[0]).not.toHaveProperty('d');
    await expect(
      verifyReceipt(receipt, { keys: jwks, actionHash: decided.actionHash, agentId: client.agent.id }),
    ).resolves.toMatchObject({ requestId: idOf(request), decision: 'AUTO_APPROVED' });

    const ok = await cli([
      'verify',
      receipt,
      '--action-hash',
      decided.actionHash,
      '--url',
      twin.url,
      '--require-approved',
    ]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(idOf(request));
    const otherAction = await cli(['verify', receipt, '--action-hash', 'f'.repeat(64), '--url', twin.url]);
    expect(otherAction.status).toBe(1);
    expect(otherAction.stderr).toContain('HASH_MISMATCH');
    const tampered = await cli(['verify', `${receipt.slice(0, -6)}AAAAAA`, '--url', twin.url]);
    expect(tampered.status).toBe(1);
    const fromStdin = await cli(['verify', '-', '--url', twin.url, '--json'], receipt);
    expect(fromStdin.status, fromStdin.stderr).toBe(0);
    expect(JSON.parse(fromStdin.stdout)).toMatchObject({
      valid: true,
      claims: { decision: 'AUTO_APPROVED' },
    });
    expect((await cli(['verify'])).status).toBe(2);
    expect((await cli(['check', receipt])).status).toBe(2);
  }, 120_000);
});
