import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { WorkflowError } from '../lambdas/domain/approval.ts';
import { Decision, PolicyOutcome } from '../lambdas/domain/schemas.ts';
import { WORKFLOW_STATES as S, WORKFLOW_ERRORS } from './workflow-states.ts';

export interface ApprovalWorkflowProps {
  /** Validates the request, deduplicates it and evaluates the policy: `{requestId, duplicate, invalid, policy}`. */
  readonly evaluateFunction: lambda.IFunction;
  /** Stores the task token and notifies reviewers; the vote service resumes the task. */
  readonly requestApprovalFunction: lambda.IFunction;
  /** Records the outcome exactly once. */
  readonly recordDecisionFunction: lambda.IFunction;
  /** Puts the `Action Decided` event on the bus. */
  readonly publishDecisionFunction: lambda.IFunction;
  /**
   * Classify before approve: the classification-jobs function (StartClassificationJob,
   * CheckClassification). With it, Evaluate is first asked which object to classify, and a request
   * that reads or exports an unclassified object waits for Macie before it is evaluated.
   * @default - no classification jobs: requests are evaluated with the classification as stored
   */
  readonly classificationJobsFunction?: lambda.IFunction;
  /** Runs an approved action Countersign executes itself (the policy's `executor`), once. */
  readonly executeFunction: lambda.IFunction;
  /** Key encrypting the execution log group. */
  readonly logEncryptionKey: kms.IKey;
  /**
   * Retention of the execution log group.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
}

/** Where a catcher puts the error, keeping `requestId` and the rest of the state. */
const ERROR_PATH = '$.error';

/** Transient function errors worth retrying for the idempotent record and publish steps. */
const TASK_RETRY: sfn.RetryProps = {
  errors: [sfn.Errors.TASKS_FAILED],
  interval: Duration.seconds(2),
  maxAttempts: 3,
  backoffRate: 2,
};

/**
 * The Execute step finds the run claimed by an invocation still running (a duplicate delivery):
 * asked again until that one has finished, or is old enough to count as interrupted (5 minutes).
 */
const EXECUTION_IN_PROGRESS_RETRY: sfn.RetryProps = {
  errors: ['ConflictError'],
  interval: Duration.seconds(15),
  maxAttempts: 25,
  backoffRate: 1,
};

/**
 * The approval workflow (STANDARD, every state logged, X-Ray traced), in plain JSONPath so the
 * local twin's interpreter runs the very same definition:
 *
 * ResolveRequestId → Evaluate → Route (Duplicate | Rejected | AutoApproved | PolicyDenied |
 * BreakGlass | RequestApproval .waitForTaskToken with the policy's timeout) → RecordDecision → (WillExecute:
 * when the policy's executor runs an approval, Execute) → PublishDecision, which ends the execution
 * (Step Functions bills every state entered, so no Succeed state follows it).
 * Every failure of Evaluate or of the wait ends as a recorded, denied outcome (EvaluationFailed →
 * RecordEvaluationFailure stores the request from the event if Evaluate never did); a timeout, or an
 * expiry sent by the vote service, ends as EXPIRED.
 */
export class ApprovalWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ApprovalWorkflowProps) {
    super(scope, id);

    const publishDecision = new tasks.LambdaInvoke(this, S.publishDecision, {
      lambdaFunction: props.publishDecisionFunction,
      payload: sfn.TaskInput.fromObject({
        requestId: sfn.JsonPath.stringAt('$.requestId'),
        executionArn: sfn.JsonPath.executionId,
      }),
      resultPath: sfn.JsonPath.DISCARD,
    })
      .addRetry(TASK_RETRY)
      .addCatch(
        new sfn.Fail(this, S.publishFailed, {
          error: WORKFLOW_ERRORS.publishFailed,
          cause: 'publishing the decision failed',
        }),
        { resultPath: ERROR_PATH },
      );

