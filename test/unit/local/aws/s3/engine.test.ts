/**
 * The S3 engine behind a real HTTP server, driven by the SDK: persistence across restarts and
 * crashes, concurrent writers, streaming, signed chunks end to end, the privileged-call hook and
 * the in-process reader.
 */
import { createHash, createHmac } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeletePublicAccessBlockCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutBucketAclCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterEach, describe, expect, it } from 'vitest';
import { createLocalS3, S3StoreCorruptError } from '../../../../../local/aws/s3/index.ts';
import {
  type RunningS3,
  s3Client,
  startS3TestServer,
  TEST_CREDENTIALS,
  TEST_REGION,
} from '../../../../support/s3-server.ts';

const servers: RunningS3[] = [];
async function start(directory?: string): Promise<RunningS3> {
  const server = await startS3TestServer({ directory });
  servers.push(server);
  return server;
}
afterEach(async () => {
  for (const server of servers.splice(0)) {
    await server.stop();
    await server.remove();
  }
});

const text = async (body: { transformToString(): Promise<string> } | undefined) => body?.transformToString();

describe('persistence', () => {
  it('keeps buckets, versions, retention and bytes across a restart', async () => {
    const first = await start();
    const client = s3Client(first.endpoint);
    await client.send(new CreateBucketCommand({ Bucket: 'kept', ObjectLockEnabledForBucket: true }));
    const put = await client.send(
      new PutObjectCommand({
        Bucket: 'kept',
        Key: 'a/b.txt',
        Body: 'persisted',
        ObjectLockMode: 'COMPLIANCE',
        ObjectLockRetainUntilDate: new Date(Date.now() + 86_400_000),
        Metadata: { owner: 'audit' },
      }),
    );
    await client.send(new DeleteObjectCommand({ Bucket: 'kept', Key: 'a/b.txt' }));
    await first.stop();

    const second = await startS3TestServer({ directory: first.directory });
    servers.push(second);
    const again = s3Client(second.endpoint);
    const read = await again.send(
      new GetObjectCommand({ Bucket: 'kept', Key: 'a/b.txt', VersionId: put.VersionId }),
    );
    expect(await text(read.Body)).toBe('persisted');
    expect(read.ObjectLockMode).toBe('COMPLIANCE');
    expect(read.Metadata).toEqual({ owner: 'audit' });
    await expect(again.send(new GetObjectCommand({ Bucket: 'kept', Key: 'a/b.txt' }))).rejects.toMatchObject({
      name: 'NoSuchKey',
    });
    await expect(
      again.send(new DeleteObjectCommand({ Bucket: 'kept', Key: 'a/b.txt', VersionId: put.VersionId })),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('sweeps what a crash left half-written and serves what was committed', async () => {
    const first = await start();
    const client = s3Client(first.endpoint);
    await client.send(new CreateBucketCommand({ Bucket: 'crashy' }));
    await client.send(new PutObjectCommand({ Bucket: 'crashy', Key: 'ok.txt', Body: 'committed' }));
    await first.stop();
    // A body staged but never committed, and content whose record was never written.
    await writeFile(join(first.directory, '.staging', 'abandoned'), 'half a body');
    await writeFile(join(first.directory, 'crashy', 'data', 'f'.repeat(32)), 'orphan');
    // A bucket being created when the process died is only ever in staging.
    await mkdir(join(first.directory, '.staging', 'bucket-in-progress'), { recursive: true });

    const second = await startS3TestServer({ directory: first.directory });
    servers.push(second);
    const listed = await s3Client(second.endpoint).send(new ListObjectsV2Command({ Bucket: 'crashy' }));
    expect(listed.Contents?.map((item) => item.Key)).toEqual(['ok.txt']);
    expect(await readdir(join(first.directory, '.staging'))).toEqual([]);
    expect(await readdir(join(first.directory, 'crashy', 'data'))).toHaveLength(1);
  });

  it('refuses to start on a record it cannot read instead of serving around it', async () => {
    const first = await start();
    const client = s3Client(first.endpoint);
    await client.send(new CreateBucketCommand({ Bucket: 'corrupt' }));
    await client.send(new PutObjectCommand({ Bucket: 'corrupt', Key: 'k', Body: 'x' }));
    await first.stop();
    const [keyDir] = await readdir(join(first.directory, 'corrupt', 'versions'));
    const record = join(first.directory, 'corrupt', 'versions', keyDir!, 'null.json');
    const stored = JSON.parse(await readFile(record, 'utf8'));
    await writeFile(record, JSON.stringify({ ...stored, size: -1 }));
    await expect(createLocalS3({ directory: first.directory })).rejects.toBeInstanceOf(S3StoreCorruptError);
  });
});

describe('concurrent writers', () => {
  it('leave exactly one of their bodies under a key, and only its content on disk', async () => {
    const server = await start();
    const client = s3Client(server.endpoint);
    await client.send(new CreateBucketCommand({ Bucket: 'race' }));
    const bodies = Array.from({ length: 12 }, (_, index) => `writer ${index} `.repeat(5_000));
    await Promise.all(
      bodies.map((Body) => client.send(new PutObjectCommand({ Bucket: 'race', Key: 'k', Body }))),
    );
    const read = await text((await client.send(new GetObjectCommand({ Bucket: 'race', Key: 'k' }))).Body);
    expect(bodies).toContain(read);
    expect(await readdir(join(server.directory, 'race', 'data'))).toHaveLength(1);
  });

  it('let exactly one If-None-Match: * create the key', async () => {
    const server = await start();
    const client = s3Client(server.endpoint);
    await client.send(new CreateBucketCommand({ Bucket: 'once' }));
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, index) =>
        client.send(
          new PutObjectCommand({ Bucket: 'once', Key: 'k', Body: `writer ${index}`, IfNoneMatch: '*' }),
        ),
      ),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    for (const result of results) {
      if (result.status === 'rejected') expect(result.reason).toMatchObject({ name: 'PreconditionFailed' });
    }
  });
});

describe('large bodies', () => {
  it('stream a 50 MB PUT and GET without holding the object in memory', async () => {
    const server = await start();
    const client = s3Client(server.endpoint);
    await client.send(new CreateBucketCommand({ Bucket: 'large' }));
    const size = 50 * 1024 * 1024;
    const chunk = Buffer.alloc(256 * 1024, 7);
    const expected = createHash('md5');
    for (let sent = 0; sent < size; sent += chunk.length) expected.update(chunk);
    let peak = 0;
    const sample = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().arrayBuffers);
    }, 5);
    const baseline = process.memoryUsage().arrayBuffers;
    try {
      await client.send(
        new PutObjectCommand({
          Bucket: 'large',
          Key: 'big.bin',
          Body: Readable.from(
            (function* () {
              for (let sent = 0; sent < size; sent += chunk.length) yield chunk;
            })(),
          ),
          ContentLength: size,
        }),
      );
      const read = await client.send(new GetObjectCommand({ Bucket: 'large', Key: 'big.bin' }));
      const hash = createHash('md5');
      for await (const piece of read.Body as Readable) hash.update(piece as Buffer);
      expect(hash.digest('hex')).toBe(expected.digest('hex'));
      expect(read.ContentLength).toBe(size);
    } finally {
      clearInterval(sample);
    }
    // Buffered whole on either side, the object alone would be 50 MB of array buffers on top of the
    // baseline; streamed, only chunks in flight and garbage awaiting collection are (about 30 MB measured).
    expect(peak - baseline).toBeLessThan(size);
  });
});

