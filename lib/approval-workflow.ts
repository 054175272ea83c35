import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { FinishStepError, WorkflowError } from '../lambdas/domain/approval.ts';
import { Decision, UNIDENTIFIED_REASON } from '../lambdas/domain/schemas.ts';
import { WORKFLOW_STATES as S, WORKFLOW_ERRORS } from './workflow-states.ts';

export interface ApprovalWorkflowProps {
  /**
   * Names the request, validates it, deduplicates it and evaluates the policy: `{requestId,
   * duplicate, invalid, policy}`, or `{requestId, classify}` for an object to classify first.
   */
  readonly evaluateFunction: lambda.IFunction;
  /** Stores the task token and notifies reviewers; the vote service resumes the task. */
  readonly requestApprovalFunction: lambda.IFunction;
  /**
   * Finishes a request: records the outcome exactly once, runs an approval Countersign executes
   * (the policy's `executor`) once, and puts the `Action Decided` event on the bus.
   */
  readonly finishFunction: lambda.IFunction;
  /**
   * Classify before approve: the classification-jobs function (StartClassificationJob,
   * CheckClassification). With it, Evaluate answers with the object to classify first when a request
   * reads or exports an unclassified object, which then waits for Macie before it is evaluated.
   * @default - no classification jobs: requests are evaluated with the classification as stored
   */
  readonly classificationJobsFunction?: lambda.IFunction;
  /** Key encrypting the execution log group. */
  readonly logEncryptionKey: kms.IKey;
  /**
   * Retention of the execution log group.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
}

/** Where a catcher puts the error, keeping the rest of the state. */
const ERROR_PATH = '$.error';

/**
 * The execution's state is the event the rule delivered, untouched, with the workflow's own fields
 * beside it: Evaluate's answer here (`{requestId, duplicate, invalid, policy, outcome?}` or
 * `{requestId, classify}`), with the outcome (the policy's, or the one the wait ends with) inside
 * it, and a classification scan at `$.scan`.
 */
const EVALUATION_PATH = '$.evaluation';
const REQUEST_ID_PATH = `${EVALUATION_PATH}.requestId`;
const POLICY_PATH = `${EVALUATION_PATH}.policy`;
const OUTCOME_PATH = `${EVALUATION_PATH}.outcome`;

/** Transient function errors worth retrying for the idempotent finish steps. */
const TASK_RETRY: sfn.RetryProps = {
  errors: [sfn.Errors.TASKS_FAILED],
  interval: Duration.seconds(2),
  maxAttempts: 3,
  backoffRate: 2,
};

/**
 * Finish finds the run claimed by an invocation still running (a duplicate delivery): asked again
 * until that one has finished, or is old enough to count as interrupted (5 minutes).
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
 * Evaluate (names the request from the event, and with classification jobs may answer with an
 * object to classify first) → Route (the classification loop, back to Evaluate | Unidentified |
 * Duplicate | Rejected | the policy's own outcome | RequestApproval .waitForTaskToken with the
 * policy's timeout) → Finish (record, execute when the policy's executor runs an approval, publish),
 * which ends the execution (Step Functions bills every state entered, so no Succeed state follows
 * it and no Pass state names the request): 4 states for a human approval, 3 for what the policy
 * decides alone.
 * Every failure of Evaluate or of the wait ends as a recorded, denied outcome (EvaluationFailed →
 * FinishEvaluationFailure stores the request from the event if Evaluate never did); a timeout, or an
 * expiry sent by the vote service, ends as EXPIRED.
 */
export class ApprovalWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ApprovalWorkflowProps) {
    super(scope, id);

    const recordFailed = new sfn.Fail(this, S.recordFailed, {
      error: WORKFLOW_ERRORS.recordFailed,
      cause: 'recording the decision failed',
    });
    const publishFailed = new sfn.Fail(this, S.publishFailed, {
      error: WORKFLOW_ERRORS.publishFailed,
      cause: 'publishing the decision failed',
    });
    /**
     * A task of the finish function, `payload` plus the execution (every part acts only on the
     * request this execution owns), ending the execution (Step Functions bills every state entered,
     * so no Succeed state follows it). Every part is idempotent, so the whole task is retried.
     */
    const finishTask = (name: string, payload: Record<string, unknown>): tasks.LambdaInvoke =>
      new tasks.LambdaInvoke(this, name, {
        lambdaFunction: props.finishFunction,
        payload: sfn.TaskInput.fromObject({ ...payload, executionArn: sfn.JsonPath.executionId }),
        resultPath: sfn.JsonPath.DISCARD,
      });

