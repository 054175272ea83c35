import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { staleReason } from '../../../local/aws/cloudformation/assembly.ts';
import { IntrinsicResolver } from '../../../local/aws/cloudformation/intrinsics.ts';
import { findFunction, loadStack } from '../../../local/aws/cloudformation/template.ts';
import { FIXTURE_TEMPLATE, removeDir, tempDataDir } from './helpers.ts';

const dirs: string[] = [];
afterEach(async () => {
  while (dirs.length > 0) await removeDir(dirs.pop()!);
});

describe('cloud assembly freshness', () => {
  it('asks for a synth when the assembly is missing, older than a source or made with another context', async () => {
    const repo = await tempDataDir();
    dirs.push(repo);
    await mkdir(join(repo, 'lib'), { recursive: true });
    await writeFile(join(repo, 'lib', 'stack.ts'), 'export {};\n');
    await writeFile(join(repo, 'cdk.json'), '{}\n');
    const outDir = join(repo, 'cdk.out.twin');
    const assembly = { appDir: repo, outDir, sources: ['lib', 'cdk.json'], context: { 'app:key': 'a' } };
    expect(await staleReason(assembly)).toBe(`${outDir} is missing`);

    await mkdir(outDir);
    await writeFile(join(outDir, 'manifest.json'), '{}\n');
    await writeFile(join(outDir, 'twin-synth-context.json'), '{"app:key":"a"}\n');
    const past = new Date(Date.now() - 60_000);
    await utimes(join(repo, 'lib', 'stack.ts'), past, past);
    await utimes(join(repo, 'lib'), past, past);
    await utimes(join(repo, 'cdk.json'), past, past);
    expect(await staleReason(assembly)).toBeUndefined();
    expect(await staleReason({ ...assembly, context: { 'app:key': 'b' } })).toBe('the synth context changed');

    const future = new Date(Date.now() + 60_000);
    await utimes(join(repo, 'lib', 'stack.ts'), future, future);
    expect(await staleReason(assembly)).toBe('lib changed since the last synth');
  });
});

describe('the template model', () => {
  it('resolves the definition, environment, rules, table and routes to local values', async () => {
    const stack = await loadStack(FIXTURE_TEMPLATE);
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
    expect(stack.functions.map((fn) => fn.logicalId)).toEqual([
      'EvaluateFunction',
      'RequestApprovalFunction',
      'EchoFunction',
      'LogRetentionFunction',
    ]);
    // A function whose code is not in the assembly (here CDK's log retention) has no code to run locally.
    expect(stack.functions[3]?.codeDir).toBeUndefined();
    expect(stack.functions[0]).toMatchObject({
      codeDir: join(import.meta.dirname, 'fixtures', 'functions', 'evaluate'),
      handler: 'index.handler',
      timeoutSeconds: 30,
      environment: { TABLE_NAME: 'Table', EVENT_BUS_NAME: 'countersign', POLICY_DIR: './policies' },
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
