/**
 * A KMS asymmetric signing key (ECC_NIST_P256, SIGN_VERIFY) for tests that run the real KMS
 * adapter without AWS: the SDK's KMSClient is mocked at the SDK (aws-sdk-client-mock) and answers
 * GetPublicKey and Sign as KMS does (SPKI DER public key; DER ECDSA signature over a DIGEST or RAW
 * message), with a P-256 key held here.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import {
  GetPublicKeyCommand,
  KMSClient,
  type KMSClientResolvedConfig,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  SignCommand,
} from '@aws-sdk/client-kms';
import { p256 } from '@noble/curves/nist.js';
import { type AwsStub, mockClient } from 'aws-sdk-client-mock';

export const TEST_RECEIPT_KEY_ARN =
  'arn:aws:kms:us-east-1:123456789012:key/0b1d0f4e-7c2a-4d1e-9a7b-5c3e2f1a0d9c';

export interface KmsSigningKey {
  readonly kms: AwsStub<ServiceInputTypes, ServiceOutputTypes, KMSClientResolvedConfig>;
  readonly keyArn: string;
  /** The public key as SubjectPublicKeyInfo DER, what GetPublicKey returns. */
  readonly spki: Buffer;
  /** A fresh DER signature of `digest` each call, as KMS signs (ECDSA is randomized or per message). */
  signDigest(digest: Uint8Array): Uint8Array;
}

export function mockKmsSigningKey(keyArn = TEST_RECEIPT_KEY_ARN): KmsSigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const secret = Buffer.from((privateKey.export({ format: 'jwk' }) as { d: string }).d, 'base64url');
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const signDigest = (digest: Uint8Array) => p256.sign(digest, secret, { prehash: false, format: 'der' });
  const kms = mockClient(KMSClient);
  kms.on(GetPublicKeyCommand).callsFake(async (input: { KeyId?: string }) => {
    if (input.KeyId !== keyArn)
      throw Object.assign(new Error(`Key '${input.KeyId}' does not exist`), { name: 'NotFoundException' });
    return {
      KeyId: keyArn,
      PublicKey: new Uint8Array(spki),
      KeySpec: 'ECC_NIST_P256',
      KeyUsage: 'SIGN_VERIFY',
      SigningAlgorithms: ['ECDSA_SHA_256'],
    };
  });
  kms
    .on(SignCommand)
    .callsFake(
      async (input: {
        KeyId?: string;
        Message?: Uint8Array;
        MessageType?: string;
        SigningAlgorithm?: string;
      }) => {
        if (input.KeyId !== keyArn)
          throw Object.assign(new Error('not found'), { name: 'NotFoundException' });
        if (input.SigningAlgorithm !== 'ECDSA_SHA_256' || input.Message === undefined) {
          throw Object.assign(new Error('bad request'), { name: 'ValidationException' });
        }
        const digest =
          input.MessageType === 'DIGEST'
            ? input.Message
            : createHash('sha256').update(input.Message).digest();
        return { KeyId: keyArn, Signature: signDigest(digest), SigningAlgorithm: 'ECDSA_SHA_256' };
      },
    );
  return { kms, keyArn, spki, signDigest };
}
