/**
 * Signatures by an AWS KMS asymmetric key (ECC_NIST_P256, SIGN_VERIFY): decision receipts (ES256 JWS)
 * and audit digests, through one ES256 signer. The private key never leaves KMS; the public keys
 * are served as a JWKS. The same adapter runs in the twin against its emulated KMS.
 */
import { createHash, createPublicKey } from 'node:crypto';
import {
  GetPublicKeyCommand,
  type GetPublicKeyCommandOutput,
  type KMSClient,
  SignCommand,
} from '@aws-sdk/client-kms';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { ConfigurationError } from '../../domain/errors.ts';
import {
  RECEIPT_ALGORITHM,
  RECEIPT_TYPE,
  type ReceiptClaims,
  ReceiptClaims as ReceiptClaimsSchema,
} from '../../domain/receipt.ts';
import type { Es256Signer, ReceiptKeys, ReceiptSigner } from '../../ports/index.ts';
import { derToJoseSignature } from './der-signature.ts';

/** A public key as a JWKS lists it: `kid` is its RFC 7638 thumbprint, so it is stable per key. */
export type ReceiptJwk = JWK & { readonly kid: string; readonly alg: 'ES256'; readonly use: 'sig' };

const base64url = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url');

/** The key's public half as a JWK, after checking it is a P-256 signing key (fail closed otherwise). */
async function publicJwkOf(output: GetPublicKeyCommandOutput, keyId: string): Promise<ReceiptJwk> {
  if (
    output.KeySpec !== 'ECC_NIST_P256' ||
    output.KeyUsage !== 'SIGN_VERIFY' ||
    output.PublicKey === undefined
  ) {
    throw new ConfigurationError(
      `receipt key ${keyId} must be an ECC_NIST_P256 SIGN_VERIFY key (it is ${output.KeySpec} ${output.KeyUsage})`,
    );
  }
  const jwk = createPublicKey({ key: Buffer.from(output.PublicKey), format: 'der', type: 'spki' }).export({
    format: 'jwk',
  }) as JWK;
  const { kty, crv, x, y } = jwk;
  const canonical = { kty, crv, x, y } as JWK;
  return {
    ...canonical,
    kid: await calculateJwkThumbprint(canonical, 'sha256'),
    alg: RECEIPT_ALGORITHM,
    use: 'sig',
  };
}

/** Public keys are immutable: each is fetched once per container, failures are not cached. */
function cachedPublicKey(client: Pick<KMSClient, 'send'>, keyId: string): () => Promise<ReceiptJwk> {
  let cached: Promise<ReceiptJwk> | undefined;
  return () => {
    cached ??= client
      .send(new GetPublicKeyCommand({ KeyId: keyId }))
      .then((output) => publicJwkOf(output, keyId))
      .catch((error: unknown) => {
        cached = undefined;
        throw error;
      });
    return cached;
  };
}

/**
 * ES256 with a KMS asymmetric key: the message is hashed here and KMS signs the digest
 * (`MessageType: DIGEST`, ECDSA_SHA_256), so any size fits; the DER signature KMS returns becomes the
 * raw `r || s`. Signs receipts (KmsReceiptSigner) and audit digests alike.
 */
export class KmsEs256Signer implements Es256Signer {
  readonly keyId: string;
  readonly #client: Pick<KMSClient, 'send'>;
  readonly #publicKey: () => Promise<ReceiptJwk>;

  constructor(options: { readonly client: Pick<KMSClient, 'send'>; readonly keyId: string }) {
    this.#client = options.client;
    this.keyId = options.keyId;
    this.#publicKey = cachedPublicKey(options.client, options.keyId);
  }

  async thumbprint(): Promise<string> {
    return (await this.#publicKey()).kid;
  }

  async sign(message: Uint8Array): Promise<Uint8Array> {
    // The key is checked (P-256, SIGN_VERIFY) before anything is signed with it.
    await this.#publicKey();
    const { Signature } = await this.#client.send(
      new SignCommand({
        KeyId: this.keyId,
        Message: createHash('sha256').update(message).digest(),
        MessageType: 'DIGEST',
        SigningAlgorithm: 'ECDSA_SHA_256',
      }),
    );
    if (Signature === undefined) throw new Error(`KMS returned no signature for key ${this.keyId}`);
    return derToJoseSignature(Signature);
  }
}

export class KmsReceiptSigner implements ReceiptSigner {
  readonly #signer: KmsEs256Signer;

  constructor(options: { readonly client: Pick<KMSClient, 'send'>; readonly keyId: string }) {
    this.#signer = new KmsEs256Signer(options);
  }

  async sign(claims: ReceiptClaims): Promise<string> {
    const valid = ReceiptClaimsSchema.parse(claims);
    const kid = await this.#signer.thumbprint();
    const header = base64url(JSON.stringify({ alg: RECEIPT_ALGORITHM, typ: RECEIPT_TYPE, kid }));
    const payload = base64url(JSON.stringify(valid));
    const signingInput = `${header}.${payload}`;
    const signature = await this.#signer.sign(Buffer.from(signingInput, 'ascii'));
    return `${signingInput}.${base64url(signature)}`;
  }
}

/** The JWKS of the current key and the retired ones (so receipts signed before a rotation still verify). */
export class KmsReceiptKeys implements ReceiptKeys {
  readonly #keys: readonly (() => Promise<ReceiptJwk>)[];

  constructor(options: { readonly client: Pick<KMSClient, 'send'>; readonly keyIds: readonly string[] }) {
    this.#keys = options.keyIds.map((keyId) => cachedPublicKey(options.client, keyId));
  }

  async jwks(): Promise<{ keys: ReceiptJwk[] }> {
    return { keys: await Promise.all(this.#keys.map((key) => key())) };
  }
}
