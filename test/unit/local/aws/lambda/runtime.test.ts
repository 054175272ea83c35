/**
 * The twin's Lambda runtime: each function in its own worker with exactly its own environment, and
 * Lambda's semantics (JSON copies, context, errorType/errorMessage/trace, timeouts, crashes and
 * init failures that reset the sandbox).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaEnvironment } from '../../../../../local/aws/lambda/environment.ts';
import { LambdaFunctionError } from '../../../../../local/aws/lambda/invocation.ts';
import { type LambdaFunction, LambdaRuntime } from '../../../../../local/aws/lambda/runtime.ts';

const CODE = {
  env: `export const handler = async () => ({ env: { ...process.env } });`,
  echo: `
export const handler = async (event, context) => {
  event.mutated = true;
  return { event, at: new Date(0), name: context.functionName, arn: context.invokedFunctionArn,
    memory: context.memoryLimitInMB, remaining: context.getRemainingTimeInMillis(), id: context.awsRequestId };
};`,
  fail: `
class PolicyEvaluationError extends Error { name = 'PolicyEvaluationError'; }
export const handler = async () => { throw new PolicyEvaluationError('no policy applies'); };`,
  slow: `
let calls = 0;
export const handler = async (event) => {
  calls += 1;
  if (event.wait) await new Promise((resolve) => setTimeout(resolve, 5_000));
  return { calls };
};`,
  crash: `
let calls = 0;
export const handler = async (event) => {
  calls += 1;
  if (event.crash) setTimeout(() => { throw new Error('uncaught in a timer'); }, 0);
  if (event.crash) await new Promise((resolve) => setTimeout(resolve, 1_000));
  return { calls };
};`,
  // One line, mapped by the map below to original.ts: source maps apply only with NODE_OPTIONS.
  mapped: `export const handler = async () => { throw new Error('where?'); };\n//# sourceMappingURL=index.mjs.map\n`,
  unmapped: `export const handler = async () => { throw new Error('where?'); };\n//# sourceMappingURL=index.mjs.map\n`,
  // Keeps what the event asks it to, and makes as much garbage.
  keeper: `
const kept = [];
export const handler = async (event) => {
  kept.push(new Array(event.keep).fill(1));
  let garbage = new Array(event.keep).fill(2);
  garbage = undefined;
  return { kept: kept.length, garbage };
};`,
  badInit: `throw new Error('cannot start: missing setting');`,
  noExport: `export const other = () => 1;`,
} as const;

type TestFunction = LambdaFunction & { readonly variables: Record<string, string> };

let root: string;
let runtime: LambdaRuntime<TestFunction>;

function fn(name: keyof typeof CODE | 'nocode', timeoutSeconds = 3): TestFunction {
  return {
    logicalId: `${name}Function`,
    name,
    arn: `arn:aws:lambda:local:000000000000:function:${name}`,
    codeDir: name === 'nocode' ? undefined : join(root, name),
    handler: 'index.handler',
    timeoutSeconds,
    memorySize: 256,
    variables: {
      ONLY_FOR: name,
      POLICY_DIR: '/var/task/policies',
      ...(name === 'mapped' ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
    },
  };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cs-lambda-'));
  for (const [name, code] of Object.entries(CODE)) {
    await mkdir(join(root, name));
    await writeFile(join(root, name, 'index.mjs'), code);
    await writeFile(
      join(root, name, 'index.mjs.map'),
      JSON.stringify({ version: 3, sources: ['original.ts'], names: [], mappings: 'AAAA' }),
    );
  }
  const functions = [
    ...(Object.keys(CODE) as (keyof typeof CODE)[]).map((name) => fn(name, name === 'slow' ? 1 : 3)),
    fn('nocode'),
  ];
  runtime = new LambdaRuntime({
    functions,
    environment: (f) =>
      lambdaEnvironment(f, f.variables, {
        endpoint: 'http://127.0.0.1:4710',
        region: 'local',
        credentials: { accessKeyId: 'AKIALOCALOPERATOR001', secretAccessKey: 'operator-secret-0123456789' },
      }),
    log: () => undefined,
  });
});

afterAll(async () => {
  await runtime.stop();
  await rm(root, { recursive: true, force: true });
});

describe('the environment of a function', () => {
  it('is exactly its own: its variables, the task root, Lambda’s and the twin endpoint, nothing of the twin’s process', async () => {
    const before = { ...process.env };
    const { env } = (await runtime.invoke('env', {})) as { env: Record<string, string> };
    expect(env).toEqual({
      ONLY_FOR: 'env',
      POLICY_DIR: join(root, 'env', 'policies'),
      LAMBDA_TASK_ROOT: join(root, 'env'),
      AWS_LAMBDA_FUNCTION_NAME: 'env',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/env',
      AWS_REGION: 'local',
      AWS_DEFAULT_REGION: 'local',
      AWS_ACCESS_KEY_ID: 'AKIALOCALOPERATOR001',
      AWS_SECRET_ACCESS_KEY: 'operator-secret-0123456789',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:4710',
    });
    expect(process.env).toEqual(before);
  });
});

describe('an invocation', () => {
  it('gets a copy of the event and Lambda’s context, and its result comes back as JSON', async () => {
    const event = { requestId: 'r1' };
    const result = (await runtime.invoke(
      'arn:aws:lambda:local:000000000000:function:echo:$LATEST',
      event,
    )) as Record<string, unknown>;
    expect(event).toEqual({ requestId: 'r1' });
    expect(result).toMatchObject({
      event: { requestId: 'r1', mutated: true },
      at: '1970-01-01T00:00:00.000Z',
      name: 'echo',
      arn: 'arn:aws:lambda:local:000000000000:function:echo',
      memory: '256',
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(result.remaining).toBeGreaterThan(2_000);
    expect(result.remaining).toBeLessThanOrEqual(3_000);
  });

  it('tells what the functions keep: their heaps after a full collection, garbage collected', async () => {
    await runtime.invoke('keeper', { keep: 1 });
    const before = await runtime.heapAfterCollection();
    await runtime.invoke('keeper', { keep: 2_000_000 });
    const after = await runtime.heapAfterCollection();
    // 2,000,000 small integers kept: ~16 MB; as much again made and dropped, which is not counted.
    expect(after - before).toBeGreaterThan(12 * 1024 * 1024);
    expect(after - before).toBeLessThan(24 * 1024 * 1024);
  });

  it('fails with the error’s type, message and trace', async () => {
    const failure = await runtime.invoke('fail', {}).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(LambdaFunctionError);
    expect((failure as LambdaFunctionError).payload()).toMatchObject({
      errorType: 'PolicyEvaluationError',
      errorMessage: 'no policy applies',
      trace: expect.arrayContaining([expect.stringContaining('PolicyEvaluationError: no policy applies')]),
    });
  });

  it("maps stack traces through the bundle's source map only when NODE_OPTIONS asks, as Lambda does", async () => {
    const trace = async (name: string) =>
      ((await runtime.invoke(name, {}).catch((error: unknown) => error)) as LambdaFunctionError)
        .payload()
        .trace.join('\n');
    expect(await trace('mapped')).toContain('original.ts:1:1');
    const unmapped = await trace('unmapped');
    expect(unmapped).toContain('index.mjs:1:');
    expect(unmapped).not.toContain('original.ts');
  });

  it('times out as Sandbox.Timedout, and the next invocation runs in a fresh sandbox', async () => {
    expect(await runtime.invoke('slow', {})).toEqual({ calls: 1 });
    await expect(runtime.invoke('slow', { wait: true })).rejects.toMatchObject({
      errorType: 'Sandbox.Timedout',
      errorMessage: expect.stringMatching(/Task timed out after 1\.00 seconds$/),
    });
    expect(await runtime.invoke('slow', {})).toEqual({ calls: 1 });
  });

  it('fails the invocation of a crashed sandbox, and the next one starts a fresh sandbox', async () => {
    expect(await runtime.invoke('crash', {})).toEqual({ calls: 1 });
    await expect(runtime.invoke('crash', { crash: true })).rejects.toMatchObject({
      errorType: 'Runtime.ExitError',
    });
    expect(await runtime.invoke('crash', {})).toEqual({ calls: 1 });
  });

  it('fails when the code cannot start, has no such export, or is not in the assembly', async () => {
    await expect(runtime.invoke('badInit', {})).rejects.toMatchObject({
      errorType: 'Error',
      errorMessage: 'cannot start: missing setting',
    });
    await expect(runtime.invoke('noExport', {})).rejects.toMatchObject({
      errorType: 'Runtime.HandlerNotFound',
    });
    await expect(runtime.invoke('nocode', {})).rejects.toMatchObject({
      errorType: 'Runtime.ImportModuleError',
    });
    await expect(runtime.invoke('nobody', {})).rejects.toMatchObject({
      code: 'ResourceNotFoundException',
      statusCode: 404,
    });
  });
});
