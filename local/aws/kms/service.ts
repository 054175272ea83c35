/**
 * KMS on the twin (JSON 1.1, `X-Amz-Target: TrentService.*`): DescribeKey, GetPublicKey, Sign and
 * Verify for the template's `AWS::KMS::Key`s, so the very same KMS adapter that signs receipts in AWS
 * signs them locally. An ECC_NIST_P256 key's material is a P-256 key created on first use and kept
 * in the data dir (mode 0600, written atomically), so receipts verify across restarts; symmetric
 * keys are described but cannot sign. Errors carry KMS's codes (NotFoundException,
 * InvalidKeyUsageException, UnsupportedOperationException, KMSInvalidSignatureException,
 * ValidationException), so SDK clients raise the exception classes they raise against AWS.
 * Served by the twin's AWS front, which verified the caller's signature and asked the composition
 * whether it may call KMS; registered in local/twin/aws-services.ts.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { join } from 'node:path';
import { p256 } from '@noble/curves/nist.js';
import * as z from 'zod';
import { readJsonFile, writeJsonFileAtomic } from '../files.ts';
import { AwsProtocolError } from '../front/errors.ts';
import { jsonService } from '../front/json-service.ts';
import type { JsonAwsService } from '../front/service.ts';

export const KMS_KEYS_FILE = join('kms', 'keys.json');
export const KMS_TARGET_PREFIX = 'TrentService';

/** A key the template declares (an `AWS::KMS::Key`), with the id and ARN its `Ref` / `Arn` resolve to. */
export interface TemplateKey {
  readonly keyId: string;
  readonly arn: string;
  /** @default 'SYMMETRIC_DEFAULT' */
  readonly keySpec?: string;
  /** @default 'ENCRYPT_DECRYPT' */
  readonly keyUsage?: string;
  readonly description?: string;
}

/** KMS's answer to a request it refuses: the code the SDK maps to its exception class. */
function kmsError(code: string, message: string): AwsProtocolError {
  return new AwsProtocolError(code, message, 400);
}

const SIGNING_ALGORITHMS: Readonly<Record<string, readonly string[]>> = { ECC_NIST_P256: ['ECDSA_SHA_256'] };
/** The longest RAW message KMS signs; larger ones must be sent as a DIGEST. */
const MAX_RAW_MESSAGE_BYTES = 4096;
const SHA_256_BYTES = 32;

const StoredKeys = z.object({
  /** PKCS#8 DER, base64, of each key that has material, by key id. */
  material: z.record(z.string(), z.string()),
  createdAt: z.record(z.string(), z.number()),
});
type StoredKeys = z.infer<typeof StoredKeys>;

const blob = z.string().transform((text, context) => {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    context.addIssue({ code: 'custom', message: 'is not base64' });
    return z.NEVER;
  }
  return Buffer.from(text, 'base64');
});
const SignInput = z.object({
  KeyId: z.string().min(1),
  Message: blob,
  MessageType: z.enum(['RAW', 'DIGEST']).default('RAW'),
  SigningAlgorithm: z.string().min(1),
});
const VerifyInput = SignInput.extend({ Signature: blob });
const KeyInput = z.object({ KeyId: z.string().min(1) });

function parseInput<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const result = schema.safeParse(input);
  if (!result.success) {
    const problem = result.error.issues[0]!;
    throw kmsError(
      'ValidationException',
      `1 validation error detected: Value at '${problem.path.join('.')}' failed to satisfy constraint: ${problem.message}`,
    );
  }
  return result.data;
}

export class LocalKms {
  readonly #file: string;
  readonly #keys: readonly TemplateKey[];
  readonly #stored: StoredKeys;
  readonly #privateKeys = new Map<string, KeyObject>();
  #writes: Promise<void> = Promise.resolve();

  private constructor(file: string, keys: readonly TemplateKey[], stored: StoredKeys) {
    this.#file = file;
    this.#keys = keys;
    this.#stored = stored;
  }