    // What Countersign executes runs after the decision is recorded and before it is told, so the
    // decision event carries the outcome. The step runs only an approval (it checks the stored
    // decision again); if it fails for good, the decision is still told, without an outcome.
    const execute = new tasks.LambdaInvoke(this, S.execute, {
      lambdaFunction: props.executeFunction,
      payload: sfn.TaskInput.fromObject({
        requestId: sfn.JsonPath.stringAt('$.requestId'),
        executionArn: sfn.JsonPath.executionId,
      }),
      resultPath: sfn.JsonPath.DISCARD,
    })
      .addRetry(EXECUTION_IN_PROGRESS_RETRY)
      .addRetry(TASK_RETRY)
      .addCatch(publishDecision, { resultPath: ERROR_PATH });
    execute.next(publishDecision);
    const willExecute = new sfn.Choice(this, S.willExecute)
      .when(
        sfn.Condition.and(
          sfn.Condition.isPresent('$.policy.executor'),
          sfn.Condition.or(
            sfn.Condition.stringEquals('$.outcome.decision', Decision.approved),
            sfn.Condition.stringEquals('$.outcome.decision', Decision.autoApproved),
          ),
        ),
        execute,
      )
      .otherwise(publishDecision);

    const recordFailed = new sfn.Fail(this, S.recordFailed, {
      error: WORKFLOW_ERRORS.recordFailed,
      cause: 'recording the decision failed',
    });
    /** A step of the record function: `{requestId, outcome, executionArn}` plus `extra`, then publish. */
    const recordStep = (name: string, extra: Record<string, unknown>): tasks.LambdaInvoke => {
      const step = new tasks.LambdaInvoke(this, name, {
        lambdaFunction: props.recordDecisionFunction,
        payload: sfn.TaskInput.fromObject({
          requestId: sfn.JsonPath.stringAt('$.requestId'),
          outcome: sfn.JsonPath.objectAt('$.outcome'),
          // The record step only ever decides the request this execution owns.
          executionArn: sfn.JsonPath.executionId,
          ...extra,
        }),
        resultPath: sfn.JsonPath.DISCARD,
      });
      step.addRetry(TASK_RETRY).addCatch(recordFailed, { resultPath: ERROR_PATH }).next(willExecute);
      return step;
    };
    const recordDecision = recordStep(S.recordDecision, {});
    // A JSONPath reference fails the state when its path is missing, and only this path carries the
    // event: so the evaluation failure has its own step, which can store a request Evaluate never stored.
    const recordEvaluationFailure = recordStep(S.recordEvaluationFailure, {
      event: sfn.JsonPath.objectAt('$.event'),
    });

    const outcome = (name: string, value: Record<string, string>): sfn.Pass => {
      const pass = new sfn.Pass(this, name, { parameters: value, resultPath: '$.outcome' });
      pass.next(recordDecision);
      return pass;
    };

    const requestApproval = new tasks.LambdaInvoke(this, S.requestApproval, {
      lambdaFunction: props.requestApprovalFunction,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: sfn.TaskInput.fromObject({
        taskToken: sfn.JsonPath.taskToken,
        requestId: sfn.JsonPath.stringAt('$.requestId'),
        // The token is stored only on the request this execution owns.
        executionArn: sfn.JsonPath.executionId,
      }),
      taskTimeout: sfn.Timeout.at('$.policy.timeoutSeconds'),
      // The vote service resumes with `{decision: "APPROVED", approvers}` through SendTaskSuccess.
      resultPath: '$.outcome',
    })
      // Reviewers' answers and the policy's timeout end the wait: never asked again (the first
      // retrier that matches an error applies, and this one allows no attempt).
      .addRetry({ errors: [sfn.Errors.TIMEOUT, WorkflowError.expired, WorkflowError.denied], maxAttempts: 0 })
      // The step's own failure (its function timed out, crashed or was throttled, as under load after
      // a restart) is no answer: it runs again with a fresh token, and reviewers are asked only once.
      // Only a step that keeps failing denies the request.
      .addRetry({ errors: [sfn.Errors.ALL], interval: Duration.seconds(2), maxAttempts: 3, backoffRate: 2 })
      .addCatch(outcome(S.expired, { decision: Decision.expired }), {
        errors: [sfn.Errors.TIMEOUT, WorkflowError.expired],
        resultPath: ERROR_PATH,
      })
      .addCatch(outcome(S.denied, { decision: Decision.denied }), {
        errors: [WorkflowError.denied],
        resultPath: ERROR_PATH,
      })
      .addCatch(outcome(S.approvalFailed, { decision: Decision.denied, reason: 'approval step failed' }), {
        errors: [sfn.Errors.ALL],
        resultPath: ERROR_PATH,
      });
    requestApproval.next(recordDecision);

