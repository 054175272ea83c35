/**
 * The verifier against archives built by the real archiver and digester on the twin's S3, then
 * tampered with as an attacker (or a failing disk) would: each change is found and named by its
 * key; an untouched archive verifies clean.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFile, truncate, writeFile } from 'node:fs/promises';
import { KMSClient } from '@aws-sdk/client-kms';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KmsEs256Signer } from '../../../lambdas/adapters/kms/receipt-signer.ts';
import { S3AuditArchive } from '../../../lambdas/adapters/s3/s3-audit-archive.ts';
import type { AuditRecord } from '../../../lambdas/domain/audit-record.ts';
import type { AuditArchive } from '../../../lambdas/ports/index.ts';
import { archiveAuditRecords } from '../../../lambdas/services/archive-audit-records.ts';
import {
  type VerifyAuditArchiveReport,
  verifyAuditArchive,
} from '../../../lambdas/services/verify-audit-archive.ts';
import { writeAuditDigest } from '../../../lambdas/services/write-audit-digest.ts';
import {
  type ArchiveBucket,
  createLockedBucket,
  startArchiveBucket,
  storedFileOf,
  storedRecord,
  streamed,
} from '../../support/audit-archive.ts';
import { type KmsSigningKey, mockKmsSigningKey } from '../../support/kms-signing-key.ts';

const KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/7e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b';

let server: ArchiveBucket;
let kms: KmsSigningKey;
let publicKeys: Map<string, KeyObject>;
let archive: S3AuditArchive;
let bucket: string;
let count = 0;
let streamPosition = 0;

beforeAll(async () => {
  server = await startArchiveBucket();
  kms = mockKmsSigningKey(KEY_ARN);
  const thumbprint = await signer().thumbprint();
  publicKeys = new Map([[thumbprint, createPublicKey({ key: kms.spki, format: 'der', type: 'spki' })]]);
});
afterAll(async () => {
  kms.kms.restore();
  await server.close();
});
beforeEach(async () => {
  count += 1;
  bucket = `verify-${count}`;
  await createLockedBucket(server.client, bucket);
  archive = new S3AuditArchive({ client: server.client, bucket });
});

function signer() {
  return new KmsEs256Signer({ client: new KMSClient({ region: 'us-east-1' }), keyId: KEY_ARN });
}

const clock = { now: () => new Date() };

async function archiveRecords(records: readonly AuditRecord[]): Promise<string[]> {
  const batch = records.map((record) => {
    streamPosition += 1;
    return streamed(streamPosition, record);
  });
  const result = await archiveAuditRecords({ archive, clock, retentionDays: 1 }, batch);
  expect(result.batchItemFailures).toEqual([]);
  return result.archived.map((object) => object.key);
}

/** A request's records numbered `seqs`, at the current time. */
function request(name: string, seqs: readonly number[]): AuditRecord[] {
  const at = new Date().toISOString();
  return seqs.map((seq) => storedRecord(`invoice-bot:${name}-${count}`, seq, at));
}

async function digest(target: AuditArchive = archive, lookbackSeconds = 300) {
  return writeAuditDigest({
    archive: target,
    signer: signer(),
    clock,
    bucket,
    retentionDays: 1,
    lookbackSeconds,
    maxRecordDelaySeconds: 86_400,
  });
}

function verify(
  input: { from?: Date; to?: Date; keys?: Map<string, KeyObject> } = {},
): Promise<VerifyAuditArchiveReport> {
  return verifyAuditArchive(
    { archive, publicKeys: input.keys ?? publicKeys },
    {
      bucket,
      ...(input.from === undefined ? {} : { from: input.from }),
      ...(input.to === undefined ? {} : { to: input.to }),
    },
  );
}

/** Two requests in two objects, digested: what each test starts from. */
async function anArchive(): Promise<{ objects: string[]; digestKey: string }> {
  const objects = [
    ...(await archiveRecords(request('a', [1, 2, 3]))),
    ...(await archiveRecords(request('b', [1, 2]))),
  ];
  const { key } = await digest();
  return { objects, digestKey: key };
}

async function currentVersion(key: string): Promise<string> {
  for await (const version of archive.versions(key))
    if (version.key === key && version.isLatest) return version.versionId;
  throw new Error(`no ${key}`);
}

const problemsAbout = (report: VerifyAuditArchiveReport, key: string) =>
  report.problems.filter((problem) => problem.key === key).map((problem) => problem.problem);

describe('an archive nobody touched', () => {
  it('verifies clean, with its figures', async () => {
    await anArchive();
    await archiveRecords(request('c', [1]));
    await digest();
    await digest();
    const report = await verify();
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({
      bucket,
      digests: 3,
      objects: 3,
      records: 6,
      requests: 3,
      pendingObjects: 0,
    });
    expect(report.bytes).toBeGreaterThan(0);
    expect(report.megabytesPerSecond).toBeGreaterThan(0);
  });

  it('counts objects newer than the last digest as pending, and reads them for continuity', async () => {
    await archiveRecords(request('a', [1, 2]));
    await digest();
    await archiveRecords(request('a', [3]));
    const report = await verify();
    expect(report.problems).toEqual([]);
    expect(report.pendingObjects).toBe(1);
  });

  it('says when there is no digest to verify against', async () => {
    expect((await verify()).problems).toEqual([
      { key: 'digests/', problem: 'no digest covers the range: nothing can be verified' },
    ]);
  });
});

