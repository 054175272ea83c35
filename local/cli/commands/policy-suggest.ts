/**
 * `countersign policy suggest [--days 30] [--min-approvals 10] [--out <dir>]`: proposes Cedar
 * `permit` policies for actions people keep approving (../suggestions/suggest.ts says which), from
 * the audit archive through the Athena query path, each with its evidence as comments and a policy
 * test case, written to a folder for review (never into the policy directory, never applied). Each
 * proposal is validated against the Cedar schema with the policies in force, and must allow every
 * request it was drawn from, before it is written. Exit 0 (also when nothing qualifies), 1 when the
 * archive cannot be queried, 2 on bad usage.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { createPolicyEngine } from '../../../lambdas/adapters/cedar/cedar-policy-engine.ts';
import { loadCedar } from '../../../lambdas/adapters/cedar/cedar-wasm.ts';
import { loadPolicyFiles } from '../../../lambdas/adapters/policy-files.ts';
import { ATHENA_OPTIONS, athenaTarget, runWithProgress } from '../audit-athena.ts';
import { ExitCode, parseCommandLine, runCommand, UsageError } from '../output.ts';
import {
  type Suggestion,
  suggest,
  suggestionCase,
  suggestionPolicy,
  suggestionQueries,
} from '../suggestions/suggest.ts';
import { DEFAULT_POLICY_DIR, readDefaults } from './policy.ts';

const USAGE =
  'countersign policy suggest [--days 30] [--min-approvals 10] [--out policy-suggestions] [--policies <dir>] [--aws] [--workgroup <name>] [--url <twin>] [--data-dir <dir>]';

function positiveInteger(flag: string, value: string, max: number): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed < 1 || parsed > max)
    throw new UsageError(`${flag} must be a whole number from 1 to ${max}`);
  return parsed;
}

/** Why a proposal cannot be written, or undefined when it validates and allows its own evidence. */
async function problemsWith(
  suggestion: Suggestion,
  text: string,
  policyDir: string,
): Promise<string | undefined> {
  const [files] = await Promise.all([loadPolicyFiles(policyDir), loadCedar()]);
  const defaults = await readDefaults();
  const withPolicies = createPolicyEngine({
    schema: files.schema,
    policies: [...files.policies, { id: `${suggestion.id}.cedar`, text }],
    defaults,
  });
  if (withPolicies.problems.length > 0) return withPolicies.problems.join('; ');
  const alone = createPolicyEngine({ schema: files.schema, policies: [{ text }], defaults });
  for (const item of suggestion.evidence) {
    const decision = alone.evaluate({
      agent: { id: suggestion.agent },
      action: suggestion.action,
      resource: { arn: item.resource },
      parameters: {},
    });
    if (decision.decision !== 'ALLOW' || decision.policyIds.join() !== suggestion.id) {
      return `it does not allow ${item.requestId} (${decision.decision}: ${decision.reason})`;
    }
  }
  return undefined;
}

export async function run(args: string[]): Promise<number> {
  return runCommand('policy', USAGE, args, async () => {
    const { values, positionals } = parseCommandLine({
      args,
      allowPositionals: true,
      options: {
        ...ATHENA_OPTIONS,
        days: { type: 'string', default: '30' },
        'min-approvals': { type: 'string', default: '10' },
        out: { type: 'string', default: 'policy-suggestions' },
        policies: { type: 'string', default: DEFAULT_POLICY_DIR },
      },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const days = positiveInteger('--days', values.days, 3650);
    const minApprovals = positiveInteger('--min-approvals', values['min-approvals'], 100_000);
    const out = resolve(values.out);
    const policyDir = resolve(values.policies);
    const fromPolicies = relative(policyDir, out);
    if (!fromPolicies.startsWith('..') && !fromPolicies.startsWith('/')) {
      throw new UsageError(
        `--out ${values.out} is in the policy directory: suggestions are written for review only`,
      );
    }
    const now = new Date();
    const target = await athenaTarget(values);
    try {
      const sql = suggestionQueries({ days, minApprovals, now });
      const decisions = await runWithProgress(target, sql.decisions);
      const unapprovedCalls = await runWithProgress(target, sql.unapprovedCalls);
      const suggestions = suggest(decisions, unapprovedCalls, { minApprovals });
      console.error(
        `queries ${decisions.executionId} and ${unapprovedCalls.executionId}: ${decisions.rows.length} decision(s) in the last ${days} days`,
      );
      if (suggestions.length === 0) {
        console.log(
          `nothing to suggest: no agent, action and resource approved at least ${minApprovals} times unanimously, never denied or expired, without unapproved calls`,
        );
        return ExitCode.ok;
      }
      await mkdir(out, { recursive: true });
      let written = 0;
      for (const suggestion of suggestions) {
        const text = suggestionPolicy(suggestion, { days, generatedAt: now });
        const problem = await problemsWith(suggestion, text, policyDir);
        if (problem !== undefined) {
          console.error(`not written: ${suggestion.id}: ${problem}`);
          continue;
        }
        await writeFile(join(out, `${suggestion.id}.cedar`), text, 'utf8');
        await writeFile(
          join(out, `${suggestion.id}.json`),
          `${JSON.stringify(suggestionCase(suggestion), null, 2)}\n`,
          'utf8',
        );
        written += 1;
        console.log(
          `proposed ${suggestion.id}: ${suggestion.agent} ${suggestion.action} on ${suggestion.resourcePattern} (${suggestion.evidence.length} approvals) -> ${join(values.out, `${suggestion.id}.cedar`)}`,
        );
      }
      console.log(`${written} proposal(s) in ${values.out} for review; nothing was applied`);
      return ExitCode.ok;
    } finally {
      target.client.destroy();
    }
  });
}
