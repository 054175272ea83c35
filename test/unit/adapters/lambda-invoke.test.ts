/**
 * Lambda's Invoke as the functions sign it (the Slack vote deferral's asynchronous self-invocation,
 * Finish's synchronous invocation of the executor function), against a local server that checks
 * SigV4 as the twin's front does, with `@aws-sdk/client-lambda` as the oracle: the same invocation
 * through the SDK client must reach the server as the same request (method, path, invocation type,
 * payload), both validly signed for `lambda`. Then every way it can fail: refusals are not retried,
 * throttling and 5xx are (three attempts in all), nothing but a 202 counts as handed over, and a
 * synchronous invocation answers the function's result or fails with the function's error.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  InvocationType,
  InvokedFunctionError,
  LambdaInvokeError,
  lambdaInvoker,
  lambdaInvokeTargetFromEnvironment,
} from '../../../lambdas/adapters/lambda-invoke.ts';
import { isDeferredSlackVote, lambdaSelfInvoke } from '../../../lambdas/adapters/slack/lambda-deferral.ts';
import type { SealedVoteJob } from '../../../lambdas/adapters/slack/vote-job.ts';
import { verifySigV4 } from '../../../local/aws/front/sigv4.ts';

const CREDENTIALS = {
  accessKeyId: 'AKIDDEFERRALTEST',
  secretAccessKey: 'deferral-secret',
  sessionToken: 'token-1',
};
const FUNCTION_NAME = 'countersign-SlackInteractions';

interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
  readonly signedFor?: string;
  readonly signatureError?: string;
}

type Answer = (response: ServerResponse) => void;

const status =
  (code: number, headers: Record<string, string> = {}, body = ''): Answer =>
  (response) => {
    response.writeHead(code, headers);
    response.end(body);
  };

let server: Server;
let endpoint: string;
const received: Received[] = [];
let answers: Answer[] = [];

beforeAll(async () => {
  server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const [path = '', rawQueryString = ''] = (request.url ?? '').split('?');
    const head = {
      method: request.method ?? '',
      path,
      rawQueryString,
      headers: Object.fromEntries(
        Object.entries(request.headers).map(([name, value]) => [name, String(value)]),
      ),
    };
    const signature = await verifySigV4(head, {
      service: 'lambda',
      uriEscapePath: true,
      body,
      lookupSecret: (key) => (key === CREDENTIALS.accessKeyId ? CREDENTIALS.secretAccessKey : undefined),
    }).then(
      (signed) => ({ signedFor: signed.accessKeyId }),
      (error: Error) => ({ signatureError: error.message }),
    );
    received.push({ method: head.method, path, headers: request.headers, body, ...signature });
    (answers.shift() ?? status(202))(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  received.length = 0;
  answers = [];
});

const job = { sealed: 'AAAA.BBBB.CCCC' } as unknown as SealedVoteJob;
const invoker = () =>
  lambdaInvoker({ region: 'eu-west-1', endpoint, credentials: () => Promise.resolve(CREDENTIALS) });
const defer = () => lambdaSelfInvoke(invoker(), () => FUNCTION_NAME);

describe('lambdaSelfInvoke', () => {
  it('sends the request the SDK’s Lambda client sends, signed for lambda', async () => {
    await defer()(job);
    const sdk = new LambdaClient({ region: 'eu-west-1', endpoint, credentials: CREDENTIALS, maxAttempts: 1 });
    const payload = new TextEncoder().encode(JSON.stringify({ countersignSlackVote: job }));
    const answered = await sdk.send(
      new InvokeCommand({ FunctionName: FUNCTION_NAME, InvocationType: 'Event', Payload: payload }),
    );
    expect(answered.StatusCode).toBe(202);
    const [ours, oracle] = received;
    expect(ours?.signatureError).toBeUndefined();
    expect(oracle?.signatureError).toBeUndefined();
    expect(ours?.signedFor).toBe(CREDENTIALS.accessKeyId);
    expect(ours?.method).toBe(oracle?.method);
    expect(ours?.path).toBe(oracle?.path);
    expect(ours?.path).toBe(`/2015-03-31/functions/${FUNCTION_NAME}/invocations`);
    expect(ours?.headers['x-amz-invocation-type']).toBe('Event');
    expect(ours?.headers['x-amz-invocation-type']).toBe(oracle?.headers['x-amz-invocation-type']);
    expect(ours?.headers['x-amz-security-token']).toBe(CREDENTIALS.sessionToken);
    expect(ours?.body.toString()).toBe(oracle?.body.toString());
    expect(isDeferredSlackVote(JSON.parse(String(ours?.body)))).toBe(true);
  });

  it('encodes an ARN as the function name as the SDK does', async () => {
    const arn = `arn:aws:lambda:eu-west-1:123456789012:function:${FUNCTION_NAME}`;
    await lambdaSelfInvoke(invoker(), () => arn)(job);
    const sdk = new LambdaClient({ region: 'eu-west-1', endpoint, credentials: CREDENTIALS, maxAttempts: 1 });
    await sdk.send(
      new InvokeCommand({ FunctionName: arn, InvocationType: 'Event', Payload: new Uint8Array() }),
    );
    expect(received[0]?.signatureError).toBeUndefined();
    expect(received[0]?.path).toBe(received[1]?.path);
  });

  it('fails at once, with Lambda’s error type, when Lambda refuses', async () => {
    answers = [
      status(
        404,
        { 'x-amzn-errortype': 'ResourceNotFoundException:http://internal.amazon.com/coral/' },
        '{"Type":"User","Message":"Function not found"}',
      ),
    ];
    const error = await defer()(job).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(LambdaInvokeError);
    expect((error as LambdaInvokeError).type).toBe('ResourceNotFoundException');
    expect((error as LambdaInvokeError).status).toBe(404);
    expect(received).toHaveLength(1);
  });

  it('counts nothing but 202 as handed over', async () => {
    answers = [status(200, {}, '{}')];
    await expect(defer()(job)).rejects.toBeInstanceOf(LambdaInvokeError);
  });

  it('retries throttling and server errors, three attempts in all', async () => {
    answers = [status(429, { 'x-amzn-errortype': 'TooManyRequestsException' }), status(502), status(202)];
    await defer()(job);
    expect(received).toHaveLength(3);
    answers = [status(500), status(503), status(429), status(202)];
    received.length = 0;
    const error = await defer()(job).catch((thrown: unknown) => thrown);
    expect((error as LambdaInvokeError).type).toBe('HTTP 429');
    expect(received).toHaveLength(3);
  });

  it('retries when Lambda cannot be reached, then fails', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = lambdaSelfInvoke(
      lambdaInvoker({
        region: 'eu-west-1',
        endpoint: `http://127.0.0.1:${port}`,
        credentials: () => Promise.resolve(CREDENTIALS),
      }),
      () => FUNCTION_NAME,
    );
    await expect(unreachable(job)).rejects.toThrow();
  });
});

describe('a synchronous invocation (RequestResponse)', () => {
  const EXECUTOR = 'countersign-ExecuteAction';
  const runAction = (payload: unknown = { requestId: 'r-1' }) =>
    invoker()({
      functionName: EXECUTOR,
      invocationType: InvocationType.requestResponse,
      payload,
      timeoutMs: 2000,
    });

  it('sends the request the SDK’s Lambda client sends, and answers the function’s result', async () => {
    answers = [status(200, { 'content-type': 'application/json' }, '{"requestId":"r-1","execution":null}')];
    await expect(runAction()).resolves.toEqual({ requestId: 'r-1', execution: null });
    const sdk = new LambdaClient({ region: 'eu-west-1', endpoint, credentials: CREDENTIALS, maxAttempts: 1 });
    const answered = await sdk.send(
      new InvokeCommand({
        FunctionName: EXECUTOR,
        InvocationType: 'RequestResponse',
        Payload: new TextEncoder().encode(JSON.stringify({ requestId: 'r-1' })),
      }),
    );
    expect(answered.StatusCode).toBe(202);
    const [ours, oracle] = received;
    expect(ours?.signatureError).toBeUndefined();
    expect(oracle?.signatureError).toBeUndefined();
    expect(ours?.path).toBe(oracle?.path);
    expect(ours?.headers['x-amz-invocation-type']).toBe('RequestResponse');
    expect(ours?.headers['x-amz-invocation-type']).toBe(oracle?.headers['x-amz-invocation-type']);
    expect(ours?.body.toString()).toBe(oracle?.body.toString());
  });

  it('fails with the function’s error type when the function failed, and does not ask again', async () => {
    answers = [
      status(
        200,
        { 'x-amz-function-error': 'Unhandled' },
        JSON.stringify({ errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 60.00 seconds' }),
      ),
    ];
    const error = await runAction().catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(InvokedFunctionError);
    expect((error as InvokedFunctionError).errorType).toBe('Sandbox.Timedout');
    expect((error as Error).message).toContain(`${EXECUTOR} failed: Sandbox.Timedout`);
    expect(received).toHaveLength(1);
  });

  it('retries a throttled invocation, and counts nothing but 200 as answered', async () => {
    answers = [
      status(429, { 'x-amzn-errortype': 'TooManyRequestsException' }),
      status(200, {}, '{"ok":true}'),
    ];
    await expect(runAction()).resolves.toEqual({ ok: true });
    expect(received).toHaveLength(2);
    answers = [status(202)];
    await expect(runAction()).rejects.toBeInstanceOf(LambdaInvokeError);
  });

  it('asks again only within the invocation’s timeout: a retry never outlasts what the caller waits for', async () => {
    const later =
      (ms: number, answer: Answer): Answer =>
      (response) => {
        setTimeout(() => answer(response), ms);
      };
    // A 503 after 1.5 s of the 2 s: the retry may take what is left, not another 2 s.
    answers = [later(1500, status(503)), later(1000, status(200, {}, '{"ok":true}'))];
    await expect(runAction()).rejects.toThrow();
    expect(received.length).toBeLessThanOrEqual(2);
  });

  it('refuses an answer that is not JSON', async () => {
    answers = [status(200, {}, 'not json')];
    await expect(runAction()).rejects.toThrow('is not JSON');
    answers = [status(200, { 'x-amz-function-error': 'Unhandled' }, '')];
    await expect(runAction()).rejects.toMatchObject({ errorType: 'Unknown' });
  });
});

describe('lambdaInvokeTargetFromEnvironment', () => {
  it('uses the Lambda endpoint variable first, then the general one, then the regional endpoint', () => {
    expect(
      lambdaInvokeTargetFromEnvironment({
        AWS_REGION: 'eu-west-1',
        AWS_ENDPOINT_URL: 'http://127.0.0.1:1',
        AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:2',
      }),
    ).toEqual({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:2' });
    expect(
      lambdaInvokeTargetFromEnvironment({ AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL: 'http://127.0.0.1:1' }),
    ).toEqual({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:1' });
    expect(lambdaInvokeTargetFromEnvironment({ AWS_REGION: 'cn-north-1' })).toEqual({ region: 'cn-north-1' });
    expect(() => lambdaInvokeTargetFromEnvironment({})).toThrow('AWS_REGION');
  });
});
