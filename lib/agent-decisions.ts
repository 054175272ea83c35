import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ENV } from '../lambdas/handlers/environment-names.ts';
import { AGENT_API_ROUTES, type CountersignHttpApi } from './countersign-http-api.ts';
import { BUNDLED_POLICY_DIR, HandlerFunction, POLICY_ENGINE_BUNDLE } from './handler-function.ts';
import type { RequestTable } from './request-table.ts';
import type { SigningKey } from './signing-key.ts';

/** Repo-relative module of the fast decision path's handler. */
export const AGENT_DECISIONS_HANDLER_ENTRY = 'lambdas/handlers/agent-decisions.ts';

export interface AgentDecisionsProps {
  /** Where the IAM-authorized routes go. */
  readonly httpApi: CountersignHttpApi;
  /** The requests (conditional writes) and their audit trail. */
  readonly table: RequestTable;
  /** Signs the receipts of what it decides: the function becomes one of the key's signers. */
  readonly receiptKey: SigningKey;
  /** The approval workflow it starts for what people decide (or Countersign executes). */
  readonly stateMachine: sfn.StateMachine;
  /**
   * The handler environment: the table, defaults, directory and agents' principals; the
   * policy directory, receipt key and state machine are added here.
   */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Whether the workflow classifies data before approval (`countersign:macie`): then a request
   * reading or exporting an object Macie has not classified is left to the workflow, not decided here.
   * @default false
   */
  readonly classifyBeforeApproval?: boolean;
  /** Encrypts the handler's log group. */
  readonly logEncryptionKey: kms.IKey;
  /**
   * @default logs.RetentionDays.ONE_YEAR (HandlerFunction's default)
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The fast decision path: `POST /api/agent/decisions` and `GET /api/agent/decisions/{requestId}`
 * behind the HTTP API's IAM authorizer, served by one function that evaluates with the same
 * policies as Evaluate (bundled the same way), stores what policy alone decides with a signed
 * receipt (FastDecisionAnnouncer approves, records and publishes it from the table's stream), and
 * starts the approval workflow for the rest. Agents call it with SigV4
 * and need `execute-api:Invoke` on `invokeArn`; the handler maps the caller to its agent.
 */
export class AgentDecisions extends Construct {
  readonly handler: HandlerFunction;
  /** What an agent's IAM policy allows `execute-api:Invoke` on to use the fast path. */
  readonly invokeArn: string;

  constructor(scope: Construct, id: string, props: AgentDecisionsProps) {
    super(scope, id);
    this.handler = new HandlerFunction(this, 'FastPath', {
      entry: AGENT_DECISIONS_HANDLER_ENTRY,
      description:
        'Countersign: the agents’ fast decision path (policy decisions at once, the workflow for the rest)',
      environment: {
        ...props.environment,
        [ENV.policyDir]: BUNDLED_POLICY_DIR,
        [ENV.receiptKeyId]: props.receiptKey.keyArn,
        [ENV.stateMachineArn]: props.stateMachine.stateMachineArn,
        [ENV.classifyBeforeApproval]: String(props.classifyBeforeApproval ?? false),
      },
      logEncryptionKey: props.logEncryptionKey,
      logRetention: props.logRetention,
      ...POLICY_ENGINE_BUNDLE,
      // A GET waits up to 20 s for the decision; API Gateway gives an integration 30 s.
      timeout: Duration.seconds(29),
    });
    const role = this.handler.role;
    // It reads, and creates (the decided request, a classification scan's claim): nothing it updates or deletes.
    props.table.grantReadAndPut(role);
    props.receiptKey.grantSign(role);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['states:StartExecution'],
        resources: [props.stateMachine.stateMachineArn],
      }),
    );
    // Whether it started the workflow of a request (its name is derived from the request id).
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['states:DescribeExecution'],
        resources: [executionsOf(props.stateMachine)],
      }),
    );
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<${Stack.of(this).resolve((props.stateMachine.node.defaultChild as sfn.CfnStateMachine).logicalId)}.Name>:*]`,
      reason:
        'states:DescribeExecution on the executions of the approval state machine only: the names are derived from request ids, not known at deploy time.',
    });
    props.httpApi.addIamRoutes('AgentDecisions', {
      routes: Object.values(AGENT_API_ROUTES),
      handler: this.handler.function,
    });
    this.invokeArn = props.httpApi.api.arnForExecuteApi(
      '*',
      `${AGENT_API_ROUTES.requestDecision.path}*`,
      '*',
    );
  }
}

/** `arn:…:states:…:execution:<machine name>:*`: the executions of one state machine. */
function executionsOf(stateMachine: sfn.StateMachine): string {
  return Stack.of(stateMachine).formatArn({
    service: 'states',
    resource: 'execution',
    resourceName: `${stateMachine.stateMachineName}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}
