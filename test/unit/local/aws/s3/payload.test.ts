import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { verifySigV4 } from '../../../../../local/aws/front/sigv4.ts';
import { S3Error } from '../../../../../local/aws/s3/errors.ts';
import { type ChunkSigningMaterial, receivePayload } from '../../../../../local/aws/s3/payload.ts';
import { chunkedBody, DOC, split } from './support.ts';

const DOC_DATA = Buffer.alloc(66_560, 'a');

/** The request of the signed example, whose own signature is the seed of its chunk signatures. */
const DOC_REQUEST = {
  method: 'PUT',
  path: '/examplebucket/chunkObject.txt',
  rawQueryString: '',
  headers: {
    host: 's3.amazonaws.com',
    'x-amz-date': DOC.amzDate,
    'x-amz-storage-class': 'REDUCED_REDUNDANCY',
    authorization: `AWS4-HMAC-SHA256 Credential=${DOC.accessKeyId}/${DOC.scope},SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9`,
    'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': '66560',
    'content-length': '66824',
  },
};
const documented = await verifySigV4(DOC_REQUEST, {
  service: 's3',
  uriEscapePath: false,
  body: undefined,
  lookupSecret: () => DOC.secretAccessKey,
  now: new Date(Date.UTC(2013, 4, 24, 0, 0, 30)),
});

/** The documented signing key and scope with a given seed (the trailer example has its own). */
const docSigning = (seedSignature: string): ChunkSigningMaterial => ({ ...documented, seedSignature });

/** The signed example of "Transferring Payload in Multiple Chunks" in the S3 API reference. */
const SIGNED = {
  seed: '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
  chunks: [
    'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
    '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
    'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
  ],
};

/** The same upload with a signed CRC32C trailer ("Signature calculations for trailing headers"). */
const SIGNED_TRAILER = {
  seed: '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e',
  chunks: [
    'b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2',
    '1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7',
    '2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992',
  ],
  trailer:
    'x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n',
};

function documentedBody(signatures: readonly string[], trailer = ''): Buffer {
  return Buffer.concat([
    Buffer.from(`10000;chunk-signature=${signatures[0]}\r\n`),
    DOC_DATA.subarray(0, 65_536),
    Buffer.from(`\r\n400;chunk-signature=${signatures[1]}\r\n`),
    DOC_DATA.subarray(65_536),
    Buffer.from(`\r\n0;chunk-signature=${signatures[2]}\r\n${trailer}\r\n`),
  ]);
}

const signedHeaders = {
  'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
  'content-encoding': 'aws-chunked',
  'x-amz-decoded-content-length': '66560',
};
const trailerHeaders = {
  ...signedHeaders,
  'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
  'x-amz-trailer': 'x-amz-checksum-crc32c',
};

async function receive(
  headers: Record<string, string>,
  body: Buffer | Buffer[],
  signing?: ChunkSigningMaterial,
): Promise<{ data: Buffer; result: Awaited<ReturnType<typeof receivePayload>> }> {
  const chunks: Buffer[] = [];
  const result = await receivePayload(
    headers,
    Readable.from(Array.isArray(body) ? body : [body]),
    signing,
    (chunk) => void chunks.push(Buffer.from(chunk)),
  );
  return { data: Buffer.concat(chunks), result };
}

async function refusal(promise: Promise<unknown>): Promise<{ code: string; status: number }> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(S3Error);
  return { code: (error as S3Error).code, status: (error as S3Error).statusCode };
}

