/**
 * The digester on the twin's S3 through the real S3 adapter, signing through the real KMS adapter
 * (KMS answered at the SDK): a chain from the first digest on, every object named exactly once —
 * including one still being written when a run listed, and one landing while a run runs — an empty
 * period still digested, and concurrent runs that never fork the chain.
 */
import { createPublicKey } from 'node:crypto';
import { KMSClient } from '@aws-sdk/client-kms';
import { GetObjectRetentionCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KmsEs256Signer } from '../../../lambdas/adapters/kms/receipt-signer.ts';
import { S3AuditArchive } from '../../../lambdas/adapters/s3/s3-audit-archive.ts';
import {
  type AuditDigest,
  digestSignatureHolds,
  parseDigestKey,
  partitionOf,
} from '../../../lambdas/domain/audit-archive.ts';
import { ValidationError } from '../../../lambdas/domain/errors.ts';
import type { ArchiveVersion, AuditArchive } from '../../../lambdas/ports/index.ts';
import { archiveAuditRecords } from '../../../lambdas/services/archive-audit-records.ts';
import { readDigest } from '../../../lambdas/services/archive-objects.ts';
import { type WriteAuditDigestDeps, writeAuditDigest } from '../../../lambdas/services/write-audit-digest.ts';
import {
  type ArchiveBucket,
  createLockedBucket,
  startArchiveBucket,
  storedRecord,
  streamed,
} from '../../support/audit-archive.ts';
import { type KmsSigningKey, mockKmsSigningKey } from '../../support/kms-signing-key.ts';

const DIGEST_KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/5d9a1c2e-0f3b-4a6d-8e7f-1a2b3c4d5e6f';

let server: ArchiveBucket;
let kms: KmsSigningKey;
let archive: S3AuditArchive;
let bucketName: string;
let buckets = 0;
let sequence = 0;

beforeAll(async () => {
  server = await startArchiveBucket();
  kms = mockKmsSigningKey(DIGEST_KEY_ARN);
});
afterAll(async () => {
  kms.kms.restore();
  await server.close();
});
beforeEach(async () => {
  // A bucket per test: each starts its own chain.
  buckets += 1;
  bucketName = `digests-${buckets}`;
  await createLockedBucket(server.client, bucketName);
  archive = new S3AuditArchive({ client: server.client, bucket: bucketName });
});

const clock = { now: () => new Date() };
const deps = (overrides: Partial<WriteAuditDigestDeps> = {}): WriteAuditDigestDeps => ({
  archive,
  signer: new KmsEs256Signer({ client: new KMSClient({ region: 'us-east-1' }), keyId: DIGEST_KEY_ARN }),
  clock,
  bucket: bucketName,
  retentionDays: 1,
  lookbackSeconds: 300,
  maxRecordDelaySeconds: 86_400,
  ...overrides,
});

/** Archives `count` records of a fresh request, at the current time; returns the object keys. */
async function archiveSome(count = 2): Promise<string[]> {
  sequence += 1;
  const at = new Date().toISOString();
  const records = Array.from({ length: count }, (_, index) =>
    streamed(sequence * 1000 + index, storedRecord(`invoice-bot:digest-${sequence}`, index + 1, at)),
  );
  const result = await archiveAuditRecords({ archive, clock, retentionDays: 1 }, records);
  expect(result.batchItemFailures).toEqual([]);
  return result.archived.map((object) => object.key);
}

const publicKey = () => createPublicKey({ key: kms.spki, format: 'der', type: 'spki' });
const named = (digest: AuditDigest) => digest.objects.map((object) => object.key);

describe('the chain', () => {
  it('starts with a first digest that names every object, signed, stored under its sequence with retention', async () => {
    const keys = [...(await archiveSome()), ...(await archiveSome(3))];
    const { key, digest, written } = await writeAuditDigest(deps());
    expect(written).toBe(true);
    expect(parseDigestKey(key)).toEqual({ dt: digest.from.slice(0, 10), sequence: 1 });
    expect(digest).toMatchObject({
      schemaVersion: 1,
      sequence: 1,
      bucket: bucketName,
      previous: null,
      lookbackSeconds: 300,
      signingKeyId: DIGEST_KEY_ARN,
      signatureAlgorithm: 'ES256',
    });
    expect(named(digest).sort()).toEqual(keys.sort());
    expect(digest.objects.map((object) => object.recordCount).sort()).toEqual([2, 3]);
    expect(digest.from <= digest.objects[0]!.lastModified).toBe(true);
    expect(digestSignatureHolds(digest, publicKey())).toBe(true);
    // Stored as it was signed, under COMPLIANCE retention.
    expect((await readDigest(archive, key)).digest).toEqual(digest);
    const retention = await server.client.send(
      new GetObjectRetentionCommand({ Bucket: bucketName, Key: key }),
    );
    expect(retention.Retention?.Mode).toBe('COMPLIANCE');
  });

  it('digests an empty period too, and names each new object once, linked to the digest before', async () => {
    await archiveSome();
    const first = await writeAuditDigest(deps());
    const empty = await writeAuditDigest(deps());
    const stored = await readDigest(archive, first.key);
    expect(empty.digest).toMatchObject({
      sequence: 2,
      from: first.digest.to,
      objects: [],
      previous: { key: first.key, sha256: stored.sha256, signature: first.digest.signature },
    });
    const fresh = await archiveSome();
    const third = await writeAuditDigest(deps());
    expect(third.digest.sequence).toBe(3);
    expect(named(third.digest)).toEqual(fresh);
    expect((await writeAuditDigest(deps())).digest.objects).toEqual([]);
  });
});

