/**
 * The prepared policy file replaces parsing and validating at cold start: it must decide exactly
 * as the sources do, be used only for the very sources (and Cedar) it was made of, and never let a
 * policy set that does not validate through, at build time or at start.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPolicyEngine } from '../../../../lambdas/adapters/cedar/cedar-policy-engine.ts';
import { loadCedar } from '../../../../lambdas/adapters/cedar/cedar-wasm.ts';
import {
  buildPreparedPolicyFile,
  type PreparedPolicyFile,
  sourceDigest,
} from '../../../../lambdas/adapters/cedar/policy-set.ts';
import {
  loadPolicyFiles,
  type PolicyFiles,
  PREPARED_POLICY_FILE,
  writePreparedPolicyFile,
} from '../../../../lambdas/adapters/policy-files.ts';
import { ConfigurationError } from '../../../../lambdas/domain/errors.ts';
import type { PolicyRequest } from '../../../../lambdas/ports/index.ts';

// Cedar's wasm, compiled in the background since the import, instantiated once (cedar-wasm.ts).
await loadCedar();

const POLICY_DIR = fileURLToPath(new URL('../../../../policies/', import.meta.url));
const CASES_DIR = fileURLToPath(new URL('../../../policies/cases/', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const DEFAULTS = { approverGroup: 'security', timeoutSeconds: 3600 };

let files: PolicyFiles;
let prepared: PreparedPolicyFile;
let root: string;

beforeAll(async () => {
  files = await loadPolicyFiles(POLICY_DIR);
  const built = buildPreparedPolicyFile(files);
  expect(built.problems).toEqual([]);
  prepared = built.file!;
  root = await mkdtemp(join(tmpdir(), 'countersign-prepared-policies-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function caseRequests(): Promise<PolicyRequest[]> {
  const names = (await readdir(CASES_DIR)).filter((name) => name.endsWith('.json')).sort();
  return Promise.all(
    names.map(async (name) => {
      const { request, facts } = JSON.parse(await readFile(join(CASES_DIR, name), 'utf8'));
      const { agent, action, resource, parameters, execute } = request;
      return { agent, action, resource, parameters, ...(execute === undefined ? {} : { execute }), ...facts };
    }),
  );
}

/** The prepared file with one policy's `@reason` changed: a decision that says it came from the file. */
function withMarkedReason(file: PreparedPolicyFile, policyId: string): PreparedPolicyFile {
  return {
    ...file,
    policies: file.policies.map((policy) =>
      policy.json.annotations?.id === policyId
        ? {
            ...policy,
            json: {
              ...policy.json,
              annotations: { ...policy.json.annotations, reason: 'from the prepared file' },
            },
          }
        : policy,
    ),
  };
}

const READ = {
  agent: { id: 'invoice-bot' },
  action: 's3:GetObject',
  resource: { arn: 'arn:aws:s3:::invoices/2026/01.pdf' },
  parameters: {},
} satisfies PolicyRequest;
/** The policy that allows READ. */
const READ_POLICY = 'read-only-allowed';

