import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV } from '../lambdas/handlers/environment-names.ts';
import { HandlerFunction } from './handler-function.ts';
import type { RequestTable } from './request-table.ts';

/** Repo-relative module of the executor function's handler. */
export const EXECUTE_ACTION_HANDLER_ENTRY = 'lambdas/handlers/execute-action.ts';

export interface ActionExecutorProps {
  /** The requests: the executor function reads the approved one, claims its run and records its outcome. */
  readonly table: RequestTable;
  /** The handler environment (the table's name and Powertools' settings). */
  readonly environment: Readonly<Record<string, string>>;
  /** Encrypts the executor function's log group. */
  readonly logEncryptionKey: kms.IKey;
  /**
   * @default logs.RetentionDays.ONE_YEAR (HandlerFunction's default)
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * The function that asks for approved actions to be run (the workflow's Finish step): it may
   * invoke the executor function, and gets its name in its environment; it may not assume the role.
   */
  readonly caller: HandlerFunction;
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
 * Countersign's built-in executors: the executor function, which runs an approved action when the
 * workflow's Finish step asks it to (a synchronous invocation), and the role it assumes to run it,
 * which only that function may assume. The role's permissions are the ceiling (objects of the
 * configured buckets; attaching the allowed policies); each run's session policy narrows them to
 * exactly the approved call on exactly its resources, and the session is named after the request.
 */
export class ActionExecutor extends Construct {
  /** The function that runs approved actions, and alone may assume `role`. */
  readonly handler: HandlerFunction;
  /** The role each run assumes, in a session of its own. */
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: ActionExecutorProps) {
    super(scope, id);
    const allowedPolicyArns = props.allowedPolicyArns ?? [];
    this.handler = new HandlerFunction(this, 'ExecuteAction', {
      entry: EXECUTE_ACTION_HANDLER_ENTRY,
      description:
        'Countersign: run an approved action Countersign executes, once, in a session scoped to it',
      environment: props.environment,
      logEncryptionKey: props.logEncryptionKey,
      logRetention: props.logRetention,
      // An S3 copy of a large object takes a while; the caller waits longer than this (its own 90 s).
      timeout: Duration.seconds(60),
    });
    // It reads the request, claims the run and records its outcome and the audit fact.
    props.table.grantReadWrite(this.handler.role);
    const runnerRole = this.handler.role;
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ArnPrincipal(runnerRole.roleArn),
      description: 'Countersign executor: assumed once per approved action, in a session scoped to it',
      maxSessionDuration: Duration.hours(1),
    });
    this.role.grantAssumeRole(runnerRole);
    this.handler.function.addEnvironment(ENV.executorRoleArn, this.role.roleArn);
    this.handler.function.addEnvironment(ENV.executorAllowedPolicyArns, JSON.stringify(allowedPolicyArns));
    // The unqualified function only (what the caller invokes), not its versions (grantInvoke's `:*`).
    props.caller.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [this.handler.function.functionArn],
      }),
    );
    props.caller.function.addEnvironment(ENV.executorFunctionName, this.handler.function.functionName);
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
