/**
 * `countersign policy suggest` on the twin's Athena over archives built for it: nothing on a
 * history with one denial; a proposal (validated, with its evidence and a case the policy test
 * runner reads) once an agent's action on one prefix was approved often enough; nothing again once
 * that agent made an unapproved privileged call. Never written into the policy directory.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPolicyEngine } from '../../../lambdas/adapters/cedar/cedar-policy-engine.ts';
import { loadCedar } from '../../../lambdas/adapters/cedar/cedar-wasm.ts';
import { loadPolicyFiles } from '../../../lambdas/adapters/policy-files.ts';
import { PolicyFacts } from '../../../lambdas/domain/policy-facts.ts';
import { AgentRequestDetail, PolicyDecision } from '../../../lambdas/domain/schemas.ts';
import * as z from '../../../lambdas/domain/zod.ts';
import { main } from '../../../local/cli/main.ts';
import { resourcePrefix } from '../../../local/cli/suggestions/suggest.ts';
import {
  type AthenaTwin,
  type RequestStory,
  requestRecords,
  startAthenaTwin,
  unapprovedCallRecords,
} from '../../support/audit-history.ts';
import { TEST_CREDENTIALS } from '../../support/s3-server.ts';

// Cedar's wasm, compiled in the background since the import, instantiated once (cedar-wasm.ts).
await loadCedar();

const POLICY_DIR = fileURLToPath(new URL('../../../policies/', import.meta.url));
const DEFAULTS = { approverGroup: 'security', timeoutSeconds: 3600 };
/** The case-file format of test/policies/policy-cases.test.ts. */
const PolicyCase = z.strictObject({
  description: z.string().check(z.minLength(1)),
  request: AgentRequestDetail,
  facts: z.optional(PolicyFacts),
  expect: z.required(z.partial(z.omit(PolicyDecision, { reason: true })), { decision: true }),
});

let twin: AthenaTwin;
let dataDir: string;
let out: string;

const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3_600_000).toISOString();

function stories(
  agent: string,
  prefix: string,
  count: number,
  extra: Partial<RequestStory> = {},
): RequestStory[] {
  return Array.from({ length: count }, (_, index) => ({
    requestId: `${agent}:copy-${index}`,
    agent,
    action: 's3:CopyObject',
    resource: `${prefix}${String(index).padStart(2, '0')}.csv`,
    requestedAt: hoursAgo(48 + index),
    approvers: [index % 2 === 0 ? 'alice' : 'carol'],
    policyIds: ['data-export-needs-security'],
    ...extra,
  }));
}

async function countersign(...args: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...parts) => void stdout.push(parts.join(' ')));
  const error = vi
    .spyOn(console, 'error')
    .mockImplementation((...parts) => void stderr.push(parts.join(' ')));
  const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await main([...args, '--url', twin.endpoint, '--data-dir', dataDir]);
    return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
  }
}

