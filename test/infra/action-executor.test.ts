/**
 * The built-in executors: the executor function (which runs approved actions) assumes the executor
 * role and touches no S3 object or IAM role itself; only it may assume that role; the role reaches
 * the configured buckets' objects and attaches only the allowed policies (its sessions narrow it
 * further, per run). The Finish step's function (which records and publishes) may only invoke the
 * executor function: it can neither assume the role nor touch what the role reaches. Proven by
 * evaluating the synthesized policies as IAM does.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../lambdas/handlers/environment-names.ts';
import { EXECUTE_ACTION_HANDLER_ENTRY } from '../../lib/action-executor.ts';
import { WORKFLOW_HANDLER_ENTRIES } from '../../lib/countersign-stack.ts';
import { ENTRY_METADATA_KEY } from '../../lib/handler-function.ts';
import { authorize, type PolicyStatement } from '../support/iam-policy.ts';
import { buildCountersignStack, TEST_EXECUTOR_CONTEXT } from './build-stack.ts';
import { ACCOUNT, concrete, identityOf, type Json, type Resources, roleArnOf } from './concrete-template.ts';

const SLOW_SYNTH_MS = 120_000;
const READ_ONLY = 'arn:aws:iam::aws:policy/ReadOnlyAccess';

let resources: Resources;
let functionRole: string;
let executorRole: string;
let finishRole: string;

function functionOf(from: Resources, entry: string) {
  const [id, fn] = Object.entries(from).find(
    ([, r]) => r.Type === 'AWS::Lambda::Function' && r.Metadata?.[ENTRY_METADATA_KEY] === entry,
  )!;
  return { id, fn, role: fn.Properties.Role['Fn::GetAtt'][0] as string };
}

function executorParts(from: Resources) {
  const { fn, role } = functionOf(from, EXECUTE_ACTION_HANDLER_ENTRY);
  const executor = fn.Properties.Environment.Variables[ENV.executorRoleArn]['Fn::GetAtt'][0] as string;
  return { fn, functionRole: role, executorRole: executor };
}

const actionsOf = (role: string, pattern: RegExp) =>
  (identityOf(resources, role) as PolicyStatement[])
    .flatMap((statement) => [statement.Action].flat())
    .filter((action) => pattern.test(action))
    .sort();

beforeAll(() => {
  resources = buildCountersignStack(TEST_EXECUTOR_CONTEXT).template.toJSON().Resources;
  ({ functionRole, executorRole } = executorParts(resources));
  finishRole = functionOf(resources, WORKFLOW_HANDLER_ENTRIES.finish).role;
}, SLOW_SYNTH_MS);

const ask = (principal: string, action: string, resource: string, context: Record<string, string[]> = {}) =>
  authorize(
    { principalArn: roleArnOf(principal), action, resource, context },
    { identity: identityOf(resources, principal) as PolicyStatement[], resource: [] },
  ).verdict;

describe('the executor role', () => {
  it('is assumed by the executor function alone', () => {
    const trust = concrete(
      resources[executorRole]!.Properties.AssumeRolePolicyDocument.Statement,
      resources,
    ) as Json[];
    expect(trust).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { AWS: roleArnOf(functionRole) } },
    ]);
    expect(resources[executorRole]!.Properties.MaxSessionDuration).toBe(3600);
  });

  it('reads and writes objects of the configured buckets, nothing else in S3', () => {
    expect(ask(executorRole, 's3:GetObject', 'arn:aws:s3:::finance-invoices/2026/11/ledger.csv')).toBe(
      'Allowed',
    );
    expect(ask(executorRole, 's3:PutObject', 'arn:aws:s3:::partner-exchange-eu/inbound/x.csv')).toBe(
      'Allowed',
    );
    expect(ask(executorRole, 's3:PutObject', 'arn:aws:s3:::somewhere-else/x.csv')).toBe('ImplicitDeny');
    expect(ask(executorRole, 's3:DeleteObject', 'arn:aws:s3:::finance-invoices/x.csv')).toBe('ImplicitDeny');
    expect(ask(executorRole, 's3:PutBucketPolicy', 'arn:aws:s3:::finance-invoices')).toBe('ImplicitDeny');
  });

  it('attaches only the allowed policies', () => {
    const role = `arn:aws:iam::${ACCOUNT}:role/invoice-exporter`;
    expect(ask(executorRole, 'iam:AttachRolePolicy', role, { 'iam:PolicyARN': [READ_ONLY] })).toBe('Allowed');
    expect(
      ask(executorRole, 'iam:AttachRolePolicy', role, {
        'iam:PolicyARN': ['arn:aws:iam::aws:policy/AdministratorAccess'],
      }),
    ).toBe('ImplicitDeny');
    expect(ask(executorRole, 'iam:PutRolePolicy', role)).toBe('ImplicitDeny');
  });

  it(
    'has no permission at all when nothing is configured',
    () => {
      const bare = buildCountersignStack().template.toJSON().Resources as Resources;
      expect(identityOf(bare, executorParts(bare).executorRole)).toEqual([]);
    },
    SLOW_SYNTH_MS,
  );
});

describe('the executor function', () => {
  it('may assume the executor role, and touches no S3 object or IAM role itself', () => {
    expect(ask(functionRole, 'sts:AssumeRole', roleArnOf(executorRole))).toBe('Allowed');
    expect(ask(functionRole, 'sts:AssumeRole', `arn:aws:iam::${ACCOUNT}:role/admin`)).toBe('ImplicitDeny');
    // Beside the table (and its key): assuming the executor role, nothing else.
    expect(actionsOf(functionRole, /^(s3|iam|events|states|sts|lambda):|^kms:Sign$/)).toEqual([
      'sts:AssumeRole',
    ]);
  });

  it('knows the role and the allowed policies, and may run a minute', () => {
    const { fn } = executorParts(resources);
    expect(fn.Properties.Environment.Variables[ENV.executorAllowedPolicyArns]).toBe(
      JSON.stringify([READ_ONLY]),
    );
    expect(fn.Properties.Timeout).toBe(60);
  });
});

describe('the Finish step’s function', () => {
  it('may invoke the executor function, and neither assume its role nor touch what it reaches', () => {
    const executor = functionOf(resources, EXECUTE_ACTION_HANDLER_ENTRY);
    const executorArn = concrete({ 'Fn::GetAtt': [executor.id, 'Arn'] }, resources) as string;
    expect(ask(finishRole, 'lambda:InvokeFunction', executorArn)).toBe('Allowed');
    // Not another function, nor a version of this one.
    expect(ask(finishRole, 'lambda:InvokeFunction', `${executorArn}:1`)).toBe('ImplicitDeny');
    expect(
      ask(finishRole, 'lambda:InvokeFunction', `arn:aws:lambda:us-east-1:${ACCOUNT}:function:other`),
    ).toBe('ImplicitDeny');
    expect(ask(finishRole, 'sts:AssumeRole', roleArnOf(executorRole))).toBe('ImplicitDeny');
    expect(ask(finishRole, 's3:PutObject', 'arn:aws:s3:::partner-exchange-eu/inbound/x.csv')).toBe(
      'ImplicitDeny',
    );
    // Beside the table (and its key) and signing receipts: publishing, and invoking the executor.
    expect(actionsOf(finishRole, /^(s3|iam|events|states|sts|lambda):/)).toEqual([
      'events:PutEvents',
      'lambda:InvokeFunction',
    ]);
  });

  it('names the executor function, and waits longer than it runs', () => {
    const { fn } = functionOf(resources, WORKFLOW_HANDLER_ENTRIES.finish);
    const executor = functionOf(resources, EXECUTE_ACTION_HANDLER_ENTRY);
    const variables = fn.Properties.Environment.Variables;
    expect(variables[ENV.executorFunctionName]).toEqual({ Ref: executor.id });
    expect(variables[ENV.executorRoleArn]).toBeUndefined();
    expect(variables[ENV.executorAllowedPolicyArns]).toBeUndefined();
    expect(fn.Properties.Timeout).toBeGreaterThan(executor.fn.Properties.Timeout);
  });
});