describe('aws-chunked bodies with signed chunks (the S3 API reference examples)', () => {
  it('verifies the documented request signature, the seed of the chunk signatures', () => {
    expect(documented.seedSignature).toBe(SIGNED.seed);
    expect(documented.scope).toBe(DOC.scope);
  });

  it('decodes the documented upload, however the network split it', async () => {
    const body = documentedBody(SIGNED.chunks);
    expect(body.length).toBe(66_824);
    for (const size of [1_000, 7, body.length]) {
      const { data, result } = await receive(signedHeaders, split(body, size), docSigning(SIGNED.seed));
      expect(data.equals(DOC_DATA)).toBe(true);
      expect(result.size).toBe(66_560);
      expect(result.md5Hex).toBe(createHash('md5').update(DOC_DATA).digest('hex'));
    }
  });

  it('refuses any documented chunk signature changed, a changed byte, and a wrong seed', async () => {
    for (let index = 0; index < 3; index += 1) {
      const signatures = [...SIGNED.chunks];
      signatures[index] = `${signatures[index]?.slice(0, 63)}0`;
      expect(
        await refusal(receive(signedHeaders, documentedBody(signatures), docSigning(SIGNED.seed))),
      ).toEqual({ code: 'SignatureDoesNotMatch', status: 403 });
    }
    const tampered = documentedBody(SIGNED.chunks);
    tampered[1_000] = 0x62;
    expect(await refusal(receive(signedHeaders, tampered, docSigning(SIGNED.seed)))).toMatchObject({
      code: 'SignatureDoesNotMatch',
    });
    expect(
      await refusal(receive(signedHeaders, documentedBody(SIGNED.chunks), docSigning(SIGNED_TRAILER.seed))),
    ).toMatchObject({ code: 'SignatureDoesNotMatch' });
  });

  it('refuses chunks without signatures and a signed mode without signing material (fail closed)', async () => {
    const unsigned = Buffer.from(
      documentedBody(SIGNED.chunks)
        .toString('latin1')
        .replace(/;chunk-signature=[0-9a-f]{64}/g, ''),
      'latin1',
    );
    expect(await refusal(receive(signedHeaders, unsigned, docSigning(SIGNED.seed)))).toMatchObject({
      code: 'InvalidRequest',
    });
    expect(await refusal(receive(signedHeaders, documentedBody(SIGNED.chunks)))).toEqual({
      code: 'SignatureDoesNotMatch',
      status: 403,
    });
  });

  it('decodes the documented signed trailer and refuses a changed trailer value or a missing trailer signature', async () => {
    const body = documentedBody(SIGNED_TRAILER.chunks, SIGNED_TRAILER.trailer);
    const { data, result } = await receive(trailerHeaders, split(body, 777), docSigning(SIGNED_TRAILER.seed));
    expect(data.equals(DOC_DATA)).toBe(true);
    expect(result.checksum).toEqual({ algorithm: 'CRC32C', value: 'sOO8/Q==' });

    const changed = Buffer.from(body.toString('latin1').replace('sOO8/Q==', 'sOO8/A=='), 'latin1');
    expect(await refusal(receive(trailerHeaders, changed, docSigning(SIGNED_TRAILER.seed)))).toMatchObject({
      code: 'SignatureDoesNotMatch',
    });
    const unsignedTrailer = Buffer.from(
      body.toString('latin1').replace(/x-amz-trailer-signature:[0-9a-f]{64}\r\n/, ''),
      'latin1',
    );
    expect(
      await refusal(receive(trailerHeaders, unsignedTrailer, docSigning(SIGNED_TRAILER.seed))),
    ).toMatchObject({ code: 'InvalidRequest' });
  });

  it('holds the body to x-amz-decoded-content-length, which it requires', async () => {
    const body = documentedBody(SIGNED.chunks);
    const { 'x-amz-decoded-content-length': _, ...withoutLength } = signedHeaders;
    expect(await refusal(receive(withoutLength, body, docSigning(SIGNED.seed)))).toEqual({
      code: 'MissingContentLength',
      status: 411,
    });
    for (const length of ['66559', '66561']) {
      expect(
        await refusal(
          receive(
            { ...signedHeaders, 'x-amz-decoded-content-length': length },
            body,
            docSigning(SIGNED.seed),
          ),
        ),
      ).toMatchObject({ code: 'IncompleteBody', status: 400 });
    }
    expect(
      await refusal(receive(signedHeaders, body.subarray(0, 2_000), docSigning(SIGNED.seed))),
    ).toMatchObject({ code: 'IncompleteBody' });
    expect(
      await refusal(
        receive(signedHeaders, Buffer.concat([body, Buffer.from('extra')]), docSigning(SIGNED.seed)),
      ),
    ).toMatchObject({ code: 'InvalidRequest' });
  });
});

