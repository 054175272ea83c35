/**
 * What the S3 engine stores, one zod schema per record: a bucket's configuration and each version
 * of each object (or delete marker). The same schemas read the records back at start, so a record
 * that does not match stops the twin with the file's name instead of being served wrong.
 */
import * as z from 'zod';
import { ChecksumAlgorithm } from './checksums.ts';

export const ObjectLockMode = { governance: 'GOVERNANCE', compliance: 'COMPLIANCE' } as const;
export const ObjectLockModeSchema = z.enum([ObjectLockMode.governance, ObjectLockMode.compliance]);
export type ObjectLockMode = z.infer<typeof ObjectLockModeSchema>;

export const VersioningStatus = { enabled: 'Enabled', suspended: 'Suspended' } as const;
export const VersioningStatusSchema = z.enum([VersioningStatus.enabled, VersioningStatus.suspended]);
export type VersioningStatus = z.infer<typeof VersioningStatusSchema>;

/** The version id S3 gives objects written while versioning is off or suspended. */
export const NULL_VERSION_ID = 'null';

const IsoDate = z.iso.datetime();

export const Retention = z.strictObject({ mode: ObjectLockModeSchema, retainUntil: IsoDate });
export type Retention = z.infer<typeof Retention>;

export const DefaultRetention = z.union([
  z.strictObject({ mode: ObjectLockModeSchema, days: z.int().positive() }),
  z.strictObject({ mode: ObjectLockModeSchema, years: z.int().positive() }),
]);
export type DefaultRetention = z.infer<typeof DefaultRetention>;

export const PublicAccessBlock = z.strictObject({
  blockPublicAcls: z.boolean(),
  ignorePublicAcls: z.boolean(),
  blockPublicPolicy: z.boolean(),
  restrictPublicBuckets: z.boolean(),
});
export type PublicAccessBlock = z.infer<typeof PublicAccessBlock>;

export const BucketRecord = z.strictObject({
  name: z.string(),
  createdAt: IsoDate,
  region: z.string(),
  versioning: VersioningStatusSchema.optional(),
  objectLockEnabled: z.boolean(),
  defaultRetention: DefaultRetention.optional(),
  /** The bucket policy document exactly as it was put. */
  policy: z.string().optional(),
  publicAccessBlock: PublicAccessBlock.optional(),
});
export type BucketRecord = z.infer<typeof BucketRecord>;

/** The representation headers S3 stores with an object and returns on GET and HEAD. */
export const ObjectHeaders = z.strictObject({
  contentType: z.string(),
  contentEncoding: z.string().optional(),
  contentDisposition: z.string().optional(),
  contentLanguage: z.string().optional(),
  cacheControl: z.string().optional(),
  expires: z.string().optional(),
});
export type ObjectHeaders = z.infer<typeof ObjectHeaders>;

const VersionBase = {
  key: z.string(),
  versionId: z.string(),
  /** Order of writes across the store: a key's newest version has the highest. */
  sequence: z.int().nonnegative(),
  lastModified: IsoDate,
};

export const ObjectVersion = z.strictObject({
  ...VersionBase,
  kind: z.literal('object'),
  /** Name of the content file under the bucket's `data/`; never derived from the key. */
  storageId: z.string().regex(/^[0-9a-f]{32}$/),
  size: z.int().nonnegative(),
  md5Hex: z.string().regex(/^[0-9a-f]{32}$/),
  checksum: z.strictObject({ algorithm: z.enum(Object.values(ChecksumAlgorithm)), value: z.string() }),
  headers: ObjectHeaders,
  /** `x-amz-meta-*` with the prefix removed, names lower-cased. */
  metadata: z.record(z.string(), z.string()),
  storageClass: z.string(),
  retention: Retention.optional(),
  /** Undefined until a legal hold was first set on the version (S3 then has no configuration to show). */
  legalHold: z.boolean().optional(),
});
export type ObjectVersion = z.infer<typeof ObjectVersion>;

export const DeleteMarker = z.strictObject({ ...VersionBase, kind: z.literal('deleteMarker') });
export type DeleteMarker = z.infer<typeof DeleteMarker>;

export const VersionRecord = z.discriminatedUnion('kind', [ObjectVersion, DeleteMarker]);
export type VersionRecord = z.infer<typeof VersionRecord>;

export function etagOf(version: ObjectVersion): string {
  return `"${version.md5Hex}"`;
}
