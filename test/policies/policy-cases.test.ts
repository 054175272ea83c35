/**
 * Policies are tested like code: every file in ./cases is a request and the decision the real
 * policies/ directory must reach for it. Add a case with every policy you add.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type CheckedPolicyEngine,
  createPolicyEngine,
} from '../../lambdas/adapters/cedar/cedar-policy-engine.ts';
import { loadCedar } from '../../lambdas/adapters/cedar/cedar-wasm.ts';
import { loadPolicyFiles } from '../../lambdas/adapters/policy-files.ts';
import { PolicyFacts } from '../../lambdas/domain/policy-facts.ts';
import { AgentRequestDetail, PolicyDecision, parse } from '../../lambdas/domain/schemas.ts';
import * as z from '../../lambdas/domain/zod.ts';

// Cedar's wasm, compiled in the background since the import, instantiated once (cedar-wasm.ts).
await loadCedar();

const POLICY_DIR = fileURLToPath(new URL('../../policies/', import.meta.url));
const CASES_DIR = fileURLToPath(new URL('./cases/', import.meta.url));
const CDK_JSON = fileURLToPath(new URL('../../cdk.json', import.meta.url));

const PolicyCase = z.strictObject({
  description: z.string().check(z.minLength(1)),
  request: AgentRequestDetail,
  facts: z.optional(PolicyFacts),
  expect: z.required(z.partial(z.omit(PolicyDecision, { reason: true })), { decision: true }),
});

const cases = readdirSync(CASES_DIR)
  .filter((name) => name.endsWith('.json'))
  .sort()
  .map((name) => ({
    name,
    ...parse(PolicyCase, JSON.parse(readFileSync(`${CASES_DIR}${name}`, 'utf8')), name),
  }));

let engine: CheckedPolicyEngine;

beforeAll(async () => {
  const context = JSON.parse(readFileSync(CDK_JSON, 'utf8')).context;
  engine = createPolicyEngine({
    ...(await loadPolicyFiles(POLICY_DIR)),
    defaults: {
      approverGroup: context['countersign:defaultApproverGroup'],
      timeoutSeconds: context['countersign:defaultTimeoutSeconds'],
    },
  });
});

describe('the policy set in policies/', () => {
  it('parses and validates against its schema', () => {
    expect(engine.problems).toEqual([]);
  });

  it('has at least one case per policy, and a case for the default', async () => {
    const { policies } = await loadPolicyFiles(POLICY_DIR);
    const declared = policies.flatMap(({ text }) =>
      [...text.matchAll(/@id\("([^"]+)"\)/g)].map((match) => match[1]),
    );
    const exercised = new Set(cases.flatMap((policyCase) => policyCase.expect.policyIds ?? []));
    expect(declared.filter((id) => !exercised.has(id!))).toEqual([]);
    expect(cases.some((policyCase) => policyCase.expect.policyIds?.length === 0)).toBe(true);
    expect(cases.length).toBeGreaterThanOrEqual(12);
  });
});

describe.each(cases)('$name', ({ description, request, facts, expect: expected }) => {
  it(description, () => {
    const { agent, action, resource, parameters, execute } = request;
    const decision = engine.evaluate({ agent, action, resource, parameters, execute, ...facts });
    expect(PolicyDecision.parse(decision)).toMatchObject(expected);
    expect(decision.reason.length).toBeGreaterThan(0);
  });
});
