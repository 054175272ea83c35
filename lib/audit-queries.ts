import { Aws, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ARCHIVE_PREFIX } from '../lambdas/domain/audit-archive.ts';
import {
  AUDIT_COLUMNS,
  AUDIT_DATABASE,
  AUDIT_PARTITION_COLUMNS,
  AUDIT_TABLE,
  NAMED_AUDIT_QUERIES,
} from '../lambdas/domain/audit-queries.ts';
import type { AuditArchiveBucket } from './audit-archive-bucket.ts';

export interface AuditQueriesProps {
  /** The archive the table reads. */
  readonly archive: AuditArchiveBucket;
  /** Encrypts query results (SSE-KMS); the archive's key, which readers must also decrypt with. */
  readonly encryptionKey: kms.IKey;
  /**
   * The workgroup's name (unique per account and Region).
   * @default 'countersign'
   */
  readonly workGroupName?: string;
  /**
   * The first day partition projection enumerates (`dt` runs from it to NOW); records before it are
   * not queried.
   * @default '2025-01-01'
   */
  readonly projectionStart?: string;
  /**
   * A query that would scan more is cancelled by Athena.
   * @default 10 GiB
   */
  readonly bytesScannedCutoffPerQuery?: number;
  /**
   * How long query results are kept.
   * @default Duration.days(30)
   */
  readonly resultExpiration?: Duration;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

const GIB = 1024 ** 3;
const RESULTS_PREFIX = 'results/';
const RESULTS_LOG_PREFIX = 'athena-results/';

/**
 * The archive made queryable: Glue database `countersign` and table `audit_records` (OpenX JSON
 * SerDe over `s3://<archive>/audit/`, partition projection on `dt` and `hour`, so no crawler and no
 * MSCK REPAIR), an Athena workgroup (engine v3) that enforces its encrypted result location in a
 * results bucket of its own (SSE-KMS, TLS only, private, expiring) and a bytes-scanned limit, the
 * named queries, and the `AuditReader` managed policy: exactly what running them needs.
 */
export class AuditQueries extends Construct {
  readonly database: glue.CfnDatabase;
  readonly table: glue.CfnTable;
  readonly resultsBucket: s3.Bucket;
  readonly workGroup: athena.CfnWorkGroup;
  readonly namedQueries: readonly athena.CfnNamedQuery[];
  /** Attach to the roles or users that query the archive. */
  readonly readerPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: AuditQueriesProps) {
    super(scope, id);
    const workGroupName = props.workGroupName ?? 'countersign';
    const projectionStart = props.projectionStart ?? '2025-01-01';
    const archiveBucket = props.archive.bucket;
    const archiveLocation = `s3://${archiveBucket.bucketName}/${ARCHIVE_PREFIX}`;

    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: { name: AUDIT_DATABASE, description: 'Countersign audit archive' },
    });
    this.table = new glue.CfnTable(this, 'Table', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: AUDIT_DATABASE,
      tableInput: {
        name: AUDIT_TABLE,
        description: 'Audit records: one row per archived record (gzip JSON Lines)',
        tableType: 'EXTERNAL_TABLE',
        parameters: {
          classification: 'json',
          compressionType: 'gzip',
          'projection.enabled': 'true',
          'projection.dt.type': 'date',
          'projection.dt.range': `${projectionStart},NOW`,
          'projection.dt.format': 'yyyy-MM-dd',
          'projection.dt.interval': '1',
          'projection.dt.interval.unit': 'DAYS',
          'projection.hour.type': 'integer',
          'projection.hour.range': '0,23',
          'projection.hour.digits': '2',
          'storage.location.template': `${archiveLocation}dt=\${dt}/hour=\${hour}/`,
        },
        partitionKeys: AUDIT_PARTITION_COLUMNS.map((column) => ({
          name: column.name,
          type: column.hiveType,
        })),
        storageDescriptor: {
          location: archiveLocation,
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          columns: AUDIT_COLUMNS.map((column) => ({ name: column.name, type: column.hiveType })),
          serdeInfo: {
            serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
            // Keys are camelCase: case-sensitive, and each column names its key.
            parameters: {
              'case.insensitive': 'FALSE',
              ...Object.fromEntries(
                AUDIT_COLUMNS.map((column) => [`mapping.${column.name}`, column.jsonField]),
              ),
            },
          },
        },
      },
    });
    this.table.addResourceDependency(this.database);

    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.resultsBucket = new s3.Bucket(this, 'Results', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          expiration: props.resultExpiration ?? Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy,
    });
    // Access logs into the archive's log bucket under its policy (as the archive's own), not by ACL.
    (this.resultsBucket.node.defaultChild as s3.CfnBucket).loggingConfiguration = {
      destinationBucketName: props.archive.logBucket.bucketName,
      logFilePrefix: RESULTS_LOG_PREFIX,
    };
    props.archive.logBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'S3ServerAccessLogsOfTheQueryResults',
        principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [props.archive.logBucket.arnForObjects(`${RESULTS_LOG_PREFIX}*`)],
        conditions: {
          ArnLike: { 'aws:SourceArn': this.resultsBucket.bucketArn },
          StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
        },
      }),
    );

    this.workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: workGroupName,
      description: 'Countersign audit queries',
      recursiveDeleteOption: false,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: props.bytesScannedCutoffPerQuery ?? 10 * GIB,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: `s3://${this.resultsBucket.bucketName}/${RESULTS_PREFIX}`,
          encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKey: props.encryptionKey.keyArn },
        },
      },
    });
    this.workGroup.applyRemovalPolicy(removalPolicy);

    this.namedQueries = NAMED_AUDIT_QUERIES.map((query) => {
      const named = new athena.CfnNamedQuery(this, `Query-${query.name}`, {
        name: query.name,
        description: query.description,
        database: AUDIT_DATABASE,
        queryString: query.sql,
        workGroup: this.workGroup.ref,
      });
      named.addResourceDependency(this.workGroup);
      return named;
    });

    this.readerPolicy = this.#readerPolicy(props, workGroupName);
  }

  #readerPolicy(props: AuditQueriesProps, workGroupName: string): iam.ManagedPolicy {
    const stack = Stack.of(this);
    const archiveBucket = props.archive.bucket;
    const glueArn = (resource: string) =>
      stack.formatArn({ service: 'glue', resource, resourceName: undefined });
    const viaS3 = (bucket: s3.IBucket) => ({
      StringEquals: {
        'kms:ViaService': `s3.${stack.region}.amazonaws.com`,
        'kms:EncryptionContext:aws:s3:arn': bucket.bucketArn,
      },
    });
    const policy = new iam.ManagedPolicy(this, 'AuditReader', {
      description:
        'Run the Countersign audit queries: Athena on its workgroup, the Glue table, the archive read-only',
      statements: [
        new iam.PolicyStatement({
          sid: 'AthenaOnTheWorkGroup',
          actions: [
            'athena:StartQueryExecution',
            'athena:GetQueryExecution',
            'athena:GetQueryResults',
            'athena:StopQueryExecution',
            'athena:GetWorkGroup',
            'athena:ListNamedQueries',
            'athena:GetNamedQuery',
            'athena:BatchGetNamedQuery',
          ],
          resources: [
            stack.formatArn({ service: 'athena', resource: 'workgroup', resourceName: workGroupName }),
          ],
        }),
        new iam.PolicyStatement({
          sid: 'GlueTableMetadata',
          actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartition', 'glue:GetPartitions'],
          resources: [
            glueArn('catalog'),
            stack.formatArn({ service: 'glue', resource: 'database', resourceName: AUDIT_DATABASE }),
            stack.formatArn({
              service: 'glue',
              resource: 'table',
              resourceName: `${AUDIT_DATABASE}/${AUDIT_TABLE}`,
            }),
          ],
        }),
        new iam.PolicyStatement({
          sid: 'ListTheArchive',
          actions: ['s3:ListBucket', 's3:GetBucketLocation'],
          resources: [archiveBucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': [`${ARCHIVE_PREFIX}*`] } },
        }),
        new iam.PolicyStatement({
          sid: 'ReadTheArchive',
          actions: ['s3:GetObject'],
          resources: [archiveBucket.arnForObjects(`${ARCHIVE_PREFIX}*`)],
        }),
        new iam.PolicyStatement({
          sid: 'ResultsBucket',
          actions: ['s3:ListBucket', 's3:GetBucketLocation', 's3:ListBucketMultipartUploads'],
          resources: [this.resultsBucket.bucketArn],
        }),
        new iam.PolicyStatement({
          sid: 'ReadAndWriteResults',
          actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
          resources: [this.resultsBucket.arnForObjects(`${RESULTS_PREFIX}*`)],
        }),
        new iam.PolicyStatement({
          sid: 'DecryptTheArchive',
          actions: ['kms:Decrypt'],
          resources: [props.encryptionKey.keyArn],
          conditions: viaS3(archiveBucket),
        }),
        new iam.PolicyStatement({
          sid: 'EncryptAndDecryptResults',
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [props.encryptionKey.keyArn],
          conditions: viaS3(this.resultsBucket),
        }),
      ],
    });
    const resolve = (bucket: s3.Bucket) =>
      stack.resolve((bucket.node.defaultChild as s3.CfnBucket).logicalId) as string;
    Validations.of(policy).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::<${resolve(archiveBucket)}.Arn>/${ARCHIVE_PREFIX}*]`,
        reason:
          'Athena reads whichever archive objects the query’s partitions hold: the audit/ prefix of this one bucket, read-only.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::<${resolve(this.resultsBucket)}.Arn>/${RESULTS_PREFIX}*]`,
        reason:
          'Athena names each result object after its query execution id: the results/ prefix of the results bucket.',
      },
    );
    return policy;
  }
}
