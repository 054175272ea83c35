/**
 * The AWS front on the twin's server, with test services: a REST-XML service (S3-shaped, streamed
 * bodies), Lambda's REST-JSON Invoke and a JSON service, signed by the SDK's own signer and by the
 * real SDK clients. What a service receives (caller, signature material, the stream) and what a
 * client gets back on every failure (each protocol's error shape) are the contract under test.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyRing } from '../../../../../local/aws/front/credentials.ts';
import { AwsProtocolError } from '../../../../../local/aws/front/errors.ts';
import { createAwsFront } from '../../../../../local/aws/front/front.ts';
import { jsonService } from '../../../../../local/aws/front/json-service.ts';
import {
  AwsProtocol,
  type AwsServiceRequest,
  type RestAwsService,
  type StreamingBody,
} from '../../../../../local/aws/front/service.ts';
import { NodeSha256 } from '../../../../../local/aws/front/sigv4.ts';
import { jsonResponse } from '../../../../../local/aws/http.ts';
import { LambdaFunctionError } from '../../../../../local/aws/lambda/invocation.ts';
import { lambdaInvokeService } from '../../../../../local/aws/lambda/invoke-service.ts';
import { ExposedBindError, startTwinServer, type TwinServer } from '../../../../../local/twin/server.ts';

const operator = { accessKeyId: 'AKIALOCALOPERATOR001', secretAccessKey: 'operator-secret-0123456789' };
const agent = {
  id: 'invoice-bot',
  accessKeyId: 'AKIALOCALAGENT000001',
  secretAccessKey: 'agent-secret-0123456789',
};
const REGION = 'local';
const EMPTY_SHA256 = createHash('sha256').digest('hex');

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, text: string) => createHmac('sha256', key).update(text).digest();

interface Received {
  bytes: number;
  sha256: string;
  caller: string;
  payloadHash: string;
  firstChunkVerified?: boolean;
}
let received: Received | undefined;

/** Reads an aws-chunked body and checks the first chunk's signature with the material the front handed over. */
async function readChunked(
  request: AwsServiceRequest<StreamingBody>,
): Promise<{ data: Buffer; verified: boolean }> {
  const raw: Buffer[] = [];
  for await (const chunk of request.body) raw.push(chunk);
  const text = Buffer.concat(raw);
  const headerEnd = text.indexOf('\r\n');
  const [sizeHex, signaturePart] = text.subarray(0, headerEnd).toString().split(';');
  const size = Number.parseInt(sizeHex!, 16);
  const data = text.subarray(headerEnd + 2, headerEnd + 2 + size);
  const { amzDate, scope, seedSignature, signingKey } = request.signature;
  const stringToSign = [
    'AWS4-HMAC-SHA256-PAYLOAD',
    amzDate,
    scope,
    seedSignature,
    EMPTY_SHA256,
    sha256(data),
  ].join('\n');
  const verified = signaturePart === `chunk-signature=${hmac(signingKey, stringToSign).toString('hex')}`;
  return { data, verified };
}

/** An S3-shaped REST-XML service: PUT counts and hashes the streamed body, GET streams 3 MB back. */
const objects: RestAwsService<'rest-xml'> = {
  protocol: AwsProtocol.restXml,
  signingName: 's3',
  operationOf: (head) =>
    ({ PUT: 'PutObject', GET: 'GetObject', HEAD: 'HeadObject' })[head.method] ?? 'Unknown',
  async handle(request) {
    if (request.path === '/bucket/missing') {
      throw new AwsProtocolError('NoSuchKey', 'The specified key does not exist.', 404, {
        details: { Key: 'missing' },
      });
    }
    if (request.method === 'GET') {
      return {
        statusCode: 200,
        body: Readable.from([randomBytes(1024 * 1024), randomBytes(2 * 1024 * 1024)]),
      };
    }
    let data: Buffer;
    let firstChunkVerified: boolean | undefined;
    if (request.signature.payloadHash === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD') {
      const chunked = await readChunked(request);
      data = chunked.data;
      firstChunkVerified = chunked.verified;
    } else {
      const chunks: Buffer[] = [];
      for await (const chunk of request.body) chunks.push(chunk);
      data = Buffer.concat(chunks);
    }
    received = {
      bytes: data.length,
      sha256: sha256(data),
      caller: request.caller.kind === 'agent' ? request.caller.agentId : request.caller.kind,
      payloadHash: request.signature.payloadHash,
      ...(firstChunkVerified === undefined ? {} : { firstChunkVerified }),
    };
    return { statusCode: 200, headers: { etag: '"x"' } };
  },
};