describe('aws-chunked bodies with an unsigned trailer (the SDK default for streams)', () => {
  const data = Buffer.from('hello world, streamed in chunks');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(data));
  const headers = {
    'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
    'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': String(data.length),
    'x-amz-trailer': 'x-amz-checksum-crc32',
  };

  it('decodes the body and verifies its trailing checksum', async () => {
    const body = chunkedBody(
      [data.subarray(0, 10), data.subarray(10)],
      `x-amz-checksum-crc32:${crc.toString('base64')}`,
    );
    const { data: decoded, result } = await receive(headers, split(body, 3));
    expect(decoded.equals(data)).toBe(true);
    expect(result.checksum).toEqual({ algorithm: 'CRC32', value: crc.toString('base64') });
  });

  it('refuses a wrong trailing checksum, a missing trailer and an unannounced one', async () => {
    const wrong = chunkedBody([data], 'x-amz-checksum-crc32:AAAAAA==');
    expect(await refusal(receive(headers, wrong))).toEqual({ code: 'BadDigest', status: 400 });
    expect(await refusal(receive(headers, chunkedBody([data])))).toMatchObject({ code: 'InvalidRequest' });
    const { 'x-amz-trailer': _, ...unannounced } = headers;
    expect(
      await refusal(
        receive(unannounced, chunkedBody([data], `x-amz-checksum-crc32:${crc.toString('base64')}`)),
      ),
    ).toMatchObject({ code: 'InvalidRequest' });
  });

  it('accepts a body that ends right after its last chunk when no trailer was announced', async () => {
    const { 'x-amz-trailer': _, ...noTrailer } = headers;
    const body = Buffer.from(`${data.length.toString(16)}\r\n${data.toString()}\r\n0\r\n`);
    const { data: decoded, result } = await receive(noTrailer, body);
    expect(decoded.equals(data)).toBe(true);
    expect(result.checksum.algorithm).toBe('CRC64NVME');
  });
});

describe('plain bodies', () => {
  const data = Buffer.from('plain body');
  const sha256 = createHash('sha256').update(data).digest('hex');
  const md5 = createHash('md5').update(data).digest('base64');

  it('checks x-amz-content-sha256, Content-MD5 and x-amz-checksum-* against the bytes', async () => {
    const { result } = await receive({ 'x-amz-content-sha256': sha256, 'content-md5': md5 }, data);
    expect(result.size).toBe(data.length);
    expect(await refusal(receive({ 'x-amz-content-sha256': sha256 }, Buffer.from('other body')))).toEqual({
      code: 'XAmzContentSHA256Mismatch',
      status: 400,
    });
    expect(
      await refusal(
        receive({ 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-md5': md5 }, Buffer.from('x')),
      ),
    ).toEqual({ code: 'BadDigest', status: 400 });
    expect(
      await refusal(receive({ 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-md5': 'nope' }, data)),
    ).toEqual({ code: 'InvalidDigest', status: 400 });
    const sha1 = createHash('sha1').update(data).digest('base64');
    const { result: withSha1 } = await receive(
      { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-checksum-sha1': sha1 },
      data,
    );
    expect(withSha1.checksum).toEqual({ algorithm: 'SHA1', value: sha1 });
    expect(
      await refusal(
        receive(
          {
            'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
            'x-amz-checksum-sha1': createHash('sha1').digest('base64'),
          },
          data,
        ),
      ),
    ).toEqual({ code: 'BadDigest', status: 400 });
  });

  it('refuses a missing or unknown x-amz-content-sha256 and two checksums at once', async () => {
    expect(await refusal(receive({}, data))).toMatchObject({ code: 'InvalidRequest' });
    expect(await refusal(receive({ 'x-amz-content-sha256': 'SOMETHING' }, data))).toMatchObject({
      code: 'InvalidArgument',
    });
    expect(
      await refusal(
        receive(
          {
            'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
            'x-amz-checksum-crc32': 'AAAAAA==',
            'x-amz-checksum-sha1': 'x',
          },
          data,
        ),
      ),
    ).toMatchObject({ code: 'InvalidRequest' });
    expect(
      await refusal(
        receive({ 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-checksum-crc32': 'short' }, data),
      ),
    ).toMatchObject({ code: 'InvalidRequest' });
  });
});