    // One Choice, its rules in the order they must be asked (Choice rules are evaluated in order):
    // a duplicate delivery ends quietly, an invalid request fails, then the policy decides. One state
    // rather than three, as Step Functions bills each state entered.
    const route = new sfn.Choice(this, S.route)
      .when(sfn.Condition.booleanEquals('$.duplicate', true), new sfn.Succeed(this, S.duplicate))
      .when(
        sfn.Condition.booleanEquals('$.invalid', true),
        new sfn.Fail(this, S.rejected, {
          error: WORKFLOW_ERRORS.invalidRequest,
          causePath: '$.policy.reason',
        }),
      )
      .when(
        sfn.Condition.stringEquals('$.policy.decision', PolicyOutcome.allow),
        outcome(S.autoApproved, { decision: Decision.autoApproved }),
      )
      .when(
        sfn.Condition.stringEquals('$.policy.decision', PolicyOutcome.deny),
        outcome(S.policyDenied, { decision: Decision.policyDenied, 'reason.$': '$.policy.reason' }),
      )
      // Runs at once; its review opens when the decision is published (see the reconciliation).
      .when(
        sfn.Condition.stringEquals('$.policy.decision', PolicyOutcome.breakGlass),
        outcome(S.breakGlass, { decision: Decision.breakGlass }),
      )
      // REQUIRE_APPROVAL, and anything unexpected: people decide, never an automatic allow.
      .otherwise(requestApproval);

    const classifying = props.classificationJobsFunction !== undefined;
    const evaluate = new tasks.LambdaInvoke(this, S.evaluate, {
      lambdaFunction: props.evaluateFunction,
      payload: sfn.TaskInput.fromObject({
        requestId: sfn.JsonPath.stringAt('$.requestId'),
        event: sfn.JsonPath.objectAt('$.event'),
        executionArn: sfn.JsonPath.executionId,
        // How the classification scan ended (null when none was needed).
        ...(classifying ? { scan: sfn.JsonPath.objectAt('$.scan') } : {}),
      }),
      // The function's answer replaces the state: `{requestId, duplicate, invalid, policy}`.
      outputPath: '$.Payload',
    }).addCatch(
      // The state here is Evaluate's input, `{requestId, event}`, with the error at `$.error`. The
      // event goes along: when Evaluate failed before storing the request, the record step stores it.
      new sfn.Pass(this, S.evaluationFailed, {
        parameters: {
          'requestId.$': '$.requestId',
          'event.$': '$.event',
          outcome: {
            decision: Decision.denied,
            // The error's name only: its cause may hold the handler's stack trace.
            'reason.$': "States.Format('evaluation failed: {}', $.error.Error)",
          },
        },
      }).next(recordEvaluationFailure),
      { errors: [sfn.Errors.ALL], resultPath: ERROR_PATH },
    );
    evaluate.next(route);

    const firstStep =
      props.classificationJobsFunction === undefined
        ? evaluate
        : this.classifyBeforeApproval(props.evaluateFunction, props.classificationJobsFunction, evaluate);

