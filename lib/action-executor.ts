import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { ENV } from '../lambdas/handlers/environment-names.ts';
import type { HandlerFunction } from './handler-function.ts';

export interface ActionExecutorProps {
  /**
   * The function that runs approved actions (the workflow's Finish step): the only principal that
   * may assume the executor role; it gets the role's ARN and the allowed policies in its environment.
   */
  readonly runner: HandlerFunction;
  /**
   * Buckets whose objects the s3:CopyObject executor may read from and write to.
   * @default [] - the executor copies nothing
   */
  readonly buckets?: readonly string[];
  /**
   * The only IAM policies the iam:AttachRolePolicy executor may attach, to any role of the account.
   * @default [] - the executor attaches nothing
   */
  readonly allowedPolicyArns?: readonly string[];
}

/**
 * Countersign's built-in executors: the role the workflow's Finish step assumes to run an approved
 * action, which only that function may assume. The role's permissions are the ceiling (objects of
 * the configured buckets; attaching the allowed policies); each run's session policy narrows them
 * to exactly the approved call on exactly its resources, and the session is named after the request.
 */
export class ActionExecutor extends Construct {
  /** The role each run assumes, in a session of its own. */
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: ActionExecutorProps) {
    super(scope, id);
    const allowedPolicyArns = props.allowedPolicyArns ?? [];
    const runnerRole = props.runner.role;
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ArnPrincipal(runnerRole.roleArn),
      description: 'Countersign executor: assumed once per approved action, in a session scoped to it',
      maxSessionDuration: Duration.hours(1),
    });
    this.role.grantAssumeRole(runnerRole);
    props.runner.function.addEnvironment(ENV.executorRoleArn, this.role.roleArn);
    props.runner.function.addEnvironment(ENV.executorAllowedPolicyArns, JSON.stringify(allowedPolicyArns));
    this.#allowCopies(props.buckets ?? []);
    this.#allowAttachments(allowedPolicyArns);
  }

  #allowCopies(buckets: readonly string[]): void {
    if (buckets.length === 0) return;
    const objects = buckets.map((bucket) => `arn:${Stack.of(this).partition}:s3:::${bucket}/*`);
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:GetObjectVersion', 's3:PutObject'],
        resources: objects,
      }),
    );
    for (const bucket of buckets) {
      Validations.of(this.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${bucket}/*]`,
        reason:
          'The objects of a bucket the operator lists in countersign:executorBuckets; each run’s session policy narrows this to the one approved source and destination object.',
      });
    }
  }

  #allowAttachments(policyArns: readonly string[]): void {
    if (policyArns.length === 0) return;
    const { partition, account } = Stack.of(this);
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['iam:AttachRolePolicy'],
        resources: [`arn:${partition}:iam::${account}:role/*`],
        conditions: { ArnEquals: { 'iam:PolicyARN': [...policyArns] } },
      }),
    );
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/*]',
      reason:
        'Only the policies of countersign:executorAllowedPolicyArns (iam:PolicyARN condition); each run’s session policy narrows the role to the one approved role.',
    });
  }
}
