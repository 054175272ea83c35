import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV, MACIE_JOB_TAG_KEY } from '../lambdas/handlers/environment-names.ts';
import { HandlerFunction } from './handler-function.ts';
import type { RequestTable } from './request-table.ts';

/** Repo-relative module of the classification-jobs handler (StartClassificationJob, CheckClassification). */
export const CLASSIFICATION_JOBS_HANDLER_ENTRY = 'lambdas/handlers/classification-jobs.ts';

export interface ClassificationJobsProps {
  /** Where the classifications are kept (the poll stores a job's verdict). */
  readonly table: RequestTable;
  /** The handler environment (the table's name and Powertools' settings). */
  readonly environment: Readonly<Record<string, string>>;
  /** How long a request waits for its classification. */
  readonly timeoutSeconds: number;
  /** The wait between two polls. */
  readonly pollSeconds: number;
  /**
   * A role in the Macie administrator account that creates and reads the jobs.
   * @default - the function's own role, in this account
   */
  readonly jobRoleArn?: string;
  /** Encrypts the handler's log group. */
  readonly logEncryptionKey: kms.IKey;
  /**
   * @default logs.RetentionDays.ONE_YEAR (HandlerFunction's default)
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The function behind classify before approve, and the least Macie lets it have: it may create
 * classification jobs only with this stack's tag (`aws:RequestTag`, `aws:TagKeys`) and describe
 * only jobs carrying it (`aws:ResourceTag`), both on this account's and Region's job ARNs (the
 * ClassificationJob resource type). ListFindings and GetFindings have no resource type in Macie's
 * service authorization reference, so they are granted on `*`. Macie analyses the objects with its
 * service-linked role (AWSServiceRoleForAmazonMacie), never with this one. With `jobRoleArn`, the
 * function may only assume that role, whose own policy must grant the same in its account.
 */
export class ClassificationJobs extends Construct {
  readonly handler: HandlerFunction;

  constructor(scope: Construct, id: string, props: ClassificationJobsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.handler = new HandlerFunction(this, 'ClassificationJobs', {
      entry: CLASSIFICATION_JOBS_HANDLER_ENTRY,
      description: 'Countersign: classify an S3 object with a one-time Macie job before evaluating a request',
      environment: {
        ...props.environment,
        [ENV.classificationTimeoutSeconds]: String(props.timeoutSeconds),
        [ENV.classificationPollSeconds]: String(props.pollSeconds),
        [ENV.macieBucketOwnerAccountId]: stack.account,
        [ENV.macieJobTag]: stack.stackName,
        ...(props.jobRoleArn === undefined ? {} : { [ENV.macieJobRoleArn]: props.jobRoleArn }),
      },
      logEncryptionKey: props.logEncryptionKey,
      logRetention: props.logRetention,
    });
    props.table.grantReadWrite(this.handler.role);
    if (props.jobRoleArn !== undefined) {
      this.handler.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: [props.jobRoleArn] }),
      );
      return;
    }
    const jobs = stack.formatArn({ service: 'macie2', resource: 'classification-job', resourceName: '*' });
    this.handler.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'CreateTaggedClassificationJobs',
        actions: ['macie2:CreateClassificationJob'],
        resources: [jobs],
        conditions: {
          StringEquals: { [`aws:RequestTag/${MACIE_JOB_TAG_KEY}`]: stack.stackName },
          'ForAllValues:StringEquals': { 'aws:TagKeys': [MACIE_JOB_TAG_KEY] },
        },
      }),
    );
    this.handler.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DescribeOwnClassificationJobs',
        actions: ['macie2:DescribeClassificationJob'],
        resources: [jobs],
        conditions: { StringEquals: { [`aws:ResourceTag/${MACIE_JOB_TAG_KEY}`]: stack.stackName } },
      }),
    );
    this.handler.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadJobFindings',
        actions: ['macie2:ListFindings', 'macie2:GetFindings'],
        resources: ['*'],
      }),
    );
    Validations.of(this.handler.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords) and macie2:ListFindings / macie2:GetFindings have no resource-level permissions.',
    });
    Validations.of(this.handler.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:macie2:<AWS::Region>:<AWS::AccountId>:classification-job/*]',
      reason:
        'Job ids are chosen by Macie: creation is limited to jobs tagged with this stack and description to jobs carrying that tag.',
    });
  }
}
