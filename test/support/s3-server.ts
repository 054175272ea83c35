/**
 * The twin's S3 on its own: the engine registered as the only service of the twin's real AWS front
 * (SigV4 verified once, S3's payload modes and errors), on the twin's server (127.0.0.1, a free
 * port). The SDK and the CLI drive it exactly as they drive the whole twin.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { createKeyRing } from '../../local/aws/front/credentials.ts';
import { createAwsFront } from '../../local/aws/front/front.ts';
import type { AwsCaller } from '../../local/aws/front/service.ts';
import { jsonResponse } from '../../local/aws/http.ts';
import { createLocalS3, type LocalS3, type PrivilegedCall } from '../../local/aws/s3/index.ts';
import { s3Service } from '../../local/aws/s3/service.ts';
import { startTwinServer } from '../../local/twin/server.ts';

export const TEST_REGION = 'us-east-1';
export const TEST_CREDENTIALS = {
  accessKeyId: 'AKIATESTS3ENGINE0001',
  secretAccessKey: 'test-secret-for-the-s3-engine-0001',
} as const;

export interface RunningS3 {
  readonly endpoint: string;
  readonly directory: string;
  readonly s3: LocalS3<AwsCaller>;
  readonly privilegedCalls: PrivilegedCall<AwsCaller>[];
  /** Closes the server; the data directory stays (see `remove`). */
  stop(): Promise<void>;
  remove(): Promise<void>;
}

export async function startS3TestServer(options: { directory?: string } = {}): Promise<RunningS3> {
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 'countersign-s3-')));
  const privilegedCalls: PrivilegedCall<AwsCaller>[] = [];
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const s3 = await createLocalS3<AwsCaller>({
    directory,
    region: TEST_REGION,
    onPrivilegedCall: (call) => privilegedCalls.push(call),
    log,
  });
  const server = await startTwinServer({ port: 0, log });
  server.serve({
    aws: createAwsFront({
      services: [s3Service(s3)],
      keys: createKeyRing(TEST_CREDENTIALS, []),
      authorize: () => true,
      log,
    }),
    app: async () => jsonResponse(404, { message: 'not an S3 call' }),
  });
  let stopped: Promise<void> | undefined;
  return {
    endpoint: server.url,
    directory,
    s3,
    privilegedCalls,
    stop: () => {
      stopped ??= server.close();
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
