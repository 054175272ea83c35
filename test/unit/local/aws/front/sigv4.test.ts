import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import {
  NodeSha256,
  type SignedRequestHead,
  SigV4Failure,
  verifySigV4,
} from '../../../../../local/aws/front/sigv4.ts';

const ACCESS_KEY = 'AKIDTWINTEST0000001';
const SECRET = 'first-secret';
const ROTATED = 'second-secret';
const NOW = new Date(Date.UTC(2026, 10, 30, 6, 0, 0));
const BODY = Buffer.from('{"TableName":"t","Key":{"pk":{"S":"a b"}}}');

/** A request signed by the SDK's own signer, as a client sends it (header names lower-cased). */
async function signed(
  secret: string,
  request: { path: string; query?: Record<string, string>; headers?: Record<string, string> },
  uriEscapePath = true,
): Promise<SignedRequestHead> {
  const signer = new SignatureV4({
    service: 'dynamodb',
    region: 'eu-west-1',
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: secret },
    sha256: NodeSha256,
    uriEscapePath,
  });
  const result = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 4566,
      path: request.path,
      query: request.query ?? {},
      headers: { host: '127.0.0.1:4566', 'content-type': 'application/x-amz-json-1.0', ...request.headers },
      body: BODY,
    },
    { signingDate: NOW },
  );
  const query = new URLSearchParams(request.query ?? {}).toString().replaceAll('+', '%20');
  return {
    method: 'POST',
    path: request.path,
    rawQueryString: query,
    headers: Object.fromEntries(
      Object.entries(result.headers).map(([name, value]) => [name.toLowerCase(), value]),
    ),
  };
}

const verify = (head: SignedRequestHead, secret: string, uriEscapePath = true) =>
  verifySigV4(head, {
    service: 'dynamodb',
    uriEscapePath,
    body: BODY,
    lookupSecret: (key) => (key === ACCESS_KEY ? secret : undefined),
    now: NOW,
  });

describe('verifySigV4', () => {
  it('accepts what the SDK signs, paths and query strings included, and hands back its signing key', async () => {
    for (const uriEscapePath of [true, false]) {
      const head = await signed(
        SECRET,
        {
          path: '/a path/ü',
          query: { b: '2', a: 'x y' },
          headers: { 'x-amz-target': 'DynamoDB_20120810.GetItem' },
        },
        uriEscapePath,
      );
      const signature = await verify(head, SECRET, uriEscapePath);
      expect(signature.accessKeyId).toBe(ACCESS_KEY);
      expect(signature.scope).toBe('20261130/eu-west-1/dynamodb/aws4_request');
      expect(signature.payloadHash).toBe(createHash('sha256').update(BODY).digest('hex'));
      // The derived key of the documented algorithm: HMACs of the date, region, service, aws4_request.
      let key: Buffer = Buffer.from(`AWS4${SECRET}`);
      for (const part of ['20261130', 'eu-west-1', 'dynamodb', 'aws4_request']) {
        key = createHmac('sha256', key).update(part).digest();
      }
      expect(signature.signingKey.equals(key)).toBe(true);
    }
  });

  it('refuses a signature once the secret of its access key changed, though a key for it was derived', async () => {
    const head = await signed(SECRET, { path: '/' });
    await verify(head, SECRET);
    await expect(verify(head, ROTATED)).rejects.toMatchObject({ failure: SigV4Failure.mismatch });
    const rotated = await signed(ROTATED, { path: '/' });
    await expect(verify(rotated, ROTATED)).resolves.toMatchObject({ accessKeyId: ACCESS_KEY });
    await expect(verify(rotated, SECRET)).rejects.toMatchObject({ failure: SigV4Failure.mismatch });
  });

  it('refuses a request changed after signing: a signed header, the path, the query, the date', async () => {
    const head = await signed(SECRET, {
      path: '/',
      query: { a: '1' },
      headers: { 'x-amz-target': 'DynamoDB_20120810.GetItem' },
    });
    await verify(head, SECRET);
    const changed: SignedRequestHead[] = [
      { ...head, headers: { ...head.headers, 'x-amz-target': 'DynamoDB_20120810.DeleteItem' } },
      { ...head, path: '/other' },
      { ...head, rawQueryString: 'a=2' },
      { ...head, headers: { ...head.headers, 'x-amz-date': '20261130T060001Z' } },
    ];
    for (const request of changed) {
      await expect(verify(request, SECRET)).rejects.toMatchObject({ failure: SigV4Failure.mismatch });
    }
  });
});
