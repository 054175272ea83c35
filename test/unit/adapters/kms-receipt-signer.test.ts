import { createPublicKey, verify } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { p256 } from '@noble/curves/nist.js';
import { calculateJwkThumbprint } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { derToJoseSignature, SignatureEncodingError } from '../../../lambdas/adapters/kms/der-signature.ts';
import { KmsReceiptKeys, KmsReceiptSigner } from '../../../lambdas/adapters/kms/receipt-signer.ts';
import { ConfigurationError } from '../../../lambdas/domain/errors.ts';
import { receiptClaimsFor, verifyReceipt } from '../../../lambdas/domain/receipt.ts';
import { type KmsSigningKey, mockKmsSigningKey } from '../../support/kms-signing-key.ts';
import { aRecord } from '../domain/fixtures.ts';

const hex = (text: string) => Uint8Array.from(Buffer.from(text.replace(/\s/g, ''), 'hex'));
const integer = (bytes: string) => {
  const body = hex(bytes);
  return [0x02, body.length, ...body];
};
const sequence = (...parts: number[][]) => {
  const body = parts.flat();
  return Uint8Array.from([0x30, body.length, ...body]);
};

describe('derToJoseSignature', () => {
  const r32 = '7f'.repeat(32);
  const s32 = '11'.repeat(32);

  it('joins two 32-byte integers as r || s', () => {
    expect(Buffer.from(derToJoseSignature(sequence(integer(r32), integer(s32)))).toString('hex')).toBe(
      r32 + s32,
    );
  });

  it('drops the sign byte DER adds when the high bit is set', () => {
    const high = `80${'00'.repeat(31)}`;
    const der = sequence(integer(`00${high}`), integer(`00${'ff'.repeat(32)}`));
    expect(Buffer.from(derToJoseSignature(der)).toString('hex')).toBe(high + 'ff'.repeat(32));
  });

  it('left-pads integers DER shortened by their leading zeros', () => {
    const der = sequence(integer(`01${'22'.repeat(29)}`), integer('01'));
    expect(Buffer.from(derToJoseSignature(der)).toString('hex')).toBe(
      `0000${'01'}${'22'.repeat(29)}${'00'.repeat(31)}01`,
    );
  });

  it('agrees with the library on thousands of real signatures, short and sign-padded ones included', () => {
    const secret = p256.utils.randomSecretKey();
    let padded = 0;
    let short = 0;
    for (let n = 0; n < 2000; n += 1) {
      const digest = p256.utils.randomSecretKey();
      const der = p256.sign(digest, secret, { prehash: false, format: 'der' });
      const compact = p256.sign(digest, secret, { prehash: false });
      // Deterministic (RFC 6979): the same signature in both encodings.
      expect(derToJoseSignature(der)).toEqual(compact);
      if (der[3] === 33) padded += 1;
      if (der[3]! < 32) short += 1;
    }
    expect(padded).toBeGreaterThan(0);
    expect(short).toBeGreaterThan(0);
  });

  it.each([
    ['not a sequence', Uint8Array.from([0x31, 0x00])],
    ['a length that overruns', Uint8Array.from([0x30, 0x10, 0x02, 0x01, 0x01])],
    ['trailing bytes', Uint8Array.from([...sequence(integer('01'), integer('01')), 0x00])],
    ['a missing integer', sequence(integer('01'))],
    ['a negative integer', sequence(integer('80'), integer('01'))],
    ['a non-minimal integer', sequence(integer('0001'), integer('01'))],
    ['an integer too long', sequence(integer(`01${'00'.repeat(32)}`), integer('01'))],
    ['an empty integer', Uint8Array.from([0x30, 0x04, 0x02, 0x00, 0x02, 0x00])],
    [
      'a long-form length for a short value',
      Uint8Array.from([0x30, 0x81, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]),
    ],
    ['a truncated length', Uint8Array.from([0x30])],
  ])('refuses %s', (_name, der) => {
    expect(() => derToJoseSignature(der)).toThrow(SignatureEncodingError);
  });
});