describe('the prepared policy file', () => {
  it('decides every policy case exactly as the sources do', async () => {
    const fromSources = createPolicyEngine({ ...files, defaults: DEFAULTS });
    const fromPrepared = createPolicyEngine({ ...files, prepared, defaults: DEFAULTS });
    expect(fromPrepared.problems).toEqual([]);
    const requests = await caseRequests();
    expect(requests.length).toBeGreaterThan(10);
    for (const request of requests) {
      expect(fromPrepared.evaluate(request)).toEqual(fromSources.evaluate(request));
    }
  });

  it('is what the engine reads when it was made of these sources', () => {
    const engine = createPolicyEngine({
      ...files,
      prepared: withMarkedReason(prepared, READ_POLICY),
      defaults: DEFAULTS,
    });
    expect(engine.evaluate(READ)).toMatchObject({
      decision: 'ALLOW',
      reason: expect.stringContaining('from the prepared file'),
    });
  });

  it('is ignored when the sources changed since (stale): the sources decide', () => {
    const marked = withMarkedReason(prepared, READ_POLICY);
    const forbidReads = `@id("no-reads") @reason("reads are off") forbid (principal, action, resource);`;
    const changed = [...files.policies, { id: 'z-forbid.cedar', text: forbidReads }];
    const engine = createPolicyEngine({
      policies: changed,
      schema: files.schema,
      prepared: marked,
      defaults: DEFAULTS,
    });
    expect(engine.problems).toEqual([]);
    expect(engine.evaluate(READ)).toMatchObject({ decision: 'DENY', policyIds: ['no-reads'] });
  });

  it('denies everything when the sources no longer validate, whatever a stale file says', () => {
    const broken = [
      ...files.policies,
      { id: 'z-broken.cedar', text: 'permit (principal, action, resource) when { resource.nope };' },
    ];
    const engine = createPolicyEngine({
      policies: broken,
      schema: files.schema,
      prepared,
      defaults: DEFAULTS,
    });
    expect(engine.problems).not.toEqual([]);
    expect(engine.evaluate(READ)).toMatchObject({ decision: 'DENY' });
  });

  it('is ignored when another Cedar version made it, or when it is not a prepared file', () => {
    const marked = withMarkedReason(prepared, READ_POLICY);
    for (const other of [{ ...marked, cedarVersion: '0.0.0' }, { ...marked, format: 2 }, 'garbage', null]) {
      const engine = createPolicyEngine({ ...files, prepared: other, defaults: DEFAULTS });
      expect(engine.problems).toEqual([]);
      expect(engine.evaluate(READ).reason).not.toContain('from the prepared file');
    }
  });

  it('still reads the rules with the function’s defaults, and refuses bad ones', () => {
    const engine = createPolicyEngine({
      ...files,
      prepared,
      defaults: { approverGroup: 'not a group!', timeoutSeconds: 0 },
    });
    expect(engine.problems).toHaveLength(2);
    expect(engine.evaluate(READ)).toMatchObject({ decision: 'DENY' });
  });

  it('names the sources it was made of', () => {
    expect(prepared.digest).toBe(sourceDigest(files));
    expect(sourceDigest({ ...files, schema: `${files.schema}\n` })).not.toBe(prepared.digest);
  });
});

describe('writePreparedPolicyFile (the build step)', () => {
  it('writes the prepared file that loadPolicyFiles then carries', async () => {
    const dir = await mkdtemp(join(root, 'ok-'));
    await Promise.all(
      [...files.policies.map(({ id, text }) => [id!, text]), ['countersign.cedarschema', files.schema]].map(
        ([name, text]) => writeFile(join(dir, name!), text!),
      ),
    );
    await writePreparedPolicyFile(dir);
    expect((await loadPolicyFiles(dir)).prepared).toEqual(prepared);
  });

  it('fails, writing nothing, on policies that do not validate', async () => {
    const dir = await mkdtemp(join(root, 'broken-'));
    await writeFile(join(dir, 'countersign.cedarschema'), files.schema);
    await writeFile(
      join(dir, 'broken.cedar'),
      'permit (principal, action, resource) when { resource.nope };',
    );
    const error = await writePreparedPolicyFile(dir).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain('broken.cedar');
    expect(await readdir(dir)).not.toContain(PREPARED_POLICY_FILE);
  });

  it('ignores a prepared file that is not JSON', async () => {
    const dir = await mkdtemp(join(root, 'garbled-'));
    await writeFile(join(dir, 'countersign.cedarschema'), files.schema);
    await writeFile(join(dir, PREPARED_POLICY_FILE), '{not json');
    expect(await loadPolicyFiles(dir)).toEqual({ policies: [], schema: files.schema, prepared: undefined });
  });
});

describe('prepare-policies (the command HandlerFunction runs on each bundle)', () => {
  const run = (dir: string) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', 'lambdas/handlers/prepare-policies.ts', dir], {
      cwd: REPO_ROOT,
    });

  it('fails the build, naming the problem, on policies that do not validate', async () => {
    const dir = await mkdtemp(join(root, 'cli-broken-'));
    await writeFile(join(dir, 'countersign.cedarschema'), files.schema);
    await writeFile(
      join(dir, 'broken.cedar'),
      'permit (principal, action, resource) when { resource.nope };',
    );
    const failure = await run(dir).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 1, stderr: expect.stringContaining('broken.cedar') });
    expect(await readdir(dir)).not.toContain(PREPARED_POLICY_FILE);
  });

  it('writes the prepared file of valid policies', async () => {
    const dir = await mkdtemp(join(root, 'cli-ok-'));
    await writeFile(join(dir, 'countersign.cedarschema'), files.schema);
    await run(dir);
    expect(await readdir(dir)).toContain(PREPARED_POLICY_FILE);
  });
});
