/**
 * KMS on the twin, checked against moto's KMS with one scenario through the real SDK client: a P-256
 * signing key signs (RAW and DIGEST) what its public key verifies, Verify accepts the signature and
 * refuses another, and a symmetric key or an unknown key are refused with the same error codes.
 * The twin's keys come from the template (the stack's receipt key and data key); moto's are created
 * with CreateKey, as the only way it has keys. Without moto the twin half runs alone (one line says so).
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  GetPublicKeyCommand,
  KMSClient,
  SignCommand,
  VerifyCommand,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KMS_KEYS_FILE } from '../../../local/aws/kms/service.ts';
import type { RunningTwin } from '../../../local/twin/index.ts';
import { checkOracle, type RunningMoto, startMoto } from '../../support/oracles.ts';
import { removeDir, startE2eTwin, tempDir } from '../e2e/harness.ts';

interface Target {
  readonly name: string;
  readonly client: KMSClient;
  readonly signingKey: string;
  readonly symmetricKey: string;
}

const moto = checkOracle('moto_server', 'the KMS scenario against moto (the twin half runs)');
let twin: RunningTwin;
let dataDir: string;
let motoServer: RunningMoto | undefined;
const targets: Target[] = [];

beforeAll(async () => {
  dataDir = await tempDir('kms');
  twin = await startE2eTwin({ dataDir });
  const twinClient = new KMSClient({
    endpoint: twin.endpoint,
    region: twin.region,
    credentials: { ...twin.operatorCredentials },
  });
  const keys = twin.stack.resources.filter((resource) => resource.type === 'AWS::KMS::Key');
  targets.push({
    name: 'twin',
    client: twinClient,
    signingKey: keys.find((key) => key.properties().KeySpec === 'ECC_NIST_P256')!.arn,
    symmetricKey: keys.find((key) => key.properties().KeySpec === undefined)!.name,
  });
  if (moto.available) {
    motoServer = await startMoto();
    const client = new KMSClient({
      endpoint: motoServer.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    const signing = await client.send(
      new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }),
    );
    const symmetric = await client.send(new CreateKeyCommand({}));
    targets.push({
      name: 'moto',
      client,
      signingKey: signing.KeyMetadata!.Arn!,
      symmetricKey: symmetric.KeyMetadata!.KeyId!,
    });
  }
}, 120_000);

afterAll(async () => {
  for (const target of targets) target.client.destroy();
  await motoServer?.stop();
  await twin?.stop();
  if (dataDir !== undefined) await removeDir(dataDir);
});

async function errorName(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'no error',
    (error: Error) => error.name,
  );
}

/** What one run of the scenario observes, in a form both services must agree on. */
async function scenario(target: Target) {
  const { client, signingKey, symmetricKey } = target;
  const described = await client.send(new DescribeKeyCommand({ KeyId: signingKey }));
  const publicKey = await client.send(new GetPublicKeyCommand({ KeyId: signingKey }));
  const spki = createPublicKey({ key: Buffer.from(publicKey.PublicKey!), format: 'der', type: 'spki' });
  const message = Buffer.from('countersign receipt signing input');
  const digest = createHash('sha256').update(message).digest();
  const raw = await client.send(
    new SignCommand({
      KeyId: signingKey,
      Message: message,
      MessageType: 'RAW',
      SigningAlgorithm: 'ECDSA_SHA_256',
    }),
  );
  const ofDigest = await client.send(
    new SignCommand({
      KeyId: signingKey,
      Message: digest,
      MessageType: 'DIGEST',
      SigningAlgorithm: 'ECDSA_SHA_256',
    }),
  );
  const verified = await client.send(
    new VerifyCommand({
      KeyId: signingKey,
      Message: digest,
      MessageType: 'DIGEST',
      Signature: ofDigest.Signature!,
      SigningAlgorithm: 'ECDSA_SHA_256',
    }),
  );
  const forged = await errorName(
    client.send(
      new VerifyCommand({
        KeyId: signingKey,
        Message: Buffer.from('something else'),
        MessageType: 'RAW',
        Signature: raw.Signature!,
        SigningAlgorithm: 'ECDSA_SHA_256',
      }),
    ),
  );
  return {
    keySpec: described.KeyMetadata?.KeySpec,
    keyUsage: described.KeyMetadata?.KeyUsage,
    signingAlgorithms: described.KeyMetadata?.SigningAlgorithms,
    publicKey: {
      keySpec: publicKey.KeySpec,
      keyUsage: publicKey.KeyUsage,
      curve: spki.asymmetricKeyDetails?.namedCurve,
    },
    rawVerifiesLocally: verify('sha256', message, spki, Buffer.from(raw.Signature!)),
    digestVerifiesLocally: verify('sha256', message, spki, Buffer.from(ofDigest.Signature!)),
    signedWithKeyArn: raw.KeyId === described.KeyMetadata?.Arn,
    verified: verified.SignatureValid,
    forged,
    symmetricSign: await errorName(
      client.send(
        new SignCommand({ KeyId: symmetricKey, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }),
      ),
    ),
    unknownKey: await errorName(
      client.send(
        new SignCommand({
          KeyId: 'arn:aws:kms:us-east-1:000000000000:key/00000000-0000-4000-8000-000000000000',
          Message: message,
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      ),
    ),
  };
}

const EXPECTED = {
  keySpec: 'ECC_NIST_P256',
  keyUsage: 'SIGN_VERIFY',
  signingAlgorithms: ['ECDSA_SHA_256'],
  publicKey: { keySpec: 'ECC_NIST_P256', keyUsage: 'SIGN_VERIFY', curve: 'prime256v1' },
  rawVerifiesLocally: true,
  digestVerifiesLocally: true,
  signedWithKeyArn: true,
  verified: true,
  forged: 'KMSInvalidSignatureException',
  symmetricSign: 'InvalidKeyUsageException',
  unknownKey: 'NotFoundException',
};

/**
 * Where moto 5.2.1 departs from KMS's documented behaviour, the twin follows the documentation
 * (KMS API Reference: Sign, Verify, GetPublicKey, InvalidKeyUsageException) and these steps are
 * compared with what moto is known to answer instead of copying it.
 */
const MOTO_DEVIATIONS = {
  // Sign with MessageType DIGEST signs the digest as given; moto hashes it once more.
  digestVerifiesLocally: false,
  // Verify of a signature that does not verify fails with KMSInvalidSignatureException; moto answers SignatureValid: false.
  forged: 'no error',
  // GetPublicKey returns KeySpec (CustomerMasterKeySpec is its deprecated twin); moto returns only the latter.
  publicKey: { keySpec: undefined, keyUsage: 'SIGN_VERIFY', curve: 'prime256v1' },
  // A key whose KeyUsage is not SIGN_VERIFY is refused with InvalidKeyUsageException; moto says ValidationException.
  symmetricSign: 'ValidationException',
};

describe('KMS signing keys, the twin against moto', () => {
  it('sign, publish their public key, verify and refuse alike', async () => {
    const observed = Object.fromEntries(
      await Promise.all(targets.map(async (target) => [target.name, await scenario(target)] as const)),
    );
    expect(observed.twin).toEqual(EXPECTED);
    if (observed.moto !== undefined) expect(observed.moto).toEqual({ ...observed.twin, ...MOTO_DEVIATIONS });
  });

  it('refuses a digest of the wrong length and an algorithm the key cannot use', async () => {
    const target = targets.find((candidate) => candidate.name === 'twin')!;
    const sign = (input: Partial<ConstructorParameters<typeof SignCommand>[0]>) =>
      errorName(
        target.client.send(
          new SignCommand({
            KeyId: target.signingKey,
            Message: Buffer.alloc(31),
            SigningAlgorithm: 'ECDSA_SHA_256',
            ...input,
          }),
        ),
      );
    expect(await sign({ MessageType: 'DIGEST' })).toBe('ValidationException');
    expect(await sign({ SigningAlgorithm: 'RSASSA_PSS_SHA_256' })).toBe('InvalidKeyUsageException');
    expect(await errorName(target.client.send(new GetPublicKeyCommand({ KeyId: target.symmetricKey })))).toBe(
      'UnsupportedOperationException',
    );
  });
  it('keep the twin’s key material in the data dir, readable by its owner only, across restarts', async () => {
    const target = targets.find((candidate) => candidate.name === 'twin')!;
    const before = await target.client.send(new GetPublicKeyCommand({ KeyId: target.signingKey }));
    const file = await stat(join(dataDir, KMS_KEYS_FILE));
    expect(file.mode & 0o777).toBe(0o600);
    await twin.stop();
    twin = await startE2eTwin({ dataDir });
    const again = new KMSClient({
      endpoint: twin.endpoint,
      region: twin.region,
      credentials: { ...twin.operatorCredentials },
    });
    const after = await again.send(new GetPublicKeyCommand({ KeyId: target.signingKey }));
    again.destroy();
    expect(Buffer.from(after.PublicKey!)).toEqual(Buffer.from(before.PublicKey!));
  }, 120_000);
});
