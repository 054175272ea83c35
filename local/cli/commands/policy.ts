/**
 * `countersign policy eval <request.json>`: evaluates a request against the Cedar policies exactly
 * as the workflow would and prints the decision. Exit codes: 0 decided, 1 the policy set is
 * invalid (the decision printed is then the fail-closed DENY), 2 bad usage or an invalid request.
 */

import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { createPolicyEngine } from '../../../lambdas/adapters/cedar/cedar-policy-engine.ts';
import { loadCedar } from '../../../lambdas/adapters/cedar/cedar-wasm.ts';
import { loadPolicyFiles } from '../../../lambdas/adapters/policy-files.ts';
import { withExecution } from '../../../lambdas/domain/executors.ts';
import type { PolicyDefaults } from '../../../lambdas/domain/policy-annotations.ts';
import { PolicyFacts } from '../../../lambdas/domain/policy-facts.ts';
import { AgentRequestDetail, describeIssues, type PolicyDecision } from '../../../lambdas/domain/schemas.ts';
import { asksForHelp, parseCommandLine, UsageError, usageLine } from '../output.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DEFAULT_POLICY_DIR = `${REPO_ROOT}policies`;
const CDK_JSON = `${REPO_ROOT}cdk.json`;

const USAGE_LINE = 'countersign policy eval <request.json> [--policies <dir>] [--facts <facts.json>]';
const USAGE = `usage: ${USAGE_LINE}

  <request.json>  an agent request detail, or a whole "Action Requested" event (its detail is used)
  --policies      the policy directory (*.cedar and one *.cedarschema); default: the repository's policies/
  --facts         what the workflow looks up: {"classification": {...}, "resourceTags": {...}}

Prints {"decision","groups","quorum","timeoutSeconds","stepUp","policyIds","reason"} as JSON, with
"executor" when Countersign runs the action itself.
Defaults (approver group, timeout) come from cdk.json: countersign:defaultApproverGroup,
countersign:defaultTimeoutSeconds.`;

const CdkDefaults = z.object({
  context: z.object({
    'countersign:defaultApproverGroup': z.string().min(1),
    'countersign:defaultTimeoutSeconds': z.number().int().positive(),
  }),
});

/** Where the command writes; tests pass their own to capture it. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

const processOutput: Output = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

export async function run(args: string[], output: Output = processOutput): Promise<number> {
  if (args[0] === 'suggest') return (await import('./policy-suggest.ts')).run(args.slice(1));
  if (asksForHelp(args)) {
    output.out(USAGE);
    return 0;
  }
  try {
    return await evaluateCommand(args, output);
  } catch (error) {
    if (error instanceof UsageError) {
      output.err(usageLine('policy', error.message, USAGE_LINE));
      return 2;
    }
    output.err(`countersign policy: ${(error as Error).message}`);
    return 1;
  }
}

async function evaluateCommand(args: string[], output: Output): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: { policies: { type: 'string' }, facts: { type: 'string' } },
  });
  const [subcommand, requestFile, ...extra] = positionals;
  if (subcommand !== 'eval' || requestFile === undefined || extra.length > 0) {
    throw new UsageError('expected "eval <request.json>"');
  }
  const input = await readJson(requestFile);
  const detail = isEvent(input) ? input.detail : input;
  const request = AgentRequestDetail.safeParse(detail);
  if (!request.success) {
    output.err(`countersign policy: ${requestFile} is not a valid agent request:`);
    for (const issue of describeIssues(request.error)) {
      output.err(issue);
    }
    return 2;
  }
  const facts = values.facts === undefined ? {} : parseFacts(await readJson(values.facts), values.facts);
  const [files] = await Promise.all([loadPolicyFiles(values.policies ?? DEFAULT_POLICY_DIR), loadCedar()]);
  const engine = createPolicyEngine({ ...files, defaults: await readDefaults() });
  for (const problem of engine.problems) {
    output.err(`policy problem: ${problem}`);
  }
  const { agent, action, resource, parameters, context, execute } = request.data;
  // As Evaluate decides: the policies, then whether Countersign may and can run what it would execute.
  const decision = withExecution(
    engine.evaluate({
      agent,
      action,
      resource,
      parameters,
      ...optionalContext(context),
      ...(execute === undefined ? {} : { execute }),
      ...facts,
    }),
    request.data,
  );
  output.out(JSON.stringify(printable(decision), null, 2));
  return engine.problems.length > 0 ? 1 : 0;
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${file} is not JSON: ${(error as Error).message}`);
  }
}

function isEvent(input: unknown): input is { detail: unknown } {
  return typeof input === 'object' && input !== null && 'detail' in input;
}

function parseFacts(input: unknown, file: string): PolicyFacts {
  const facts = PolicyFacts.safeParse(input);
  if (!facts.success) {
    throw new UsageError(`${file} is not valid facts: ${describeIssues(facts.error).join('; ')}`);
  }
  return facts.data;
}

function optionalContext(context: AgentRequestDetail['context']) {
  return context === undefined ? {} : { context };
}

export async function readDefaults(): Promise<PolicyDefaults> {
  const cdk = CdkDefaults.parse(JSON.parse(await readFile(CDK_JSON, 'utf8')));
  return {
    approverGroup: cdk.context['countersign:defaultApproverGroup'],
    timeoutSeconds: cdk.context['countersign:defaultTimeoutSeconds'],
  };
}

/** Exactly the decision's keys, in the documented order. */
function printable(decision: PolicyDecision): PolicyDecision {
  const { decision: outcome, groups, quorum, timeoutSeconds, stepUp, policyIds, reason, executor } = decision;
  return {
    decision: outcome,
    groups,
    quorum,
    timeoutSeconds,
    stepUp,
    policyIds,
    reason,
    ...(executor === undefined ? {} : { executor }),
  };
}
