/**
 * Policy evaluation latency: how long the Evaluate step spends in Cedar per request, and what
 * building the engine (a Lambda cold start) costs. Measures only; the tests assert no timings.
 */
import { fileURLToPath } from 'node:url';
import { createPolicyEngine } from '../lambdas/adapters/cedar/cedar-policy-engine.ts';
import { loadPolicyFiles } from '../lambdas/adapters/policy-files.ts';
import type { PolicyRequest } from '../lambdas/ports/index.ts';

const POLICY_DIR = fileURLToPath(new URL('../policies/', import.meta.url));
const WARM_UP = 200;
const ROUNDS = 2_000;

const ROLE = 'arn:aws:iam::123456789012:role/invoice-exporter';
/** One request per outcome of the default policy set, evaluated in turn. */
const REQUESTS: readonly PolicyRequest[] = [
  { agent: { id: 'bench' }, action: 'ec2:DescribeInstances', resource: { arn: ROLE }, parameters: {} },
  {
    agent: { id: 'bench', onBehalfOf: 'dave' },
    action: 'iam:AttachRolePolicy',
    resource: { arn: ROLE },
    parameters: { roleName: 'invoice-exporter', policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' },
  },
  {
    agent: { id: 'bench' },
    action: 's3:GetObject',
    resource: { arn: 'arn:aws:s3:::finance/ledger.csv' },
    parameters: { bucket: 'finance', key: 'ledger.csv' },
    classification: { severity: 'High', categories: ['FINANCIAL_INFORMATION'] },
    resourceTags: { environment: 'prod' },
  },
  {
    agent: { id: 'bench' },
    action: 'kms:ScheduleKeyDeletion',
    resource: { arn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd' },
    parameters: {},
  },
  {
    agent: { id: 'bench' },
    action: 'ec2:TerminateInstances',
    resource: { arn: 'arn:aws:ec2:us-east-1:123456789012:instance/i-1' },
    parameters: {},
  },
];

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

export async function benchPolicy(): Promise<Record<string, number>> {
  const files = await loadPolicyFiles(POLICY_DIR);
  const createStart = performance.now();
  const engine = createPolicyEngine({
    ...files,
    defaults: { approverGroup: 'security', timeoutSeconds: 3600 },
  });
  const createMs = performance.now() - createStart;
  for (let round = 0; round < WARM_UP; round += 1) {
    engine.evaluate(REQUESTS[round % REQUESTS.length]!);
  }
  const micros: number[] = [];
  const totalStart = performance.now();
  for (let round = 0; round < ROUNDS; round += 1) {
    const start = performance.now();
    engine.evaluate(REQUESTS[round % REQUESTS.length]!);
    micros.push((performance.now() - start) * 1000);
  }
  const totalMs = performance.now() - totalStart;
  micros.sort((a, b) => a - b);
  return {
    policyEngineCreateMs: Math.round(createMs),
    policyEvaluationsPerSecond: Math.round((ROUNDS / totalMs) * 1000),
    policyEvaluationP50Micros: Math.round(percentile(micros, 0.5)),
    policyEvaluationP99Micros: Math.round(percentile(micros, 0.99)),
  };
}
