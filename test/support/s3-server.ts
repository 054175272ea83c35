/**
 * A test-only HTTP server for the S3 engine: node:http on 127.0.0.1 and a free port, SigV4 verified
 * with the twin's verifier (S3 signs the path as sent and streams its body), then the request goes
 * to the engine with its body still streaming and the response streams back. Stands in for the
 * twin's AWS front so the engine can be driven by the real SDK and CLI on its own.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { S3Client } from '@aws-sdk/client-s3';
import {
  createLocalS3,
  fromSignatureFailure,
  type LocalS3,
  type PrivilegedCall,
} from '../../local/aws/s3/index.ts';
import { errorResponse, newRequestId, type S3Response } from '../../local/aws/s3/protocol.ts';
import { AwsProtocolError } from '../../local/twin/aws-error.ts';
import { verifySigV4 } from '../../local/twin/sigv4.ts';

export const TEST_REGION = 'us-east-1';
export const TEST_CREDENTIALS = {
  accessKeyId: 'AKIATESTS3ENGINE0001',
  secretAccessKey: 'test-secret-for-the-s3-engine-0001',
} as const;

export interface TestCaller {
  readonly accessKeyId: string;
}

export interface RunningS3 {
  readonly endpoint: string;
  readonly directory: string;
  readonly s3: LocalS3<TestCaller>;
  readonly privilegedCalls: PrivilegedCall<TestCaller>[];
  /** Closes the server; the data directory stays (see `remove`). */
  stop(): Promise<void>;
  remove(): Promise<void>;
}

function headersOf(message: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  return headers;
}

async function send(response: ServerResponse, result: S3Response): Promise<void> {
  response.writeHead(result.statusCode, result.headers);
  const body = result.body;
  if (body instanceof Readable) {
    await pipeline(body, response).catch(() => response.destroy());
  } else {
    response.end(body ?? '');
  }
}

async function serve(
  s3: LocalS3<TestCaller>,
  message: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const url = message.url ?? '/';
  const queryAt = url.indexOf('?');
  const path = queryAt < 0 ? url : url.slice(0, queryAt);
  const rawQueryString = queryAt < 0 ? '' : url.slice(queryAt + 1);
  const headers = headersOf(message);
  const method = (message.method ?? 'GET').toUpperCase();
  let signer: Awaited<ReturnType<typeof verifySigV4>>;
  try {
    signer = await verifySigV4(
      {
        method,
        path,
        query: Object.fromEntries(new URLSearchParams(rawQueryString)),
        headers,
        body: undefined,
      },
      's3',
      (accessKeyId) =>
        accessKeyId === TEST_CREDENTIALS.accessKeyId ? TEST_CREDENTIALS.secretAccessKey : undefined,
      new Date(),
      { uriEscapePath: false },
    );
  } catch (error) {
    if (!(error instanceof AwsProtocolError)) throw error;
    message.resume();
    await send(
      response,
      errorResponse(fromSignatureFailure(error.type, error.message), method, newRequestId(), path),
    );
    return;
  }
  const result = await s3.handle({
    method,
    path,
    rawQueryString,
    headers,
    body: message,
    caller: { accessKeyId: signer.accessKeyId },
    signing: signer,
  });
  // What the engine did not read (a refused upload) is drained so the connection stays usable.
  message.resume();
  await send(response, result);
}

export async function startS3TestServer(
  options: { directory?: string; now?: () => Date } = {},
): Promise<RunningS3> {
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 'countersign-s3-')));
  const privilegedCalls: PrivilegedCall<TestCaller>[] = [];
  const s3 = await createLocalS3<TestCaller>({
    directory,
    region: TEST_REGION,
    now: options.now,
    onPrivilegedCall: (call) => privilegedCalls.push(call),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const server: Server = createServer((message, response) => {
    serve(s3, message, response).catch((error: unknown) => {
      process.stderr.write(`s3 test server: ${(error as Error).stack ?? String(error)}\n`);
      response.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    directory,
    s3,
    privilegedCalls,
    stop: () => {
      stopped ??= new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      });
      return stopped;
    },
    remove: () => rm(directory, { recursive: true, force: true }),
  };
}

/** The SDK as an application would configure it for this endpoint (path-style, no retries). */
export function s3Client(
  endpoint: string,
  credentials: { accessKeyId: string; secretAccessKey: string } = TEST_CREDENTIALS,
): S3Client {
  return new S3Client({
    endpoint,
    region: TEST_REGION,
    forcePathStyle: true,
    credentials: { ...credentials },
    maxAttempts: 1,
  });
}