    // An execution that failed for good (or stayed claimed by another invocation) is no reason to
    // keep the decision from the agent: it is published, without the run's outcome.
    const publishDecision = finishTask(S.publishDecision, {
      requestId: sfn.JsonPath.stringAt(REQUEST_ID_PATH),
    })
      .addRetry(TASK_RETRY)
      .addCatch(publishFailed, { resultPath: ERROR_PATH });

    // What Countersign executes runs after the decision is recorded and before it is published, so
    // the decision event carries the outcome; the function runs only an approval whose policy names
    // an executor (it reads the stored request). Its failures are named by part: a run still claimed
    // elsewhere is a ConflictError, asked again first; recording or publishing that keeps failing
    // fails the execution; anything the function cannot name (it crashed, or timed out) counts as
    // recording, the first part not known to be done.
    const finish = finishTask(S.finish, {
      requestId: sfn.JsonPath.stringAt(REQUEST_ID_PATH),
      outcome: sfn.JsonPath.objectAt(OUTCOME_PATH),
    })
      .addRetry(EXECUTION_IN_PROGRESS_RETRY)
      .addRetry(TASK_RETRY)
      .addCatch(publishDecision, {
        errors: [FinishStepError.execute, 'ConflictError'],
        resultPath: ERROR_PATH,
      })
      .addCatch(publishFailed, { errors: [FinishStepError.publish], resultPath: ERROR_PATH })
      .addCatch(recordFailed, { resultPath: ERROR_PATH });
    // After a failed evaluation the request may never have been named, nor stored: the task gets the
    // state, the event as delivered, and stores the request from it, denied (a denial runs nothing).
    const finishEvaluationFailure = finishTask(S.finishEvaluationFailure, {
      event: sfn.JsonPath.objectAt('$'),
      outcome: sfn.JsonPath.objectAt(OUTCOME_PATH),
    })
      .addRetry(TASK_RETRY)
      .addCatch(publishFailed, { errors: [FinishStepError.publish], resultPath: ERROR_PATH })
      .addCatch(recordFailed, { resultPath: ERROR_PATH });

    const outcome = (name: string, value: Record<string, string>): sfn.Pass => {
      const pass = new sfn.Pass(this, name, { parameters: value, resultPath: OUTCOME_PATH });
      pass.next(finish);
      return pass;
    };

