/** What every S3 operation is given: the store, the engine's settings and the parsed request. */
import { noSuchBucket, S3Error } from './errors.ts';
import type { BucketRecord } from './model.ts';
import type { S3Request } from './protocol.ts';
import type { BucketState, S3Store } from './store.ts';

export interface EngineSettings {
  readonly store: S3Store;
  /** The region buckets are created in (`x-amz-bucket-region`, LocationConstraint). */
  readonly region: string;
  /** The canonical user id of the account that owns every bucket. */
  readonly ownerId: string;
  readonly now: () => Date;
}

export interface OperationInput {
  readonly request: S3Request<unknown>;
  readonly query: ReadonlyMap<string, string>;
  readonly bucket: string;
  readonly key: string;
  readonly requestId: string;
  /**
   * CloudTrail-style `requestParameters` for the privileged-call hook: the router fills in what the
   * request names, an operation adds what only its body says (the policy document).
   */
  readonly audit: Record<string, unknown>;
  /**
   * Refuses (AccessDenied) when the bucket's policy explicitly denies `action` on the bucket or on
   * `key`: for operations that act on several objects (DeleteObjects), per object.
   */
  readonly authorize: (action: string, key?: string) => void;
}

export function requireBucket(settings: EngineSettings, name: string): BucketState {
  const bucket = settings.store.bucket(name);
  if (bucket === undefined) throw noSuchBucket(name);
  return bucket;
}

export function requireObjectLock(bucket: BucketRecord): void {
  if (!bucket.objectLockEnabled) {
    throw new S3Error('InvalidRequest', 'Bucket is missing Object Lock Configuration');
  }
}

/** `x-amz-bypass-governance-retention: true` (case-insensitive, as S3 reads it). */
export function bypassesGovernance(headers: Readonly<Record<string, string>>): boolean {
  return headers['x-amz-bypass-governance-retention']?.toLowerCase() === 'true';
}

/** Consumes a body the operation does not use, so the connection stays usable. */
export async function drain(body: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const _ of body) {
    // discard
  }
}
