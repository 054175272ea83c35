import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ARCHIVE_PREFIX, DIGEST_PREFIX } from '../lambdas/domain/audit-archive.ts';

export interface AuditArchiveBucketProps {
  /** Encrypts the archive (SSE-KMS with an S3 Bucket Key). */
  readonly encryptionKey: kms.IKey;
  /** COMPLIANCE retention of every object: the bucket's default, and what the writers set. */
  readonly retentionDays: number;
  /**
   * What happens to the buckets when the stack is deleted. The archive outlives it by design.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** Statement ids of the archive's bucket policy (beside CDK's TLS-only statement). */
export const AUDIT_BUCKET_POLICY_SIDS = {
  noDeletes: 'NobodyDeletesArchivedObjects',
  noLockChanges: 'NobodyChangesObjectLockOrBypassesRetention',
} as const;

/**
 * The audit archive: an S3 bucket with Object Lock (COMPLIANCE default retention, versioning),
 * SSE-KMS, all public access blocked, TLS only, and a bucket policy that denies every principal
 * deleting any object version (`s3:DeleteObject*`), changing the Object Lock configuration and
 * bypassing governance retention, whatever their IAM policies allow. Its server access logs go to
 * a log bucket of their own (SSE-S3, the only encryption S3 log delivery writes to; TLS only,
 * retained). Writers get exactly their prefix: the archiver `audit/`, the digester `digests/`.
 */
export class AuditArchiveBucket extends Construct {
  readonly bucket: s3.Bucket;
  readonly logBucket: s3.Bucket;
  readonly #encryptionKey: kms.IKey;

  constructor(scope: Construct, id: string, props: AuditArchiveBucketProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.#encryptionKey = props.encryptionKey;
    this.logBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
    });
    Validations.of(this.logBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the archive’s access-log bucket; logging it into itself would log its own log writes.',
    });
    this.bucket = new s3.Bucket(this, 'Archive', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectLockEnabled: true,
      objectLockDefaultRetention: s3.ObjectLockRetention.compliance(Duration.days(props.retentionDays)),
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
    });
    // Access logs delivered under the log bucket's policy (S3's logging service principal, for this
    // bucket and account only), not by ACL: both buckets keep ACLs disabled.
    const logPrefix = 'archive/';
    (this.bucket.node.defaultChild as s3.CfnBucket).loggingConfiguration = {
      destinationBucketName: this.logBucket.bucketName,
      logFilePrefix: logPrefix,
    };
    this.logBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'S3ServerAccessLogsOfTheArchive',
        principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [this.logBucket.arnForObjects(`${logPrefix}*`)],
        conditions: {
          ArnLike: { 'aws:SourceArn': this.bucket.bucketArn },
          StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
        },
      }),
    );
    const everyone = new iam.AnyPrincipal();
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: AUDIT_BUCKET_POLICY_SIDS.noDeletes,
        effect: iam.Effect.DENY,
        principals: [everyone],
        actions: ['s3:DeleteObject*'],
        resources: [this.bucket.arnForObjects('*')],
      }),
    );
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: AUDIT_BUCKET_POLICY_SIDS.noLockChanges,
        effect: iam.Effect.DENY,
        principals: [everyone],
        actions: ['s3:PutBucketObjectLockConfiguration', 's3:BypassGovernanceRetention'],
        resources: [this.bucket.bucketArn, this.bucket.arnForObjects('*')],
      }),
    );
  }

  get bucketName(): string {
    return this.bucket.bucketName;
  }

  /**
   * The archiver: creates objects under `audit/` with their retention, and reads one back (HEAD,
   * for its checksum) when a retry meets an object already there. No list, no delete, no digests.
   */
  grantArchiveWrite(grantee: iam.IGrantable): void {
    this.#allow(
      grantee,
      ['s3:PutObject', 's3:PutObjectRetention', 's3:GetObject'],
      [this.bucket.arnForObjects(`${ARCHIVE_PREFIX}*`)],
    );
    // Writing needs a data key; the HEAD of a retry reads no content, so no Decrypt.
    this.#allowKey(grantee, ['kms:GenerateDataKey']);
  }

  /**
   * The digester: lists and reads the archive and the digests (the chain it extends), creates
   * digests under `digests/`. No delete, and nothing written under `audit/`.
   */
  grantDigest(grantee: iam.IGrantable): void {
    this.#allowRead(grantee);
    this.#allow(
      grantee,
      ['s3:PutObject', 's3:PutObjectRetention'],
      [this.bucket.arnForObjects(`${DIGEST_PREFIX}*`)],
    );
    this.#allowKey(grantee, ['kms:GenerateDataKey', 'kms:Decrypt']);
  }

  #allowRead(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket', 's3:ListBucketVersions'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${ARCHIVE_PREFIX}*`, `${DIGEST_PREFIX}*`] } },
      }),
    );
    this.#allow(
      grantee,
      ['s3:GetObject', 's3:GetObjectVersion'],
      [this.bucket.arnForObjects(`${ARCHIVE_PREFIX}*`), this.bucket.arnForObjects(`${DIGEST_PREFIX}*`)],
    );
  }

  #allow(grantee: iam.IGrantable, actions: string[], resources: string[]): void {
    grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources }));
    if (!Construct.isConstruct(grantee.grantPrincipal)) return;
    const bucketId = Stack.of(this).resolve((this.bucket.node.defaultChild as s3.CfnBucket).logicalId);
    for (const prefix of [ARCHIVE_PREFIX, DIGEST_PREFIX]) {
      Validations.of(grantee.grantPrincipal).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`,
        reason: `Archive objects and digests are named per batch and per run: the grant is the ${prefix} prefix of this one bucket.`,
      });
    }
  }

  /** Only for S3's own use of the key on this bucket (the Bucket Key's encryption context). */
  #allowKey(grantee: iam.IGrantable, actions: string[]): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions,
        resources: [this.#encryptionKey.keyArn],
        conditions: {
          StringEquals: {
            'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com`,
            'kms:EncryptionContext:aws:s3:arn': this.bucket.bucketArn,
          },
        },
      }),
    );
  }
}