describe('KmsReceiptSigner and KmsReceiptKeys', () => {
  let key: KmsSigningKey;
  beforeEach(() => {
    key = mockKmsSigningKey();
  });
  afterEach(() => key.kms.restore());

  const decided = aRecord({
    status: 'APPROVED',
    decision: 'APPROVED',
    approvers: ['alice', 'bob'],
    decidedAt: new Date().toISOString(),
  });

  it('signs with KMS over the digest; the JWKS from GetPublicKey verifies it, kid = the key thumbprint', async () => {
    const client = new KMSClient({ region: 'us-east-1' });
    const jws = await new KmsReceiptSigner({ client, keyId: key.keyArn }).sign(receiptClaimsFor(decided));
    const jwks = await new KmsReceiptKeys({ client, keyIds: [key.keyArn] }).jwks();

    const [jwk] = jwks.keys;
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(jwk!.kid).toBe(await calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: jwk!.x, y: jwk!.y }));
    expect(JSON.parse(Buffer.from(jws.split('.')[0]!, 'base64url').toString())).toEqual({
      alg: 'ES256',
      typ: 'countersign-receipt+jwt',
      kid: jwk!.kid,
    });
    await expect(verifyReceipt(jws, { keys: jwks, actionHash: decided.actionHash })).resolves.toEqual(
      receiptClaimsFor(decided),
    );
    const sign = key.kms.commandCalls(SignCommand)[0]!.args[0].input;
    expect(sign).toMatchObject({
      KeyId: key.keyArn,
      MessageType: 'DIGEST',
      SigningAlgorithm: 'ECDSA_SHA_256',
    });
    expect(sign.Message).toHaveLength(32);
  });

  it('makes receipts an independent ES256 implementation verifies (Node crypto, IEEE P1363 signature)', async () => {
    const client = new KMSClient({ region: 'us-east-1' });
    const jws = await new KmsReceiptSigner({ client, keyId: key.keyArn }).sign(receiptClaimsFor(decided));
    const [header, payload, signature] = jws.split('.') as [string, string, string];
    const publicKey = createPublicKey({ key: key.spki, format: 'der', type: 'spki' });
    const ok = verify(
      'sha256',
      Buffer.from(`${header}.${payload}`),
      { key: publicKey, dsaEncoding: 'ieee-p1363' },
      Buffer.from(signature, 'base64url'),
    );
    expect(ok).toBe(true);
  });

  it('fetches each public key once, lists current and retired keys, and refuses a key that cannot sign receipts', async () => {
    const client = new KMSClient({ region: 'us-east-1' });
    const signer = new KmsReceiptSigner({ client, keyId: key.keyArn });
    await signer.sign(receiptClaimsFor(decided));
    await signer.sign(receiptClaimsFor(decided));
    expect(key.kms.commandCalls(GetPublicKeyCommand)).toHaveLength(1);

    const retired = 'arn:aws:kms:us-east-1:123456789012:key/retired';
    key.kms.on(GetPublicKeyCommand, { KeyId: retired }).resolves({
      KeyId: retired,
      PublicKey: new Uint8Array(createPublicKey(p256Spki()).export({ format: 'der', type: 'spki' })),
      KeySpec: 'ECC_NIST_P256',
      KeyUsage: 'SIGN_VERIFY',
    });
    const jwks = await new KmsReceiptKeys({ client, keyIds: [key.keyArn, retired] }).jwks();
    expect(jwks.keys).toHaveLength(2);
    expect(new Set(jwks.keys.map((jwk) => jwk.kid)).size).toBe(2);

    const symmetric = 'arn:aws:kms:us-east-1:123456789012:key/symmetric';
    key.kms.on(GetPublicKeyCommand, { KeyId: symmetric }).resolves({
      KeyId: symmetric,
      KeySpec: 'SYMMETRIC_DEFAULT',
      KeyUsage: 'ENCRYPT_DECRYPT',
    });
    await expect(new KmsReceiptKeys({ client, keyIds: [symmetric] }).jwks()).rejects.toThrow(
      ConfigurationError,
    );
    await expect(
      new KmsReceiptSigner({ client, keyId: symmetric }).sign(receiptClaimsFor(decided)),
    ).rejects.toThrow(ConfigurationError);
  });

  it('retries a failed public-key fetch instead of caching the failure', async () => {
    const client = new KMSClient({ region: 'us-east-1' });
    key.kms
      .on(GetPublicKeyCommand)
      .rejectsOnce(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    const keys = new KmsReceiptKeys({ client, keyIds: [key.keyArn] });
    await expect(keys.jwks()).rejects.toThrow('throttled');
    key.kms.on(GetPublicKeyCommand).resolves({
      KeyId: key.keyArn,
      PublicKey: new Uint8Array(key.spki),
      KeySpec: 'ECC_NIST_P256',
      KeyUsage: 'SIGN_VERIFY',
    });
    await expect(keys.jwks()).resolves.toMatchObject({ keys: [{ crv: 'P-256' }] });
  });
});

/** A fresh P-256 public key as a JWK, for keys the test serves besides the mocked one. */
function p256Spki() {
  const point = p256.getPublicKey(p256.utils.randomSecretKey(), false);
  return {
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: Buffer.from(point.subarray(1, 33)).toString('base64url'),
      y: Buffer.from(point.subarray(33)).toString('base64url'),
    },
    format: 'jwk' as const,
  };
}