const bytes = (data: string | ArrayBuffer | ArrayBufferView): string | Buffer =>
  typeof data === 'string'
    ? data
    : data instanceof ArrayBuffer
      ? Buffer.from(data)
      : Buffer.from(data.buffer, data.byteOffset, data.byteLength);

describe('signed chunks over HTTP', () => {
  /** A PUT with every chunk signed as the S3 API reference describes; `tamper` changes a byte of chunk 2. */
  async function signedChunkPut(endpoint: string, body: Buffer, tamper: boolean): Promise<number> {
    const url = new URL(endpoint);
    const amzDate = new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    const chunkSize = 8192;
    const headers: Record<string, string> = {
      host: url.host,
      'x-amz-date': amzDate,
      'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': String(body.length),
    };
    const signer = new SignatureV4({
      service: 's3',
      region: TEST_REGION,
      credentials: { ...TEST_CREDENTIALS },
      sha256: class {
        #hash;
        constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
          this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
        }
        update(data: string | ArrayBuffer | ArrayBufferView) {
          this.#hash.update(bytes(data));
        }
        async digest() {
          return new Uint8Array(this.#hash.digest());
        }
      },
      uriEscapePath: false,
    });
    const signed = await signer.sign(
      {
        method: 'PUT',
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: '/chunks/k',
        query: {},
        headers,
      },
      { signingDate: new Date() },
    );
    const seed = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))![1]!;
    const scopeDate = amzDate.slice(0, 8);
    const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
    const key = hmac(
      hmac(hmac(hmac(`AWS4${TEST_CREDENTIALS.secretAccessKey}`, scopeDate), TEST_REGION), 's3'),
      'aws4_request',
    );
    const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');
    const chunks: Buffer[] = [];
    for (let offset = 0; offset < body.length; offset += chunkSize)
      chunks.push(body.subarray(offset, offset + chunkSize));
    chunks.push(Buffer.alloc(0));
    const parts: Buffer[] = [];
    let previous = seed;
    for (const [index, data] of chunks.entries()) {
      const signature = hmac(
        key,
        [
          'AWS4-HMAC-SHA256-PAYLOAD',
          amzDate,
          `${scopeDate}/${TEST_REGION}/s3/aws4_request`,
          previous,
          sha(Buffer.alloc(0)),
          sha(data),
        ].join('\n'),
      ).toString('hex');
      previous = signature;
      const sent = tamper && index === 1 ? Buffer.from(data).fill(0x21, 0, 1) : data;
      parts.push(
        Buffer.from(`${data.length.toString(16)};chunk-signature=${signature}\r\n`),
        sent,
        Buffer.from('\r\n'),
      );
    }
    const wire = Buffer.concat(parts);
    return new Promise((resolve, reject) => {
      const outgoing = request(
        {
          host: url.hostname,
          port: url.port,
          method: 'PUT',
          path: '/chunks/k',
          headers: { ...signed.headers, 'content-length': String(wire.length) },
        },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
        },
      );
      outgoing.on('error', reject);
      outgoing.end(wire);
    });
  }

  it('stores a body whose every chunk signature verifies and refuses one changed chunk', async () => {
    const server = await start();
    const client = s3Client(server.endpoint);
    await client.send(new CreateBucketCommand({ Bucket: 'chunks' }));
    const body = Buffer.from('signed chunk data '.repeat(2_000));
    expect(await signedChunkPut(server.endpoint, body, true)).toBe(403);
    await expect(client.send(new GetObjectCommand({ Bucket: 'chunks', Key: 'k' }))).rejects.toMatchObject({
      name: 'NoSuchKey',
    });
    expect(await signedChunkPut(server.endpoint, body, false)).toBe(200);
    expect(await text((await client.send(new GetObjectCommand({ Bucket: 'chunks', Key: 'k' }))).Body)).toBe(
      body.toString(),
    );
  });
});

