import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../local/cli/commands/policy.ts';
import { aClassification } from '../unit/domain/fixtures.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const DECISION_KEYS = ['decision', 'groups', 'quorum', 'timeoutSeconds', 'stepUp', 'policyIds', 'reason'];

const attachAdmin = {
  agent: { id: 'invoice-bot', onBehalfOf: 'dave' },
  action: 'iam:AttachRolePolicy',
  resource: { arn: 'arn:aws:iam::123456789012:role/invoice-exporter', type: 'AWS::IAM::Role' },
  parameters: { roleName: 'invoice-exporter', policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' },
  justification: 'Repairing a bucket policy.',
  context: { ticket: 'OPS-1' },
};

let dir: string;
const file = (name: string) => join(dir, name);

async function evalCommand(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(args, { out: (text) => out.push(text), err: (text) => err.push(text) });
  return { code, out: out.join('\n'), err };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'countersign-policy-cli-'));
  await writeFile(file('admin.json'), JSON.stringify(attachAdmin));
  await writeFile(
    file('event.json'),
    JSON.stringify({
      version: '0',
      id: 'e-1',
      'detail-type': 'Action Requested',
      source: 'countersign.agent.invoice-bot',
      detail: { ...attachAdmin, action: 'ec2:RebootInstances' },
    }),
  );
  await writeFile(file('invalid.json'), JSON.stringify({ agent: { id: 'Invoice Bot' }, action: 'attach' }));
  await writeFile(file('not-json.json'), '{ nope');
  const read = {
    ...attachAdmin,
    action: 's3:GetObject',
    resource: { arn: 'arn:aws:s3:::finance/ledger.csv' },
  };
  await writeFile(file('read.json'), JSON.stringify(read));
  await writeFile(file('high.json'), JSON.stringify({ classification: aClassification() }));
  await writeFile(file('bad-facts.json'), JSON.stringify({ resourceTags: { team: 1 } }));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('countersign policy eval (in process)', () => {
  it('prints the decision with exactly the documented keys and exits 0', async () => {
    const { code, out, err } = await evalCommand('eval', file('admin.json'));
    expect(err).toEqual([]);
    expect(code).toBe(0);
    const decision = JSON.parse(out);
    expect(Object.keys(decision)).toEqual(DECISION_KEYS);
    expect(decision).toMatchObject({
      decision: 'REQUIRE_APPROVAL',
      groups: ['platform'],
      quorum: 2,
      stepUp: true,
    });
  });

  it('takes the detail of a whole event, and the defaults from cdk.json', async () => {
    const context = JSON.parse(await readFile(join(REPO, 'cdk.json'), 'utf8')).context;
    const { code, out } = await evalCommand('eval', file('event.json'));
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({
      decision: 'REQUIRE_APPROVAL',
      groups: [context['countersign:defaultApproverGroup']],
      quorum: 1,
      timeoutSeconds: context['countersign:defaultTimeoutSeconds'],
      policyIds: [],
    });
  });

  it('reads looked-up facts from --facts', async () => {
    expect(JSON.parse((await evalCommand('eval', file('read.json'))).out).decision).toBe('ALLOW');
    const { out } = await evalCommand('eval', file('read.json'), '--facts', file('high.json'));
    expect(JSON.parse(out)).toMatchObject({
      decision: 'REQUIRE_APPROVAL',
      policyIds: ['highly-sensitive-data-read-needs-security'],
    });
  });

  it('prints one validation error per line and exits 2 for an invalid request', async () => {
    const { code, out, err } = await evalCommand('eval', file('invalid.json'));
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toEqual([
      `countersign policy: ${file('invalid.json')} is not a valid agent request:`,
      'agent.id: lowercase letters, digits and hyphens, at most 63 characters',
      'action: expected "<service>:<Operation>", e.g. "s3:CopyObject"',
      'resource: Invalid input: expected object, received undefined',
      'justification: Invalid input: expected string, received undefined',
    ]);
  });

  it('prints the fail-closed DENY and the problems, and exits 1, for an invalid policy directory', async () => {
    const policies = join(dir, 'broken-policies');
    await mkdir(policies);
    await writeFile(
      join(policies, 'countersign.cedarschema'),
      await readFile(join(REPO, 'policies/countersign.cedarschema')),
    );
    await writeFile(
      join(policies, 'a.cedar'),
      '@id("a") @quorum("zero") permit (principal, action, resource);',
    );
    const { code, out, err } = await evalCommand('eval', file('admin.json'), '--policies', policies);
    expect(code).toBe(1);
    expect(err).toEqual([expect.stringMatching(/^policy problem: policy "a": @quorum\("zero"\)/)]);
    expect(JSON.parse(out)).toMatchObject({ decision: 'DENY', policyIds: [] });
  });

  it.each([
    [[], 'expected "eval <request.json>"'],
    [['check', 'x.json'], 'expected "eval <request.json>"'],
    [['eval', 'a.json', 'b.json'], 'expected "eval <request.json>"'],
    [['eval', 'x.json', '--colour'], "Unknown option '--colour'"],
    [['eval', '/nonexistent/request.json'], 'cannot read /nonexistent/request.json'],
  ])('exits 2 on bad usage: %j', async (args, message) => {
    const { code, err } = await evalCommand(...args);
    expect(code).toBe(2);
    expect(err.join('\n')).toContain(message);
  });

  it('exits 2 on a request file that is not JSON and on invalid facts', async () => {
    expect(await evalCommand('eval', file('not-json.json'))).toMatchObject({
      code: 2,
      err: [expect.stringContaining('not-json.json is not JSON')],
    });
    expect(await evalCommand('eval', file('read.json'), '--facts', file('bad-facts.json'))).toMatchObject({
      code: 2,
      err: [expect.stringContaining('bad-facts.json is not valid facts: resourceTags.team')],
    });
  });

  it('exits 1 when the policy directory cannot be read', async () => {
    const { code, err } = await evalCommand('eval', file('admin.json'), '--policies', join(dir, 'missing'));
    expect(code).toBe(1);
    expect(err).toEqual([expect.stringContaining('cannot read the policy directory')]);
  });

  it('prints its usage with --help', async () => {
    const { code, out } = await evalCommand('--help');
    expect(code).toBe(0);
    expect(out).toContain('usage: countersign policy eval <request.json>');
  });
});

describe('countersign policy eval (end to end)', () => {
  it('runs through bin/countersign.mjs and prints the decision', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['bin/countersign.mjs', 'policy', 'eval', file('admin.json')],
      { cwd: REPO },
    );
    expect(JSON.parse(stdout)).toMatchObject({ decision: 'REQUIRE_APPROVAL', quorum: 2 });
  });

  it('exits 2 through the real process on an invalid request', async () => {
    const failure = await promisify(execFile)(process.execPath, [
      join(REPO, 'bin/countersign.mjs'),
      'policy',
      'eval',
      file('invalid.json'),
    ]).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('agent.id: lowercase letters'),
    });
  });
});