beforeAll(async () => {
  twin = await startAthenaTwin();
  dataDir = await mkdtemp(join(tmpdir(), 'countersign-suggest-'));
  out = join(dataDir, 'suggestions');
  await writeFile(join(dataDir, 'operator-credentials.json'), JSON.stringify(TEST_CREDENTIALS));
}, 60_000);
afterAll(async () => {
  await twin.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('policy suggest', () => {
  it('proposes nothing on a history with one denial', async () => {
    const history = stories('report-bot', 'arn:aws:s3:::reports/2026/', 12);
    history[5] = { ...history[5]!, approvers: [], deniers: ['carol'], decision: 'DENIED' };
    await twin.archiveRecords(history.flatMap(requestRecords));
    const result = await countersign('policy', 'suggest', '--min-approvals', '10', '--out', out);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^nothing to suggest/);
    await expect(readdir(out)).rejects.toThrow();
  });

  it('proposes a validated permit, with its evidence and a policy case, for a history built for it', async () => {
    await twin.archiveRecords(
      stories('invoice-bot', 'arn:aws:s3:::invoices/2026/', 11).flatMap(requestRecords),
    );
    const result = await countersign('policy', 'suggest', '--min-approvals', '10', '--out', out);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('1 proposal(s)');
    const files = (await readdir(out)).sort();
    expect(files).toHaveLength(2);
    const [policyFile, caseFile] = files as [string, string];
    const policy = await readFile(join(out, policyFile), 'utf8');
    expect(policy).toContain('permit (principal == Agent::"invoice-bot", action, resource)');
    expect(policy).toContain('resource.arn like "arn:aws:s3:::invoices/2026/*"');
    expect(policy).toContain('context.operation == "CopyObject"');
    expect(policy).toContain('NOT APPLIED');
    for (let index = 0; index < 11; index += 1) expect(policy).toContain(`invoice-bot:copy-${index}`);
    expect(policy).toContain('approved by alice');
    expect(policy).toContain('(data-export-needs-security)');
    expect(policy).not.toContain('report-bot');

    const policyCase = PolicyCase.parse(JSON.parse(await readFile(join(out, caseFile), 'utf8')));
    const id = policyFile.replace(/\.cedar$/, '');
    expect(policyCase.expect).toEqual({ decision: 'ALLOW', policyIds: [id] });
    const { schema, policies } = await loadPolicyFiles(POLICY_DIR);
    const { agent, action, resource, parameters } = policyCase.request;
    const alone = createPolicyEngine({ schema, policies: [{ text: policy }], defaults: DEFAULTS });
    expect(alone.problems).toEqual([]);
    expect(alone.evaluate({ agent, action, resource, parameters })).toMatchObject(policyCase.expect);
    // With the policies in force it validates, and changes nothing on its own (strictest wins).
    const withPolicies = createPolicyEngine({
      schema,
      policies: [...policies, { text: policy }],
      defaults: DEFAULTS,
    });
    expect(withPolicies.problems).toEqual([]);
    expect(withPolicies.evaluate({ agent, action, resource, parameters })).toMatchObject({
      decision: 'REQUIRE_APPROVAL',
      policyIds: ['data-export-needs-security'],
    });
    // Other resources outside the prefix stay out of it.
    expect(
      alone.evaluate({ agent, action, resource: { arn: 'arn:aws:s3:::invoices/2027/01.csv' }, parameters }),
    ).toMatchObject({ decision: 'REQUIRE_APPROVAL', policyIds: [] });
    await rm(out, { recursive: true, force: true });
  });

  it('proposes nothing once the agent made an unapproved privileged call', async () => {
    await twin.archiveLooseRecords(
      unapprovedCallRecords({
        requestId: 'invoice-bot:call-1',
        agent: 'invoice-bot',
        action: 's3:PutBucketPolicy',
        resource: 'arn:aws:s3:::invoices',
        calledAt: hoursAgo(1),
      }),
    );
    const result = await countersign('policy', 'suggest', '--min-approvals', '10', '--out', out);
    expect(result.stdout).toMatch(/^nothing to suggest/);
  });

  it('never writes into the policy directory, and checks its numbers', async () => {
    const into = await countersign('policy', 'suggest', '--out', join(POLICY_DIR, 'suggested'));
    expect(into.code).toBe(2);
    expect(into.stderr).toMatch(/is in the policy directory/);
    const days = await countersign('policy', 'suggest', '--days', '0');
    expect(days.code).toBe(2);
    expect(days.stderr).toMatch(/--days must be a whole number/);
  });
});

describe('resource patterns', () => {
  it('generalise to the last path segment only when that still names less than a resource type', () => {
    expect(resourcePrefix('arn:aws:s3:::invoices/2026/01.csv')).toBe('arn:aws:s3:::invoices/2026/*');
    expect(resourcePrefix('arn:aws:s3:::invoices/01.csv')).toBe('arn:aws:s3:::invoices/*');
    expect(resourcePrefix('arn:aws:iam::000000000000:role/service/app')).toBe(
      'arn:aws:iam::000000000000:role/service/*',
    );
    expect(resourcePrefix('arn:aws:kms:us-east-1:000000000000:key/k1')).toBeUndefined();
    expect(resourcePrefix('arn:aws:s3:::invoices')).toBeUndefined();
    expect(resourcePrefix('not-an-arn')).toBeUndefined();
  });
});