describe('the privileged-call hook', () => {
  it('reports policy, ACL and Block Public Access calls with the caller, success or not', async () => {
    const server = await start();
    const client = s3Client(server.endpoint);
    await client.send(new CreateBucketCommand({ Bucket: 'watched' }));
    const policy = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::watched/*' },
      ],
    };
    await expect(
      client.send(new PutBucketPolicyCommand({ Bucket: 'watched', Policy: JSON.stringify(policy) })),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    await client.send(new DeletePublicAccessBlockCommand({ Bucket: 'watched' }));
    await client.send(new PutBucketPolicyCommand({ Bucket: 'watched', Policy: JSON.stringify(policy) }));
    await expect(
      client.send(new PutBucketAclCommand({ Bucket: 'watched', ACL: 'public-read' })),
    ).rejects.toMatchObject({
      name: 'AccessControlListNotSupported',
    });
    await client.send(new PutObjectCommand({ Bucket: 'watched', Key: 'not-privileged', Body: 'x' }));

    const caller = {
      kind: 'operator',
      accessKeyId: TEST_CREDENTIALS.accessKeyId,
      principalArn: 'arn:aws:iam::000000000000:user/operator',
    };
    expect(
      server.privilegedCalls.map((call) => [call.operation, call.errorCode, call.caller, call.bucket]),
    ).toEqual([
      ['PutBucketPolicy', 'AccessDenied', caller, 'watched'],
      ['DeletePublicAccessBlock', undefined, caller, 'watched'],
      ['PutBucketPolicy', undefined, caller, 'watched'],
      ['PutBucketAcl', 'AccessControlListNotSupported', caller, 'watched'],
    ]);
    expect(server.privilegedCalls[2]?.requestParameters).toMatchObject({
      bucketName: 'watched',
      policy: '',
      bucketPolicy: policy,
    });
    expect(server.privilegedCalls[3]?.requestParameters).toMatchObject({
      acl: '',
      'x-amz-acl': ['public-read'],
    });
  });
});

describe('the in-process reader', () => {
  it('lists and reads what the API stored, versions and delete markers included, and changes nothing', async () => {
    const server = await start();
    const client = s3Client(server.endpoint);
    await client.send(new CreateBucketCommand({ Bucket: 'readable', ObjectLockEnabledForBucket: true }));
    const first = await client.send(
      new PutObjectCommand({ Bucket: 'readable', Key: 'r/1.json', Body: '{"a":1}' }),
    );
    await client.send(new PutObjectCommand({ Bucket: 'readable', Key: 'r/2.json', Body: '{"b":2}' }));
    await client.send(new DeleteObjectCommand({ Bucket: 'readable', Key: 'r/2.json' }));
    const reader = server.s3.reader;

    expect(reader.listBuckets().map((bucket) => [bucket.name, bucket.objectLockEnabled])).toEqual([
      ['readable', true],
    ]);
    expect(reader.listObjects('readable', { prefix: 'r/' }).map((object) => object.key)).toEqual([
      'r/1.json',
    ]);
    expect(
      reader.listObjectVersions('readable').map((version) => [version.key, version.kind, version.isLatest]),
    ).toEqual([
      ['r/1.json', 'object', true],
      ['r/2.json', 'deleteMarker', true],
      ['r/2.json', 'object', false],
    ]);
    const { info, body } = await reader.readObject('readable', 'r/1.json', first.VersionId);
    expect(info).toMatchObject({ size: 7, etag: `"${createHash('md5').update('{"a":1}').digest('hex')}"` });
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('{"a":1}');
    expect(() => reader.headObject('readable', 'r/2.json')).toThrow(
      expect.objectContaining({ code: 'NoSuchKey' }),
    );
    expect(() => reader.listObjects('missing-bucket')).toThrow(
      expect.objectContaining({ code: 'NoSuchBucket' }),
    );
    expect(Object.keys(reader).sort()).toEqual([
      'headObject',
      'listBuckets',
      'listObjectVersions',
      'listObjects',
      'readObject',
    ]);
  });
});