    const requestApproval = new tasks.LambdaInvoke(this, S.requestApproval, {
      lambdaFunction: props.requestApprovalFunction,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: sfn.TaskInput.fromObject({
        taskToken: sfn.JsonPath.taskToken,
        requestId: sfn.JsonPath.stringAt(REQUEST_ID_PATH),
        // The token is stored only on the request this execution owns.
        executionArn: sfn.JsonPath.executionId,
      }),
      taskTimeout: sfn.Timeout.at(`${POLICY_PATH}.timeoutSeconds`),
      // The vote service resumes with `{decision: "APPROVED", approvers}` through SendTaskSuccess.
      resultPath: OUTCOME_PATH,
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
    requestApproval.next(finish);

    const classifying = props.classificationJobsFunction !== undefined;
    const evaluate = new tasks.LambdaInvoke(this, S.evaluate, {
      lambdaFunction: props.evaluateFunction,
      payload: sfn.TaskInput.fromObject({
        // The event as delivered (with `scan` once classified): Evaluate names the request itself.
        state: sfn.JsonPath.objectAt('$'),
        executionArn: sfn.JsonPath.executionId,
        classifyFirst: classifying,
      }),
      payloadResponseOnly: true,
      resultPath: EVALUATION_PATH,
    })
      // A function error (an AWS call throttled or failing past the SDK's own retries, a crash) is
      // asked again before it denies: Evaluate is idempotent (its write names this execution as
      // the owner, its facts are keyed), and until it answers nothing is decided. Without this, a
      // throttled write after the request was stored PENDING denied it at once.
      .addRetry(TASK_RETRY)
      .addCatch(
        // The state here is Evaluate's input, the event, with the error at `$.error`. The event goes
        // along: when Evaluate failed before storing the request, the record step stores it.
        // Any earlier answer (one asking for a classification) is replaced.
        new sfn.Pass(this, S.evaluationFailed, {
          parameters: {
            outcome: {
              decision: Decision.denied,
              // The error's name only: its cause may hold the handler's stack trace.
              'reason.$': "States.Format('evaluation failed: {}', $.error.Error)",
            },
          },
          resultPath: EVALUATION_PATH,
        }).next(finishEvaluationFailure),
        { errors: [sfn.Errors.ALL], resultPath: ERROR_PATH },
      );

    // One Choice, its rules in the order they must be asked (Choice rules are evaluated in order):
    // an object to classify first, a request that names no agent fails, a duplicate delivery ends
    // quietly, an invalid request fails, what the policy decided alone (Evaluate's outcome: ALLOW,
    // DENY, BREAK_GLASS) is recorded at once, and people decide the rest. One state rather than
    // several, as Step Functions bills each state entered.
    const route = new sfn.Choice(this, S.route);
    if (props.classificationJobsFunction !== undefined) {
      route.when(
        sfn.Condition.isPresent(`${EVALUATION_PATH}.classify`),
        this.classifyBeforeApproval(props.classificationJobsFunction, evaluate),
      );
    }
    route
      .when(
        // The public request id is `<agentId>:<the agent's requestId or the event id>`, scoped by
        // agent so no agent can claim or block another's id; an event whose agent id is not a
        // string names nobody.
        sfn.Condition.isNull(REQUEST_ID_PATH),
        new sfn.Fail(this, S.unidentified, {
          error: WORKFLOW_ERRORS.invalidRequest,
          cause: UNIDENTIFIED_REASON,
        }),
      )
      .when(
        sfn.Condition.booleanEquals(`${EVALUATION_PATH}.duplicate`, true),
        new sfn.Succeed(this, S.duplicate),
      )
      .when(
        sfn.Condition.booleanEquals(`${EVALUATION_PATH}.invalid`, true),
        new sfn.Fail(this, S.rejected, {
          error: WORKFLOW_ERRORS.invalidRequest,
          causePath: `${POLICY_PATH}.reason`,
        }),
      )
      // A break-glass request runs at once; its review opens when the decision is published (see
      // the reconciliation). The record step checks the stored policy backs the outcome again.
      .when(sfn.Condition.isPresent(OUTCOME_PATH), finish)
      // REQUIRE_APPROVAL, and anything unexpected: people decide, never an automatic allow.
      .otherwise(requestApproval);
    evaluate.next(route);

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
      definitionBody: sfn.DefinitionBody.fromChainable(evaluate),
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
      props.finishFunction,
      ...(props.classificationJobsFunction === undefined ? [] : [props.classificationJobsFunction]),
    ]) {
      Validations.of(this.stateMachine.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).resolve((fn.node.defaultChild as lambda.CfnFunction).logicalId)}.Arn>:*]`,
        reason:
          'lambda:InvokeFunction on the function ARN with any version or alias suffix, as the LambdaInvoke task grants it.',
      });
    }
  }

  /**
   * StartClassificationJob → WaitForClassification → CheckClassification → ClassificationDone,
   * looping while WAITING, then Evaluate again with `$.scan` saying how the scan ended. Any failure
   * on the way (starting, polling) goes to ClassificationFailed, and the request is evaluated as
   * FAILED: never unclassified. The loop is bounded by the scan's deadline, which
   * CheckClassification enforces.
   */
  private classifyBeforeApproval(jobsFunction: lambda.IFunction, evaluate: sfn.IChainable): sfn.IChainable {
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
        requestId: sfn.JsonPath.stringAt(REQUEST_ID_PATH),
        target: sfn.JsonPath.objectAt(`${EVALUATION_PATH}.classify`),
      }),
      payloadResponseOnly: true,
      resultPath: '$.scan',
    })
      .addRetry(TASK_RETRY)
      .addCatch(failed, catchAll);
    start.next(wait);
    return start;
  }
}
