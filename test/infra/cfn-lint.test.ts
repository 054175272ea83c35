/**
 * The synthesized template checked by cfn-lint, AWS's own linter (the CloudFormation resource
 * specification: property names, types, allowed values, references), as an oracle independent of
 * the CDK that wrote it: the stack with its defaults and with every optional part on. Without
 * cfn-lint on the machine this says once what it did not run (CI requires it: .ci/run).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkOracle } from '../support/oracles.ts';
import { buildCountersignStack, TEST_FULL_CONTEXT } from './build-stack.ts';

/**
 * W3005, a DependsOn beside a GetAtt of the same resource, is the CDK's own: it makes each function
 * depend on its role's default policy and role explicitly, which is redundant and harmless.
 */
const IGNORED_RULES = ['W3005'] as const;

interface Match {
  readonly Level: string;
  readonly Message: string;
  readonly Rule: { readonly Id: string };
  readonly Location: { readonly Path: readonly (string | number)[] };
}

const cfnLint = checkOracle('cfn-lint', 'the template against cfn-lint', '--version');

function lint(template: unknown): Match[] {
  const dir = mkdtempSync(join(tmpdir(), 'countersign-cfn-lint-'));
  try {
    const file = join(dir, 'Countersign.template.json');
    writeFileSync(file, JSON.stringify(template));
    const result = spawnSync(
      'cfn-lint',
      ['--format', 'json', '--ignore-checks', ...IGNORED_RULES, '--', file],
      { encoding: 'utf8', timeout: 120_000 },
    );
    // Exit codes are a bit mask of what was found (2 errors, 4 warnings, 8 informational); 1 is a crash.
    if (result.error !== undefined || result.status === 1) {
      throw new Error(`cfn-lint did not run: ${result.error?.message ?? result.stderr}`);
    }
    return JSON.parse(result.stdout || '[]') as Match[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const described = (matches: readonly Match[]) =>
  matches.map((m) => `${m.Level} ${m.Rule.Id} at ${m.Location.Path.join('/')}: ${m.Message}`);

describe.runIf(cfnLint.available)('the synthesized template, as cfn-lint reads it', () => {
  it.each([
    ['with its defaults', {}],
    ['with every optional part on', TEST_FULL_CONTEXT],
  ])(
    'has no error and no warning %s',
    (_, context) => {
      const { template } = buildCountersignStack(context);
      expect(described(lint(template.toJSON()))).toEqual([]);
    },
    120_000,
  );

  it('reports a property CloudFormation does not have (the check can fail)', () => {
    const broken = buildCountersignStack().template.toJSON() as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    };
    const table = Object.values(broken.Resources).find(({ Type }) => Type === 'AWS::DynamoDB::Table')!;
    table.Properties.BillingModeTypo = 'PAY_PER_REQUEST';
    expect(described(lint(broken)).join('\n')).toMatch(/E3002.*BillingModeTypo/);
  }, 120_000);
});