const echo = jsonService({
  signingName: 'echo',
  targetPrefix: 'Echo_2024',
  jsonVersion: '1.0',
  operations: { Echo: (input, request) => ({ input, caller: request.caller.principalArn, at: new Date(0) }) },
});

const functions = {
  find: (name: string) => (name === 'fn' ? { name } : undefined),
  invoke: async (_name: string, event: unknown) => {
    if ((event as { fail?: boolean }).fail === true) {
      throw new LambdaFunctionError('Boom', 'it failed', ['Boom: it failed', '    at handler']);
    }
    return { echoed: event };
  },
};

let server: TwinServer;

beforeAll(async () => {
  server = await startTwinServer({ port: 0, log: () => undefined });
  server.serve({
    aws: createAwsFront({
      services: [objects, echo, lambdaInvokeService(functions, () => undefined)],
      keys: createKeyRing(operator, [agent]),
      authorize: (caller, action) => caller.kind === 'operator' || action.startsWith('s3:Get'),
      log: () => undefined,
    }),
    app: async () => jsonResponse(404, { message: 'Not Found' }),
  });
});

afterAll(() => server.close());

interface Sent {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function send(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer | string,
): Promise<Sent> {
  const url = new URL(path, server.url);
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }),
      );
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** Signs as the SDK does for `service` (S3: the path as sent), with `x-amz-content-sha256` set to `payloadHash` when given. */
async function signed(
  options: {
    method: string;
    path: string;
    service: string;
    body?: Buffer | string;
    payloadHash?: string;
    headers?: Record<string, string>;
  },
  credentials = operator,
): Promise<{ headers: Record<string, string>; signature: string; amzDate: string }> {
  const url = new URL(options.path, server.url);
  const signer = new SignatureV4({
    service: options.service,
    region: REGION,
    credentials,
    sha256: NodeSha256,
    applyChecksum: false,
    uriEscapePath: options.service !== 's3',
  });
  const result = await signer.sign({
    method: options.method,
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: {
      host: url.host,
      ...options.headers,
      ...(options.payloadHash === undefined ? {} : { 'x-amz-content-sha256': options.payloadHash }),
    },
    body: options.body,
  });
  const headers = result.headers as Record<string, string>;
  return {
    headers,
    signature: /Signature=([0-9a-f]{64})/.exec(headers.authorization ?? '')![1]!,
    amzDate: headers['x-amz-date']!,
  };
}

/** A signed S3-style GET or HEAD (an empty body's hash as its payload hash). */
async function s3Read(
  method: 'GET' | 'HEAD',
  path: string,
  credentials = operator,
  extra: Record<string, string> = {},
) {
  const { headers } = await signed({ method, path, service: 's3', payloadHash: EMPTY_SHA256 }, credentials);
  return send(method, path, { ...headers, ...extra });
}

const xmlCode = (body: Buffer) => /<Code>([^<]*)<\/Code>/.exec(body.toString())?.[1];

