/**
 * The template's buckets, as CloudFormation makes them: each `AWS::S3::Bucket` with its Object Lock
 * (and default retention), versioning and Block Public Access, and the policy its
 * `AWS::S3::BucketPolicy` gives it. At every start of the twin a missing bucket is created and an
 * existing one gets the template's configuration, as a stack update would; what S3 never allows
 * (turning Object Lock off) is not done. Server access logging, encryption and ownership settings
 * have no effect in the twin (it keeps no access logs and encrypts nothing).
 */
import type { TwinResource } from '../cloudformation/template.ts';
import { checkBucketName, parsePolicy } from './bucket-operations.ts';
import type { EngineSettings } from './context.ts';
import { S3Error } from './errors.ts';
import {
  type BucketRecord,
  type DefaultRetention,
  type PublicAccessBlock,
  VersioningStatus,
} from './model.ts';
import { parseLockMode } from './object-lock.ts';

export interface TemplateBucket {
  readonly name: string;
  readonly objectLockEnabled: boolean;
  readonly versioning?: (typeof VersioningStatus)[keyof typeof VersioningStatus];
  readonly defaultRetention?: DefaultRetention;
  readonly publicAccessBlock: PublicAccessBlock;
  /** The bucket policy document (JSON). */
  readonly policy?: string;
}

const BUCKET_TYPE = 'AWS::S3::Bucket';
const POLICY_TYPE = 'AWS::S3::BucketPolicy';

function defaultRetentionOf(configuration: unknown): DefaultRetention | undefined {
  const rule = (configuration as { Rule?: { DefaultRetention?: Record<string, unknown> } } | undefined)?.Rule
    ?.DefaultRetention;
  if (rule === undefined) return undefined;
  const mode = parseLockMode(String(rule.Mode));
  if (typeof rule.Days === 'number') return { mode, days: rule.Days };
  if (typeof rule.Years === 'number') return { mode, years: rule.Years };
  throw new S3Error('InvalidArgument', 'Default retention period must be a positive integer value.');
}

/** The buckets of a template and their policies. */
export function templateBuckets(resources: readonly TwinResource[]): TemplateBucket[] {
  const policies = new Map<string, string>();
  for (const resource of resources.filter((candidate) => candidate.type === POLICY_TYPE)) {
    const properties = resource.properties();
    policies.set(String(properties.Bucket), JSON.stringify(properties.PolicyDocument));
  }
  return resources
    .filter((resource) => resource.type === BUCKET_TYPE)
    .map((resource) => {
      const properties = resource.properties();
      const block = (properties.PublicAccessBlockConfiguration ?? {}) as Record<string, unknown>;
      const status = (properties.VersioningConfiguration as { Status?: unknown } | undefined)?.Status;
      const objectLockEnabled =
        properties.ObjectLockEnabled === true || properties.ObjectLockEnabled === 'true';
      const defaultRetention = defaultRetentionOf(properties.ObjectLockConfiguration);
      const policy = policies.get(resource.name);
      return {
        name: resource.name,
        objectLockEnabled,
        ...(status === VersioningStatus.enabled || status === VersioningStatus.suspended
          ? { versioning: status }
          : objectLockEnabled
            ? { versioning: VersioningStatus.enabled }
            : {}),
        ...(defaultRetention === undefined ? {} : { defaultRetention }),
        // New buckets have Block Public Access on; a template turns parts off only by saying so.
        publicAccessBlock: {
          blockPublicAcls: block.BlockPublicAcls !== false,
          ignorePublicAcls: block.IgnorePublicAcls !== false,
          blockPublicPolicy: block.BlockPublicPolicy !== false,
          restrictPublicBuckets: block.RestrictPublicBuckets !== false,
        },
        ...(policy === undefined ? {} : { policy }),
      };
    });
}

/** Creates the bucket, or brings an existing one to the template's configuration. */
export async function provisionBucket(settings: EngineSettings, bucket: TemplateBucket): Promise<void> {
  checkBucketName(bucket.name);
  if (bucket.policy !== undefined) parsePolicy(bucket.policy);
  const configured = (record: BucketRecord): BucketRecord => {
    const { defaultRetention: _retention, policy: _policy, versioning: _versioning, ...rest } = record;
    // Object Lock, once on, stays on, and keeps versioning on with it.
    const objectLockEnabled = record.objectLockEnabled || bucket.objectLockEnabled;
    const versioning = objectLockEnabled
      ? VersioningStatus.enabled
      : (bucket.versioning ?? record.versioning);
    return {
      ...rest,
      objectLockEnabled,
      ...(versioning === undefined ? {} : { versioning }),
      ...(bucket.defaultRetention === undefined ? {} : { defaultRetention: bucket.defaultRetention }),
      publicAccessBlock: bucket.publicAccessBlock,
      ...(bucket.policy === undefined ? {} : { policy: bucket.policy }),
    };
  };
  if (settings.store.bucket(bucket.name) === undefined) {
    await settings.store.createBucket(
      configured({
        name: bucket.name,
        createdAt: settings.now().toISOString(),
        region: settings.region,
        objectLockEnabled: bucket.objectLockEnabled,
      }),
      'ok',
    );
    return;
  }
  await settings.store.updateBucket(bucket.name, configured);
}
