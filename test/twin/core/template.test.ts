import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IntrinsicResolver } from '../../../local/twin/intrinsics.ts';
import { findFunction, loadStack, staleReason } from '../../../local/twin/template.ts';
import { FIXTURE_TEMPLATE, removeDir, tempDataDir } from './helpers.ts';

const dirs: string[] = [];
afterEach(async () => {
  while (dirs.length > 0) await removeDir(dirs.pop()!);
});

describe('cdk.out freshness', () => {
  it('asks for a synth when cdk.out is missing or older than a source, not otherwise', async () => {
    const repo = await tempDataDir();
    dirs.push(repo);
    await mkdir(join(repo, 'lib'), { recursive: true });
    await writeFile(join(repo, 'lib', 'stack.ts'), 'export {};\n');
    await writeFile(join(repo, 'cdk.json'), '{}\n');
    expect(await staleReason(repo)).toBe('cdk.out is missing');

    await mkdir(join(repo, 'cdk.out'));
    await writeFile(join(repo, 'cdk.out', 'manifest.json'), '{}\n');
    const past = new Date(Date.now() - 60_000);
    await utimes(join(repo, 'lib', 'stack.ts'), past, past);
    await utimes(join(repo, 'lib'), past, past);
    await utimes(join(repo, 'cdk.json'), past, past);
    expect(await staleReason(repo)).toBeUndefined();

    const future = new Date(Date.now() + 60_000);
    await utimes(join(repo, 'lib', 'stack.ts'), future, future);
    expect(await staleReason(repo)).toBe('lib changed since the last synth');
  });
});

describe('the template model', () => {
  it('resolves the definition, environment, rules, table and routes to local values', async () => {
    const stack = await loadStack(FIXTURE_TEMPLATE, { repoRoot: '/repo' });
    expect(stack.eventBuses).toEqual(['default', 'countersign']);
    expect(stack.rules).toEqual([
      expect.objectContaining({
        eventBusName: 'countersign',
        targets: [
          { id: 'Target0', arn: 'arn:aws:states:local:000000000000:stateMachine:ApprovalStateMachine' },
        ],
      }),
    ]);
    const machine = stack.stateMachines[0]!;
    const evaluate = (machine.definition.States as Record<string, { Parameters?: { FunctionName?: string } }>)
      .Evaluate;
    expect(evaluate?.Parameters?.FunctionName).toBe(
      'arn:aws:lambda:local:000000000000:function:EvaluateFunction',
    );
    // Functions without a countersign:entry (CDK's own) are not ours to run.
    expect(stack.functions.map((fn) => fn.logicalId)).toEqual([
      'EvaluateFunction',
      'RequestApprovalFunction',
      'EchoFunction',
    ]);
    expect(stack.functions[0]).toMatchObject({
      entry: '/repo/test/twin/core/fixtures/handlers/evaluate.ts',
      exportName: 'handler',
      timeoutSeconds: 30,
      environment: { TABLE_NAME: 'Table', EVENT_BUS_NAME: 'countersign', POLICY_DIR: '/repo/policies' },
    });
    expect(
      findFunction(stack, 'arn:aws:lambda:local:000000000000:function:EchoFunction:$LATEST')?.logicalId,
    ).toBe('EchoFunction');
    expect(stack.tables[0]).toMatchObject({
      name: 'Table',
      globalSecondaryIndexes: [expect.objectContaining({ IndexName: 'by-status' })],
    });
    expect(stack.httpRoutes).toEqual([
      {
        routeKey: 'POST /echo/{id}',
        method: 'POST',
        path: '/echo/{id}',
        functionLogicalId: 'EchoFunction',
        authorization: { type: 'NONE' },
      },
      {
        routeKey: 'GET /secure/{proxy+}',
        method: 'GET',
        path: '/secure/{proxy+}',
        functionLogicalId: 'EchoFunction',
        authorization: { type: 'JWT', issuer: 'https://issuer.example', audience: ['countersign'] },
      },
    ]);
  });

  it('resolves Fn::Sub with pseudo parameters and attributes', () => {
    const resolver = new IntrinsicResolver({
      Queue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'dlq' } },
    });
    expect(
      resolver.resolve({
        // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax, not a JS template
        'Fn::Sub': 'arn:${AWS::Partition}:x:${AWS::Region}:${AWS::AccountId}:${Queue.Arn}',
      }),
    ).toBe('arn:aws:x:local:000000000000:arn:aws:sqs:local:000000000000:dlq');
    expect(resolver.resolve({ 'Fn::Select': [1, { 'Fn::Split': [',', 'a,b,c'] }] })).toBe('b');
    expect(() => resolver.resolve({ 'Fn::ImportValue': 'x' })).toThrow(/cannot resolve Fn::ImportValue/);
  });
});