describe('REST-XML (S3): streamed bodies and S3 payload hashes', () => {
  it('streams a body signed with its hex SHA-256 to the service, with the caller and the hash', async () => {
    const body = randomBytes(3 * 1024 * 1024);
    const { headers } = await signed({
      method: 'PUT',
      path: '/bucket/key',
      service: 's3',
      payloadHash: sha256(body),
    });
    const answer = await send('PUT', '/bucket/key', headers, body);
    expect(answer.status).toBe(200);
    expect(received).toEqual({
      bytes: body.length,
      sha256: sha256(body),
      caller: 'operator',
      payloadHash: sha256(body),
    });
  });

  it('accepts UNSIGNED-PAYLOAD and STREAMING-UNSIGNED-PAYLOAD-TRAILER, and says which the client chose', async () => {
    for (const mode of ['UNSIGNED-PAYLOAD', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER']) {
      const { headers } = await signed({
        method: 'PUT',
        path: '/bucket/key',
        service: 's3',
        payloadHash: mode,
      });
      const answer = await send('PUT', '/bucket/key', headers, 'hello');
      expect(answer.status).toBe(200);
      expect(received?.payloadHash).toBe(mode);
    }
  });

  it('hands over the signing key, seed signature, scope and date that verify the chunk signatures', async () => {
    const mode = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
    const data = Buffer.from('a chunk of an object');
    const { headers, signature, amzDate } = await signed({
      method: 'PUT',
      path: '/bucket/chunked',
      service: 's3',
      payloadHash: mode,
      headers: { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(data.length) },
    });
    let key: Buffer | string = `AWS4${operator.secretAccessKey}`;
    for (const part of [amzDate.slice(0, 8), REGION, 's3', 'aws4_request']) key = hmac(key, part);
    const scope = `${amzDate.slice(0, 8)}/${REGION}/s3/aws4_request`;
    const chunkSignature = (previous: string, chunk: Buffer) =>
      hmac(
        key,
        ['AWS4-HMAC-SHA256-PAYLOAD', amzDate, scope, previous, EMPTY_SHA256, sha256(chunk)].join('\n'),
      ).toString('hex');
    const first = chunkSignature(signature, data);
    const last = chunkSignature(first, Buffer.alloc(0));
    const body = `${data.length.toString(16)};chunk-signature=${first}\r\n${data}\r\n0;chunk-signature=${last}\r\n\r\n`;
    const answer = await send('PUT', '/bucket/chunked', headers, body);
    expect(answer.status).toBe(200);
    expect(received).toMatchObject({ bytes: data.length, payloadHash: mode, firstChunkVerified: true });
  });

  it('streams a large response body from the service to the client', async () => {
    const answer = await s3Read('GET', '/bucket/big');
    expect(answer.status).toBe(200);
    expect(answer.body.length).toBe(3 * 1024 * 1024);
  });

  it("answers a service's error as S3's XML <Error>, and a HEAD with no body", async () => {
    const answer = await s3Read('GET', '/bucket/missing');
    expect(answer.status).toBe(404);
    expect(answer.headers['content-type']).toBe('application/xml');
    const requestId = String(answer.headers['x-amz-request-id']);
    expect(answer.body.toString()).toBe(
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>missing</Key><RequestId>${requestId}</RequestId></Error>`,
    );
    const headAnswer = await s3Read('HEAD', '/bucket/missing');
    expect(headAnswer.status).toBe(404);
    expect(headAnswer.body.length).toBe(0);
  });

  it('refuses with S3 codes: no payload hash, a wrong secret, an unknown key, a refused caller', async () => {
    const unhashed = await signed({ method: 'PUT', path: '/bucket/key', service: 's3', body: 'x' });
    const withoutHash = await send('PUT', '/bucket/key', unhashed.headers, 'x');
    expect([withoutHash.status, xmlCode(withoutHash.body)]).toEqual([400, 'AuthorizationHeaderMalformed']);

    const forged = await signed(
      { method: 'PUT', path: '/bucket/key', service: 's3', payloadHash: 'UNSIGNED-PAYLOAD' },
      { accessKeyId: operator.accessKeyId, secretAccessKey: 'not-the-secret-at-all' },
    );
    const mismatch = await send('PUT', '/bucket/key', forged.headers, 'x');
    expect([mismatch.status, xmlCode(mismatch.body)]).toEqual([403, 'SignatureDoesNotMatch']);

    const stranger = await signed(
      { method: 'PUT', path: '/bucket/key', service: 's3', payloadHash: 'UNSIGNED-PAYLOAD' },
      { accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: 'whatever-secret-000' },
    );
    const unknown = await send('PUT', '/bucket/key', stranger.headers, 'x');
    expect([unknown.status, xmlCode(unknown.body)]).toEqual([403, 'InvalidAccessKeyId']);

    received = undefined;
    const asAgent = await signed(
      { method: 'PUT', path: '/bucket/key', service: 's3', payloadHash: 'UNSIGNED-PAYLOAD' },
      agent,
    );
    const denied = await send('PUT', '/bucket/key', asAgent.headers, 'x');
    expect([denied.status, xmlCode(denied.body)]).toEqual([403, 'AccessDenied']);
    expect(received).toBeUndefined();
    expect((await s3Read('GET', '/bucket/big', agent)).status).toBe(200);
  });
});

describe('JSON protocol', () => {
  const call = async (target: string, body: string, credentials = operator) => {
    const { headers } = await signed(
      {
        method: 'POST',
        path: '/',
        service: 'echo',
        body,
        headers: { 'x-amz-target': target, 'content-type': 'application/x-amz-json-1.0' },
      },
      credentials,
    );
    return send('POST', '/', headers, body);
  };

  it('hands the parsed input and the caller to the operation and answers with epoch-second timestamps', async () => {
    const answer = await call('Echo_2024.Echo', '{"a":1}');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(JSON.parse(answer.body.toString())).toEqual({
      input: { a: 1 },
      caller: 'arn:aws:iam::000000000000:user/operator',
      at: 0,
    });
  });

  it('answers unknown targets and operations, bad JSON and a refused caller in the JSON error shape', async () => {
    const unknownTarget = await call('Nobody_2024.Echo', '{}');
    expect(unknownTarget.headers['x-amzn-errortype']).toBe('UnknownOperationException');
    const unknownOperation = await call('Echo_2024.Other', '{}');
    expect(JSON.parse(unknownOperation.body.toString())).toMatchObject({
      __type: 'UnknownOperationException',
    });
    const broken = await call('Echo_2024.Echo', '{broken');
    expect(broken.headers['x-amzn-errortype']).toBe('SerializationException');
    const refused = await call('Echo_2024.Echo', '{}', agent);
    expect([refused.status, refused.headers['x-amzn-errortype']]).toEqual([400, 'AccessDeniedException']);
  });

  it('checks a signed hex payload hash against the body', async () => {
    const body = '{"a":1}';
    const { headers } = await signed({
      method: 'POST',
      path: '/',
      service: 'echo',
      body,
      payloadHash: sha256('{"a":2}'),
      headers: { 'x-amz-target': 'Echo_2024.Echo' },
    });
    const answer = await send('POST', '/', headers, body);
    expect([answer.status, answer.headers['x-amzn-errortype']]).toEqual([400, 'InvalidSignatureException']);
  });

  it('refuses a body over 10 MB with 413 before verifying anything', async () => {
    const answer = await send(
      'POST',
      '/',
      {
        'x-amz-target': 'Echo_2024.Echo',
        authorization: 'AWS4-HMAC-SHA256 Credential=x/20240101/local/echo/aws4_request',
      },
      Buffer.alloc(10 * 1024 * 1024 + 1),
    );
    expect([answer.status, answer.headers['x-amzn-errortype']]).toEqual([
      413,
      'RequestEntityTooLargeException',
    ]);
  });
});

describe('REST-JSON (Lambda Invoke) through the real client', () => {
  const lambda = (credentials = operator) =>
    new LambdaClient({ endpoint: server.url, region: REGION, credentials, maxAttempts: 1 });

  it('returns the result, a function error as Unhandled with its payload, 202 for Event and 204 for DryRun', async () => {
    const client = lambda();
    const ok = await client.send(
      new InvokeCommand({ FunctionName: 'fn', Payload: JSON.stringify({ a: 1 }) }),
    );
    expect(JSON.parse(Buffer.from(ok.Payload!).toString())).toEqual({ echoed: { a: 1 } });
    const failed = await client.send(
      new InvokeCommand({ FunctionName: 'fn', Payload: JSON.stringify({ fail: true }) }),
    );
    expect(failed.FunctionError).toBe('Unhandled');
    expect(JSON.parse(Buffer.from(failed.Payload!).toString())).toMatchObject({
      errorType: 'Boom',
      errorMessage: 'it failed',
    });
    const queued = await client.send(
      new InvokeCommand({ FunctionName: 'fn', InvocationType: 'Event', Payload: '{}' }),
    );
    expect(queued.StatusCode).toBe(202);
    const dry = await client.send(new InvokeCommand({ FunctionName: 'fn', InvocationType: 'DryRun' }));
    expect(dry.StatusCode).toBe(204);
    await expect(client.send(new InvokeCommand({ FunctionName: 'nope' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      $metadata: { httpStatusCode: 404 },
    });
    client.destroy();
  });

  it('refuses an unsigned call on its path and a caller without lambda:InvokeFunction, with 403', async () => {
    const unsigned = await send('POST', '/2015-03-31/functions/fn/invocations', {}, '{}');
    expect([unsigned.status, unsigned.headers['x-amzn-errortype']]).toEqual([
      403,
      'MissingAuthenticationTokenException',
    ]);
    const asAgent = lambda(agent);
    await expect(
      asAgent.send(new InvokeCommand({ FunctionName: 'fn', Payload: '{}' })),
    ).rejects.toMatchObject({
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 403 },
    });
    asAgent.destroy();
  });
});

describe('the network boundary', () => {
  it('answers 403 to a request whose Host header names another server (DNS rebinding), AWS calls too', async () => {
    const port = new URL(server.url).port;
    for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1:${Number(port) + 1}`]) {
      const answer = await send('GET', '/anything', { host });
      expect(answer.status).toBe(403);
    }
    expect((await s3Read('GET', '/bucket/big', operator, { host: 'attacker.example' })).status).toBe(403);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`]) {
      expect((await send('GET', '/anything', { host })).status).toBe(404);
    }
  });

  it('refuses to bind anywhere but loopback unless exposure is asked for explicitly', async () => {
    await expect(startTwinServer({ port: 0, host: '0.0.0.0', log: () => undefined })).rejects.toThrow(
      ExposedBindError,
    );
    await expect(startTwinServer({ port: 0, host: '192.0.2.10', log: () => undefined })).rejects.toThrow(
      /--insecure-expose/,
    );
  });
});
