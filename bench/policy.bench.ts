/**
 * Policy evaluation: the engine's whole decision (building the request's entities and context,
 * Cedar, combining the determining policies) against the bare `statefulIsAuthorized` call — the
 * policy set and schema preloaded into cedar-wasm, the request's full schema-validated call built
 * beforehand — over the same realistic mix: the policies in policies/, the requests of
 * test/policies/cases and examples/. Goal (issue 15): p99 ≤ 200 µs and ≤ 1.5× the bare call.
 * Also what building the engine (a Lambda cold start) costs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as cedar from '@cedar-policy/cedar-wasm/web';
import { requestParts, validatedCall } from '../lambdas/adapters/cedar/authorization-call.ts';
import { createPolicyEngine } from '../lambdas/adapters/cedar/cedar-policy-engine.ts';
import { loadCedar } from '../lambdas/adapters/cedar/cedar-wasm.ts';
import { preparePolicySet } from '../lambdas/adapters/cedar/policy-set.ts';
import { loadPolicyFiles } from '../lambdas/adapters/policy-files.ts';
import type { PolicyRequest } from '../lambdas/ports/index.ts';
import type { BenchOptions, Figure } from './figures.ts';
import { percentile, sampleLatencies } from './measure.ts';

const ROOT = new URL('../', import.meta.url);
const POLICY_DIR = fileURLToPath(new URL('policies/', ROOT));
const DEFAULTS = { approverGroup: 'security', timeoutSeconds: 3600 };

function readJsonFiles(dir: URL): unknown[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => JSON.parse(readFileSync(new URL(name, dir), 'utf8')));
}

/** The policy cases (with their looked-up facts) and the example requests. */
function requestMix(): PolicyRequest[] {
  const cases = readJsonFiles(new URL('test/policies/cases/', ROOT)) as {
    request: PolicyRequest;
    facts?: Pick<PolicyRequest, 'classification' | 'resourceTags'>;
  }[];
  const examples = readJsonFiles(new URL('examples/', ROOT)) as PolicyRequest[];
  return [...cases.map(({ request, facts }) => ({ ...request, ...facts })), ...examples].map(
    ({ agent, action, resource, parameters, classification, resourceTags }) => ({
      agent,
      action,
      resource,
      parameters,
      ...(classification === undefined ? {} : { classification }),
      ...(resourceTags === undefined ? {} : { resourceTags }),
    }),
  );
}

export async function measure({ quick }: BenchOptions): Promise<Figure[]> {
  const [files] = await Promise.all([loadPolicyFiles(POLICY_DIR), loadCedar()]);
  const createStart = performance.now();
  const engine = createPolicyEngine({ ...files, defaults: DEFAULTS });
  const createMs = performance.now() - createStart;
  if (engine.problems.length > 0) throw new Error(`policies/ is invalid: ${engine.problems.join('; ')}`);

  // The same requests on both sides: those that become a Cedar call (a malformed one is denied before).
  const { prepared } = preparePolicySet({ ...files, defaults: DEFAULTS });
  // The validated call names the schema and set preparsed into cedar-wasm's cache, which happens on
  // the engine's first validated call; without it every bare call would be a fast "not found" failure.
  prepared!.preparse();
  const mix = requestMix().flatMap((request) => {
    const parts = requestParts(prepared!, request);
    return typeof parts === 'string' ? [] : [{ request, call: validatedCall(prepared!, parts) }];
  });
  for (const { request, call } of mix) {
    const answer = cedar.statefulIsAuthorized(call);
    if (answer.type !== 'success') {
      throw new Error(
        `the baseline call for ${request.action} failed: ${answer.errors.map((e) => e.message).join('; ')}`,
      );
    }
  }
  const { micros: samples, retaken } = sampleLatencies(
    {
      engine: (i) => engine.evaluate(mix[i % mix.length]!.request),
      bare: (i) => cedar.statefulIsAuthorized(mix[i % mix.length]!.call),
    },
    quick ? { warmUp: 50, samples: 200 } : { warmUp: 3_000, samples: 30_000 },
  );
  const micros = (variant: keyof typeof samples, fraction: number) =>
    Math.round(percentile(samples[variant], fraction));
  return [
    {
      name: 'policyP99Micros',
      value: micros('engine', 0.99),
      unit: 'µs',
      baseline: { name: 'policyBareP99Micros', value: micros('bare', 0.99) },
      goal: { atMost: 200, ratioAtMost: 1.5 },
    },
    {
      name: 'policyP50Micros',
      value: micros('engine', 0.5),
      unit: 'µs',
      baseline: { name: 'policyBareP50Micros', value: micros('bare', 0.5) },
    },
    { name: 'policyRequestMix', value: mix.length, unit: '' },
    { name: 'policySamplesRetaken', value: retaken, unit: '' },
    { name: 'policyEngineCreateMs', value: Math.round(createMs), unit: 'ms' },
  ];
}
