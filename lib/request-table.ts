import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { TABLE_LAYOUT } from '../lambdas/adapters/dynamodb/table-layout.ts';

export interface RequestTableProps {
  /** The customer-managed key encrypting the table. */
  readonly encryptionKey: kms.IKey;
  /**
   * What happens to the table when the stack is deleted. It holds the approval record, so it stays.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Item-level actions the handlers use. Deliberately absent: Scan, the batch writes and every
 * Transact* action — decisions are made with single-item conditional writes only, and IAM holds
 * the code to that.
 */
const READ_WRITE_ACTIONS = [
  'dynamodb:ConditionCheckItem',
  'dynamodb:DeleteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:UpdateItem',
];
const READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:Query'];
/** What the workflow's steps take: reads, and conditional puts and updates; they never delete an item. */
const READ_UPDATE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'];
/**
 * What appending to the table takes: conditional puts and updates, and the consistent read of the
 * item a failed condition did not return (the audit sequence's number after a retry).
 */
const APPEND_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];
/** What a function that reads and only ever creates items takes: reads, and puts (conditional, its code's). */
const READ_AND_PUT_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'];

/**
 * The single table behind Countersign (requests, votes, audit records, classifications, privileged
 * calls and their approvals), laid out as `TABLE_LAYOUT` says: on-demand, point-in-time recovery, encrypted with the
 * customer-managed key, TTL on `ttl`, and a stream of new and old images for the archive.
 */
export class RequestTable extends Construct {
  readonly table: dynamodb.Table;
  private readonly encryptionKey: kms.IKey;

  constructor(scope: Construct, id: string, props: RequestTableProps) {
    super(scope, id);
    this.encryptionKey = props.encryptionKey;
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE_LAYOUT.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_LAYOUT.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.encryptionKey,
      timeToLiveAttribute: TABLE_LAYOUT.ttlAttribute,
      stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
      deletionProtection: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: TABLE_LAYOUT.statusIndex.name,
      partitionKey: { name: TABLE_LAYOUT.statusIndex.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_LAYOUT.statusIndex.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }

  get tableName(): string {
    return this.table.tableName;
  }

  /** Item reads and single-item writes on the table and its indexes, and the key uses that needs. */
  grantReadWrite(grantee: iam.IGrantable): void {
    this.grant(grantee, READ_WRITE_ACTIONS, ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']);
  }

  /** Item reads on the table and its indexes, puts and updates (no delete), and the key uses that needs. */
  grantReadAndUpdate(grantee: iam.IGrantable): void {
    this.grant(grantee, READ_UPDATE_ACTIONS, ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']);
  }

  /** Item reads on the table and its indexes. */
  grantRead(grantee: iam.IGrantable): void {
    this.grant(grantee, READ_ACTIONS, ['kms:Decrypt']);
  }

  /** Item reads and puts on the table (no index, no update, no delete), and the key uses that needs. */
  grantReadAndPut(grantee: iam.IGrantable): void {
    this.grant(grantee, READ_AND_PUT_ACTIONS, ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'], {
      indexes: false,
    });
  }

  /** Conditional puts and updates of the table's items (no index, no query, no delete), and the key uses that needs. */
  grantAppend(grantee: iam.IGrantable): void {
    this.grant(grantee, APPEND_ACTIONS, ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'], {
      indexes: false,
    });
  }

  /**
   * Reading the table's stream, as an event source mapping does with its function's role: the
   * stream's records, and the key only through DynamoDB.
   */
  grantStreamRead(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        resources: [this.streamArn],
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:ListStreams'], resources: ['*'] }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [this.encryptionKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
  }

  /** The stream of new and old images the archive is fed from. */
  get streamArn(): string {
    // The table is created with a stream, so it always has an ARN.
    return this.table.tableStreamArn!;
  }

  private grant(
    grantee: iam.IGrantable,
    tableActions: string[],
    keyActions: string[],
    { indexes }: { indexes: boolean } = { indexes: true },
  ): void {
    iam.Grant.addToPrincipal({
      grantee,
      actions: tableActions,
      resourceArns: indexes ? [this.table.tableArn, `${this.table.tableArn}/index/*`] : [this.table.tableArn],
    });
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [...keyActions, 'kms:DescribeKey'],
        resources: [this.encryptionKey.keyArn],
        // Only for calls DynamoDB makes on the caller's behalf, never for direct use of the key.
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
    if (indexes && Construct.isConstruct(grantee.grantPrincipal)) {
      const tableId = Stack.of(this).resolve((this.table.node.defaultChild as dynamodb.CfnTable).logicalId);
      Validations.of(grantee.grantPrincipal).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${tableId}.Arn>/index/*]`,
        reason: 'Queries may use any index of this one table (today the by-status index); no other table.',
      });
    }
  }
}