  static async open(options: {
    readonly dataDir: string;
    readonly keys: readonly TemplateKey[];
  }): Promise<LocalKms> {
    const file = join(options.dataDir, KMS_KEYS_FILE);
    const stored = StoredKeys.parse((await readJsonFile(file)) ?? { material: {}, createdAt: {} });
    return new LocalKms(file, options.keys, stored);
  }

  describeKeyOperation(input: unknown) {
    return this.describeKey(parseInput(KeyInput, input).KeyId);
  }

  getPublicKeyOperation(input: unknown) {
    return this.getPublicKey(parseInput(KeyInput, input).KeyId);
  }

  signOperation(input: unknown) {
    return this.sign(parseInput(SignInput, input));
  }

  verifyOperation(input: unknown) {
    return this.verify(parseInput(VerifyInput, input));
  }

  #key(keyId: string): TemplateKey {
    const key = this.#keys.find((candidate) => candidate.keyId === keyId || candidate.arn === keyId);
    if (key === undefined) throw kmsError('NotFoundException', `Key '${keyId}' does not exist`);
    return key;
  }

  #createdAt(key: TemplateKey): number {
    return this.#stored.createdAt[key.keyId] ?? 0;
  }

  describeKey(keyId: string) {
    const key = this.#key(keyId);
    const keySpec = key.keySpec ?? 'SYMMETRIC_DEFAULT';
    const keyUsage = key.keyUsage ?? 'ENCRYPT_DECRYPT';
    const signing = SIGNING_ALGORITHMS[keySpec];
    return {
      KeyMetadata: {
        AWSAccountId: key.arn.split(':')[4],
        KeyId: key.keyId,
        Arn: key.arn,
        CreationDate: this.#createdAt(key),
        Enabled: true,
        Description: key.description ?? '',
        KeyUsage: keyUsage,
        KeyState: 'Enabled',
        Origin: 'AWS_KMS',
        KeyManager: 'CUSTOMER',
        CustomerMasterKeySpec: keySpec,
        KeySpec: keySpec,
        MultiRegion: false,
        ...(keyUsage === 'SIGN_VERIFY' && signing !== undefined
          ? { SigningAlgorithms: [...signing] }
          : { EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'] }),
      },
    };
  }

  /** The P-256 private key of a signing key, created and persisted on first use. */
  async #signingKey(key: TemplateKey, operation: string): Promise<KeyObject> {
    if (
      (key.keyUsage ?? 'ENCRYPT_DECRYPT') !== 'SIGN_VERIFY' ||
      SIGNING_ALGORITHMS[key.keySpec ?? ''] === undefined
    ) {
      if (operation === 'GetPublicKey') {
        throw kmsError(
          'UnsupportedOperationException',
          `${key.arn} key usage is ENCRYPT_DECRYPT which is not valid for GetPublicKey.`,
        );
      }
      throw kmsError(
        'InvalidKeyUsageException',
        `${key.arn} key usage is ${key.keyUsage ?? 'ENCRYPT_DECRYPT'} which is not valid for ${operation}.`,
      );
    }
    const cached = this.#privateKeys.get(key.keyId);
    if (cached !== undefined) return cached;
    // Serialized with the writes: two first uses at once must not mint two different keys.
    const created = this.#writes.then(async () => {
      const existing = this.#stored.material[key.keyId];
      if (existing !== undefined)
        return createPrivateKey({ key: Buffer.from(existing, 'base64'), format: 'der', type: 'pkcs8' });
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      this.#stored.material[key.keyId] = privateKey
        .export({ format: 'der', type: 'pkcs8' })
        .toString('base64');
      this.#stored.createdAt[key.keyId] = Date.now() / 1000;
      await writeJsonFileAtomic(this.#file, this.#stored, 0o600);
      return privateKey;
    });
    this.#writes = created.then(
      () => undefined,
      () => undefined,
    );
    const privateKey = await created;
    this.#privateKeys.set(key.keyId, privateKey);
    return privateKey;
  }

  async getPublicKey(keyId: string) {
    const key = this.#key(keyId);
    const privateKey = await this.#signingKey(key, 'GetPublicKey');
    const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
    return {
      KeyId: key.arn,
      PublicKey: spki.toString('base64'),
      CustomerMasterKeySpec: key.keySpec,
      KeySpec: key.keySpec,
      KeyUsage: key.keyUsage,
      SigningAlgorithms: [...(SIGNING_ALGORITHMS[key.keySpec ?? ''] ?? [])],
    };
  }

  /** The digest signed: the message itself (DIGEST, of the algorithm's length) or its SHA-256 (RAW). */
  #digest(input: z.infer<typeof SignInput>, key: TemplateKey): Buffer {
    if (!(SIGNING_ALGORITHMS[key.keySpec ?? ''] ?? []).includes(input.SigningAlgorithm)) {
      throw kmsError(
        'InvalidKeyUsageException',
        `Algorithm ${input.SigningAlgorithm} is incompatible with key spec ${key.keySpec}.`,
      );
    }
    if (input.MessageType === 'DIGEST') {
      if (input.Message.length !== SHA_256_BYTES) {
        throw kmsError(
          'ValidationException',
          `Digest is invalid length for algorithm ${input.SigningAlgorithm}.`,
        );
      }
      return input.Message;
    }
    if (input.Message.length === 0 || input.Message.length > MAX_RAW_MESSAGE_BYTES) {
      throw kmsError(
        'ValidationException',
        "1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length between 1 and 4096",
      );
    }
    return createHash('sha256').update(input.Message).digest();
  }

  async sign(input: z.infer<typeof SignInput>) {
    const key = this.#key(input.KeyId);
    const privateKey = await this.#signingKey(key, 'Sign');
    const digest = this.#digest(input, key);
    const signature = p256.sign(digest, secretScalarOf(privateKey), { prehash: false, format: 'der' });
    return {
      KeyId: key.arn,
      Signature: Buffer.from(signature).toString('base64'),
      SigningAlgorithm: input.SigningAlgorithm,
    };
  }

  async verify(input: z.infer<typeof VerifyInput>) {
    const key = this.#key(input.KeyId);
    const privateKey = await this.#signingKey(key, 'Verify');
    const digest = this.#digest(input, key);
    let valid = false;
    try {
      // Any valid ECDSA signature verifies, low S or high, as in KMS.
      valid = p256.verify(input.Signature, digest, publicPointOf(privateKey), {
        prehash: false,
        format: 'der',
        lowS: false,
      });
    } catch {
      valid = false;
    }
    if (!valid) throw kmsError('KMSInvalidSignatureException', 'The signature is invalid.');
    return { KeyId: key.arn, SignatureValid: true, SigningAlgorithm: input.SigningAlgorithm };
  }
}

function secretScalarOf(privateKey: KeyObject): Uint8Array {
  return Buffer.from((privateKey.export({ format: 'jwk' }) as { d: string }).d, 'base64url');
}

function publicPointOf(privateKey: KeyObject): Uint8Array {
  return p256.getPublicKey(secretScalarOf(privateKey), false);
}

/** KMS's JSON protocol on the front: JSON 1.1, `X-Amz-Target: TrentService.<Operation>`. */
export function kmsService(kms: LocalKms): JsonAwsService {
  return jsonService({
    signingName: 'kms',
    targetPrefix: KMS_TARGET_PREFIX,
    jsonVersion: '1.1',
    operations: {
      DescribeKey: (input) => kms.describeKeyOperation(input),
      GetPublicKey: (input) => kms.getPublicKeyOperation(input),
      Sign: (input) => kms.signOperation(input),
      Verify: (input) => kms.verifyOperation(input),
    },
  });
}