    // The public request id is `<agentId>:<the agent's requestId>`, the EventBridge event id standing
    // in when the agent gave none: scoped by agent, so no agent can claim or block another's id.
    // Evaluate checks that the id is the one the validated event names.
    const withId = (name: string, clientIdPath: string) =>
      new sfn.Pass(this, name, {
        parameters: {
          'requestId.$': `States.Format('{}:{}', $.detail.agent.id, ${clientIdPath})`,
          'event.$': '$',
        },
      }).next(firstStep);
    const resolveRequestId = new sfn.Choice(this, S.resolveRequestId)
      .when(
        // The rule only lets events with an agent id through; one that is not a string names nobody.
        sfn.Condition.not(sfn.Condition.isString('$.detail.agent.id')),
        new sfn.Fail(this, S.unidentified, {
          error: WORKFLOW_ERRORS.invalidRequest,
          cause: 'detail.agent.id must be a string',
        }),
      )
      .when(
        sfn.Condition.and(
          sfn.Condition.isPresent('$.detail.requestId'),
          sfn.Condition.isString('$.detail.requestId'),
        ),
        withId(S.withRequestId, '$.detail.requestId'),
      )
      .otherwise(withId(S.withEventId, '$.id'));

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      // The vended-logs prefix keeps CloudWatch Logs' resource policy small as state machines grow.
      logGroupName: `/aws/vendedlogs/states/${Stack.of(this).stackName}-approval-workflow`,
      encryptionKey: props.logEncryptionKey,
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      comment:
        'Countersign: evaluate an agent request, wait for people when policy says so, record and publish',
      definitionBody: sfn.DefinitionBody.fromChainable(resolveRequestId),
      tracingEnabled: true,
      // Every state transition is logged; payloads are not (they carry names and action parameters).
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });

    Validations.of(this.stateMachine.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Execution logging and X-Ray: logs:*LogDelivery*, logs:PutResourcePolicy, logs:Describe* and xray:Put*/GetSampling* do not support resource-level permissions.',
    });
    for (const fn of [
      props.evaluateFunction,
      props.requestApprovalFunction,
      props.recordDecisionFunction,
      props.publishDecisionFunction,
      ...(props.classificationJobsFunction === undefined ? [] : [props.classificationJobsFunction]),
      props.executeFunction,
    ]) {
      Validations.of(this.stateMachine.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).resolve((fn.node.defaultChild as lambda.CfnFunction).logicalId)}.Arn>:*]`,
        reason:
          'lambda:InvokeFunction on the function ARN with any version or alias suffix, as the LambdaInvoke task grants it.',
      });
    }
  }

  /**
   * PlanClassification → NeedsClassification → (ClassificationNotNeeded | StartClassificationJob →
   * WaitForClassification → CheckClassification → ClassificationDone, looping while WAITING) →
   * Evaluate, with `$.scan` saying how the scan ended. Any failure on the way (planning, starting,
   * polling) goes to ClassificationFailed, and the request is evaluated as FAILED: never unclassified.
   * The loop is bounded by the scan's deadline, which CheckClassification enforces.
   */
  private classifyBeforeApproval(
    evaluateFunction: lambda.IFunction,
    jobsFunction: lambda.IFunction,
    evaluate: sfn.IChainable,
  ): sfn.IChainable {
    const failed = new sfn.Pass(this, S.classificationFailed, {
      parameters: {
        state: 'FAILED',
        'reason.$': "States.Format('the classification failed ({})', $.error.Error)",
      },
      resultPath: '$.scan',
    }).next(evaluate);
    const catchAll = { errors: [sfn.Errors.ALL], resultPath: ERROR_PATH };

    const check = new tasks.LambdaInvoke(this, S.checkClassification, {
      lambdaFunction: jobsFunction,
      payload: sfn.TaskInput.fromObject({ scan: sfn.JsonPath.objectAt('$.scan') }),
      payloadResponseOnly: true,
      resultPath: '$.scan',
    })
      .addRetry(TASK_RETRY)
      .addCatch(failed, catchAll);
    const wait = new sfn.Wait(this, S.waitForClassification, {
      time: sfn.WaitTime.secondsPath('$.scan.pollSeconds'),
    }).next(check);
    check.next(
      new sfn.Choice(this, S.classificationDone)
        .when(sfn.Condition.stringEquals('$.scan.state', 'WAITING'), wait)
        .otherwise(evaluate),
    );
    const start = new tasks.LambdaInvoke(this, S.startClassificationJob, {
      lambdaFunction: jobsFunction,
      payload: sfn.TaskInput.fromObject({
        requestId: sfn.JsonPath.stringAt('$.requestId'),
        target: sfn.JsonPath.objectAt('$.plan.target'),
      }),
      payloadResponseOnly: true,
      resultPath: '$.scan',
    })
      .addRetry(TASK_RETRY)
      .addCatch(failed, catchAll);
    start.next(wait);

    const plan = new tasks.LambdaInvoke(this, S.planClassification, {
      lambdaFunction: evaluateFunction,
      payload: sfn.TaskInput.fromObject({ plan: true, event: sfn.JsonPath.objectAt('$.event') }),
      payloadResponseOnly: true,
      resultPath: '$.plan',
    })
      .addRetry(TASK_RETRY)
      .addCatch(failed, catchAll);
    // IsNull true, not `IsNull: false`: the twin's interpreter (aws-local-stepfunctions) reads every
    // type test that is false as never matching.
    plan.next(
      new sfn.Choice(this, S.needsClassification)
        .when(
          sfn.Condition.isNull('$.plan.target'),
          new sfn.Pass(this, S.classificationNotNeeded, {
            inputPath: '$.plan.target',
            resultPath: '$.scan',
          }).next(evaluate),
        )
        .otherwise(start),
    );
    return plan;
  }
}
