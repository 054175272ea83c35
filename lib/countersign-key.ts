import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface CountersignKeyProps {
  /**
   * What happens to the key when the stack is deleted. Data encrypted with it (table, logs) becomes
   * unreadable once the key is gone, so it outlives the stack by default.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Administration rights of the account on the key. Spelled out instead of the usual `kms:*` so the
 * key policy names every power it grants; the account keeps enough to manage (and delegate) the key.
 */
const ACCOUNT_KEY_ACTIONS = [
  'kms:CancelKeyDeletion',
  'kms:CreateAlias',
  'kms:CreateGrant',
  'kms:Decrypt',
  'kms:DeleteAlias',
  'kms:DescribeKey',
  'kms:DisableKey',
  'kms:EnableKey',
  'kms:EnableKeyRotation',
  'kms:Encrypt',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyWithoutPlaintext',
  'kms:GetKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:ListGrants',
  'kms:ListResourceTags',
  'kms:PutKeyPolicy',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
  'kms:RetireGrant',
  'kms:RevokeGrant',
  'kms:ScheduleKeyDeletion',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateAlias',
  'kms:UpdateKeyDescription',
];

/**
 * The customer-managed key that encrypts Countersign's data at rest: the request table, every log
 * group and the alarm topic. Rotation is on; services get only the actions they need, scoped to
 * this account's resources through encryption-context or source conditions.
 */
export class CountersignKey extends Construct {
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: CountersignKeyProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    const policy = new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({
          sid: 'AccountAdministersKey',
          principals: [new iam.AccountRootPrincipal()],
          actions: ACCOUNT_KEY_ACTIONS,
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: 'CloudWatchLogsEncryptsThisAccountsLogGroups',
          principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
          actions: [
            'kms:Encrypt',
            'kms:Decrypt',
            'kms:ReEncryptFrom',
            'kms:ReEncryptTo',
            'kms:GenerateDataKey',
            'kms:DescribeKey',
          ],
          resources: ['*'],
          conditions: {
            ArnLike: {
              'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:*`,
            },
          },
        }),
        new iam.PolicyStatement({
          sid: 'CloudWatchAlarmsPublishToEncryptedTopic',
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
        }),
      ],
    });
    this.key = new kms.Key(this, 'Key', {
      description: 'Countersign: encrypts the request table, log groups and alarm topic',
      enableKeyRotation: true,
      policy,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }
}