describe('tampered archive objects', () => {
  it('an object overwritten by a new version', async () => {
    const { objects } = await anArchive();
    await server.client.send(new PutObjectCommand({ Bucket: bucket, Key: objects[0]!, Body: 'rewritten' }));
    const problems = problemsAbout(await verify(), objects[0]!);
    expect(problems).toContainEqual(expect.stringMatching(/^was overwritten: the current version is /));
    // The new version is read too (for the records' continuity): it is not an archive object at all.
    expect(problems).toContainEqual(expect.stringMatching(/^is not a complete gzip stream/));
  });

  it('an object hidden by a delete marker', async () => {
    const { objects } = await anArchive();
    await server.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: objects[1]! }));
    expect(problemsAbout(await verify(), objects[1]!)).toEqual([
      expect.stringMatching(/^is hidden by a delete marker/),
    ]);
  });

  it('a byte flipped where the bytes are stored', async () => {
    const { objects } = await anArchive();
    const file = await storedFileOf(
      server.s3.directory,
      bucket,
      objects[0]!,
      await currentVersion(objects[0]!),
    );
    const bytes = await readFile(file);
    bytes[bytes.length - 12]! ^= 0x01;
    await writeFile(file, bytes);
    // S3 (here the SDK checking the stored checksum S3 sends) or the digest: either names the object.
    expect(problemsAbout(await verify(), objects[0]!)).toContainEqual(
      expect.stringMatching(/^content does not match its digest: SHA-256|Checksum mismatch/),
    );
  });

  it('a truncated object', async () => {
    const { objects } = await anArchive();
    const file = await storedFileOf(
      server.s3.directory,
      bucket,
      objects[1]!,
      await currentVersion(objects[1]!),
    );
    await truncate(file, 20);
    expect(problemsAbout(await verify(), objects[1]!).length).toBeGreaterThan(0);
  });
});

describe('tampered digests', () => {
  it('a digest hidden (deleted from the listing)', async () => {
    await anArchive();
    const second = await digest();
    const third = await digest();
    await server.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: second.key }));
    expect(problemsAbout(await verify(), third.key)).toContainEqual(
      'follows digest 1: digest sequence 2 is missing',
    );
  });

  it('two digests swapped', async () => {
    await anArchive();
    const second = await digest();
    const third = await digest();
    const bytesOf = async (key: string) => {
      const chunks: Buffer[] = [];
      for await (const chunk of (await archive.open(key)).body) chunks.push(Buffer.from(chunk));
      return Buffer.concat(chunks);
    };
    const [two, three] = [await bytesOf(second.key), await bytesOf(third.key)];
    await server.client.send(new PutObjectCommand({ Bucket: bucket, Key: second.key, Body: three }));
    await server.client.send(new PutObjectCommand({ Bucket: bucket, Key: third.key, Body: two }));
    const report = await verify();
    expect(problemsAbout(report, second.key)).toContainEqual(
      expect.stringMatching(/^is stored under the wrong key/),
    );
    expect(problemsAbout(report, third.key)).toContainEqual(
      expect.stringMatching(/^is stored under the wrong key/),
    );
  });

  it('a digest altered (an object dropped from its list)', async () => {
    const { digestKey } = await anArchive();
    const chunks: Buffer[] = [];
    for await (const chunk of (await archive.open(digestKey)).body) chunks.push(Buffer.from(chunk));
    const altered = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    altered.objects = altered.objects.slice(1);
    await server.client.send(
      new PutObjectCommand({ Bucket: bucket, Key: digestKey, Body: JSON.stringify(altered) }),
    );
    const report = await verify();
    expect(problemsAbout(report, digestKey)).toContainEqual(
      expect.stringMatching(/^signature does not verify/),
    );
  });

  it('digests signed by a key that is not Countersign’s', async () => {
    const { digestKey } = await anArchive();
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const report = await verify({ keys: new Map([['someone-else', other]]) });
    expect(problemsAbout(report, digestKey)).toEqual([
      expect.stringMatching(/^is signed by a key that is not among the public keys/),
    ]);
  });
});

describe('records and digests that do not add up', () => {
  it('a hole in a request’s records: one never reached the archive', async () => {
    await archiveRecords(request('holey', [1, 2, 4, 5, 7]));
    await digest();
    const report = await verify();
    expect(report.problems).toEqual([
      { key: `request invoice-bot:holey-${count}`, problem: 'records 3, 6 are missing (have 5 up to 7)' },
    ]);
  });

  it('two different records under one number', async () => {
    const [first] = request('twice', [1]);
    await archiveRecords([first!]);
    await archiveRecords([{ ...first!, actor: 'someone-else' }]);
    await digest();
    expect((await verify()).problems).toContainEqual({
      key: `request invoice-bot:twice-${count}`,
      problem: 'two different records carry sequence 1',
    });
  });

  it('an object no digest named (a digester that missed it)', async () => {
    await digest(archive, 1);
    const [missed] = await archiveRecords(request('missed', [1]));
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const blind: AuditArchive = {
      create: archive.create.bind(archive),
      keys: archive.keys.bind(archive),
      open: archive.open.bind(archive),
      async *versions(prefix, options) {
        for await (const version of archive.versions(prefix, options))
          if (version.key !== missed) yield version;
      },
    };
    await digest(blind, 1);
    await digest(archive, 1);
    expect(problemsAbout(await verify(), missed!)).toEqual([expect.stringMatching(/is named by no digest$/)]);
  });

  it('verifies a range: the chain from before it, the objects of its digests, numbers not from 1', async () => {
    await archiveRecords(request('early', [1, 2]));
    const first = await digest();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const from = new Date();
    const late = request('early', [3]);
    await archiveRecords(late);
    await digest();
    const report = await verify({ from });
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ digests: 1, records: 1 });
    expect(report.firstDigest).not.toBe(first.key);
    const before = await verify({ to: new Date(Date.parse(first.digest.to) - 1) });
    expect(before.digests).toBe(1);
  });
});