describe('objects written while the digester runs', () => {
  it('names an object that was timestamped but not yet listable when a run listed in the next run, once', async () => {
    await writeAuditDigest(deps());
    const [late] = await archiveSome();
    // This run's listing does not see the object yet (a write in flight), though it began before `to`.
    const blind: AuditArchive = {
      ...archive,
      create: archive.create.bind(archive),
      keys: archive.keys.bind(archive),
      open: archive.open.bind(archive),
      async *versions(prefix, options) {
        for await (const version of archive.versions(prefix, options))
          if (version.key !== late) yield version;
      },
    };
    const missed = await writeAuditDigest(deps({ archive: blind }));
    expect(named(missed.digest)).toEqual([]);
    const next = await writeAuditDigest(deps());
    expect(named(next.digest)).toEqual([late]);
    expect(named((await writeAuditDigest(deps())).digest)).toEqual([]);
  });

  it('leaves an object that lands during a run (after its `to`) to the next run', async () => {
    await writeAuditDigest(deps());
    let landed: string | undefined;
    const busy: AuditArchive = {
      ...archive,
      create: archive.create.bind(archive),
      keys: archive.keys.bind(archive),
      open: archive.open.bind(archive),
      async *versions(prefix, options) {
        // The archiver writes while this run lists.
        landed ??= (await archiveSome())[0];
        yield* archive.versions(prefix, options) as AsyncIterable<ArchiveVersion>;
      },
    };
    const during = await writeAuditDigest(deps({ archive: busy }));
    expect(landed).toBeDefined();
    expect(named(during.digest)).not.toContain(landed);
    expect(named((await writeAuditDigest(deps())).digest)).toEqual([landed]);
  });

  it('never forks the chain when runs overlap: the second finds the sequence written', async () => {
    await archiveSome();
    await writeAuditDigest(deps());
    await archiveSome();
    // Both runs have found the last digest before either writes: they race for the same sequence.
    let arrived = 0;
    let release!: () => void;
    const bothListed = new Promise<void>((resolve) => {
      release = resolve;
    });
    const racing: AuditArchive = {
      ...archive,
      create: archive.create.bind(archive),
      versions: archive.versions.bind(archive),
      open: archive.open.bind(archive),
      async *keys(prefix, options) {
        yield* archive.keys(prefix, options);
        arrived += 1;
        if (arrived === 2) release();
        await bothListed;
      },
    };
    // Their clocks differ, so their digests do: the second meets other content under the key.
    const later = { now: () => new Date(Date.now() + 1000) };
    const results = await Promise.all([
      writeAuditDigest(deps({ archive: racing })),
      writeAuditDigest(deps({ archive: racing, clock: later })),
    ]);
    expect(results.map((result) => result.written).sort()).toEqual([false, true]);
    expect(new Set(results.map((result) => result.key)).size).toBe(1);
    const digests: string[] = [];
    for await (const key of archive.keys('digests/')) digests.push(key);
    expect(digests.map((key) => parseDigestKey(key)?.sequence)).toEqual([1, 2]);
  });
});

describe('what it refuses', () => {
  it('does not extend a chain whose last digest it cannot read', async () => {
    const first = await writeAuditDigest(deps());
    const forged = first.key.replace(/\d{12}\.json$/, '000000000002.json');
    await archive.create(forged, Buffer.from('{"not":"a digest"}\n'), {
      contentType: 'application/json',
      retainUntil: new Date(Date.now() + 86_400_000),
    });
    await expect(writeAuditDigest(deps())).rejects.toBeInstanceOf(ValidationError);
  });

  it('keeps to the partitions records can be in', () => {
    expect(partitionOf('2025-06-01T23:59:59.999Z')).toEqual({ dt: '2025-06-01', hour: '23' });
  });
});
