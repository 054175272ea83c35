/**
 * The SYNTHESIZED approval state machine run in process by the twin's own runner: LocalStepFunctions
 * (aws-local-stepfunctions, task tokens, TimeoutSecondsPath) executes the definition `cdk synth`
 * renders, and each Lambda task runs the handler module the template names, in this process, with
 * the twin's Lambda invocation semantics (InProcessLambdas). The executor function, which Finish
 * invokes itself, is served by the twin's Lambda Invoke API behind the twin's AWS front (SigV4
 * checked) on 127.0.0.1, which the handlers reach through AWS_ENDPOINT_URL_LAMBDA. The SDK's Step Functions client (the vote service's and the handlers'
 * SfnWorkflow) is pointed at the same runner, answering errors as the twin's AWS front does.
 */
import { resolve } from 'node:path';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { EXECUTE_ACTION_HANDLER_ENTRY } from '../../../lib/action-executor.ts';
import type { WorkflowStateName } from '../../../lib/workflow-states.ts';
import { createKeyRing } from '../../../local/aws/front/credentials.ts';
import { createAwsFront } from '../../../local/aws/front/front.ts';
import { jsonResponse } from '../../../local/aws/http.ts';
import { lambdaInvokeService } from '../../../local/aws/lambda/invoke-service.ts';
import { StepFunctionsError } from '../../../local/aws/states/errors.ts';
import { LocalStepFunctions } from '../../../local/aws/states/step-functions.ts';
import { startTwinServer, type TwinServer } from '../../../local/twin/server.ts';
import {
  FAKE_ACCOUNT,
  FAKE_PARTITION,
  FAKE_REGION,
  synthesizeStateMachineDefinition,
} from '../../infra/synth-definition.ts';
import {
  REPO_ROOT,
  setEnvironment,
  TEST_EXECUTOR_FUNCTION_NAME,
  TEST_FUNCTION_CREDENTIALS,
} from './handler-environment.ts';
import { type InProcessFunction, InProcessLambdas } from './in-process-lambdas.ts';

const STATE_MACHINE_NAME = 'ApprovalWorkflow';
const STATE_MACHINE_ARN = `arn:${FAKE_PARTITION}:states:${FAKE_REGION}:${FAKE_ACCOUNT}:stateMachine:${STATE_MACHINE_NAME}`;
/** The stack's default function timeout (lib/handler-function.ts). */
const FUNCTION_TIMEOUT_SECONDS = 30;

/**
 * Sees each task's invocation, and each invocation of the executor function through the Lambda
 * endpoint; calls `invoke` to run the real handler (or not, to fail instead: a task's failure is a
 * TaskFailure, an endpoint's a LambdaFunctionError or an AwsProtocolError, as Lambda answers).
 */
export type TaskInterceptor = (
  functionArn: string,
  payload: unknown,
  invoke: () => Promise<unknown>,
) => Promise<unknown>;

export interface SynthesizedWorkflow {
  readonly stepFunctions: LocalStepFunctions;
  readonly stateMachineArn: string;
  /** The function ARN a Task state of the definition invokes. */
  functionOf(stateName: WorkflowStateName): string;
  /** The executor function's ARN, which Finish invokes through the Lambda endpoint. */
  readonly executorFunctionArn: string;
  close(): Promise<void>;
}

type StateDefinition = { Type?: string; Resource?: string; Parameters?: { FunctionName?: unknown } };

/** The function a Task invokes: `lambda:invoke`'s FunctionName, or the function ARN as its Resource. */
function invokedFunction(state: StateDefinition): string | undefined {
  const arn = state.Resource?.startsWith('arn:aws:lambda:') ? state.Resource : state.Parameters?.FunctionName;
  return typeof arn === 'string' ? arn : undefined;
}

/** The functions the definition's Task states invoke, by ARN. */
function taskFunctions(
  definition: Record<string, unknown>,
  functionEntries: Readonly<Record<string, string>>,
): Map<string, InProcessFunction> {
  const functions = new Map<string, InProcessFunction>();
  for (const [stateName, state] of Object.entries(definition.States as Record<string, StateDefinition>)) {
    if (state.Type !== 'Task') continue;
    const arn = invokedFunction(state);
    const entry = arn === undefined ? undefined : functionEntries[arn];
    if (arn === undefined || entry === undefined) {
      throw new Error(`task ${stateName} invokes no function with a handler entry`);
    }
    const logicalId = arn.slice(arn.lastIndexOf(':') + 1);
    functions.set(arn, {
      name: logicalId,
      arn,
      entry: resolve(REPO_ROOT, entry),
      timeoutSeconds: FUNCTION_TIMEOUT_SECONDS,
      memorySize: 512,
    });
  }
  return functions;
}

/** The executor function of the template, named as the handlers' environment names it. */
function executorFunction(functionEntries: Readonly<Record<string, string>>): InProcessFunction {
  const arn = Object.keys(functionEntries).find(
    (key) => key.startsWith('arn:') && functionEntries[key] === EXECUTE_ACTION_HANDLER_ENTRY,
  );
  if (arn === undefined) throw new Error('the template has no executor function');
  return {
    name: TEST_EXECUTOR_FUNCTION_NAME,
    arn,
    entry: resolve(REPO_ROOT, EXECUTE_ACTION_HANDLER_ENTRY),
    timeoutSeconds: FUNCTION_TIMEOUT_SECONDS,
    memorySize: 512,
  };
}

/** Lambda's Invoke API for `lambdas`, as the twin serves it (the functions' credentials, checked). */
async function startLambdaEndpoint(
  lambdas: InProcessLambdas,
  intercept: TaskInterceptor,
): Promise<TwinServer> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const server = await startTwinServer({ port: 0, log });
  server.serve({
    aws: createAwsFront({
      services: [
        lambdaInvokeService(
          {
            find: (name) => lambdas.find(name),
            invoke: (name, event) =>
              intercept(lambdas.find(name)?.arn ?? name, event, () => lambdas.invokeFunction(name, event)),
          },
          log,
        ),
      ],
      keys: createKeyRing(TEST_FUNCTION_CREDENTIALS, []),
      authorize: () => true,
      log,
    }),
    app: async () => jsonResponse(404, { message: 'not a Lambda call' }),
  });
  return server;
}

/** A runner failure as the SDK surfaces a service error: `name` is the error code. */
function asServiceCall(call: () => void): object {
  try {
    call();
    return {};
  } catch (error) {
    if (!(error instanceof StepFunctionsError)) throw error;
    throw Object.assign(new Error(error.message, { cause: error }), { name: error.code });
  }
}

/**
 * Starts the runner; the handler modules are imported now, so their environment must already be
 * in process.env (the test sets it, as Lambda would before the init phase).
 */
export async function startSynthesizedWorkflow(options: {
  readonly intercept: TaskInterceptor;
  /** CDK context for the synthesis (e.g. `countersign:macie`). @default the stack's defaults */
  readonly context?: Record<string, unknown>;
}): Promise<SynthesizedWorkflow> {
  const { definition, functionEntries } = synthesizeStateMachineDefinition(options.context);
  const functions = taskFunctions(definition, functionEntries);
  const executor = executorFunction(functionEntries);
  const lambdas = new InProcessLambdas([...functions.values(), executor]);
  const lambdaEndpoint = await startLambdaEndpoint(lambdas, options.intercept);
  // Set before the handlers are imported: Finish reads its Lambda endpoint at start.
  const restoreEnvironment = setEnvironment({ AWS_ENDPOINT_URL_LAMBDA: lambdaEndpoint.url });
  await lambdas.loadAll();
  const stepFunctions = await LocalStepFunctions.open({
    stateMachines: [{ arn: STATE_MACHINE_ARN, name: STATE_MACHINE_NAME, definition }],
    integrations: {
      invokeLambda: (functionArn, payload) =>
        options.intercept(functionArn, payload, () => lambdas.invoke(functionArn, payload)),
      putEvents: () => Promise.reject(new Error('the approval workflow has no events:putEvents task')),
    },
  });
  const sfn = mockClient(SFNClient);
  sfn
    .on(SendTaskSuccessCommand)
    .callsFake(({ taskToken, output }) =>
      asServiceCall(() => stepFunctions.sendTaskSuccess(taskToken, output)),
    );
  sfn
    .on(SendTaskFailureCommand)
    .callsFake(({ taskToken, error, cause }) =>
      asServiceCall(() => stepFunctions.sendTaskFailure(taskToken, error, cause)),
    );
  const states = definition.States as Record<string, StateDefinition>;
  return {
    stepFunctions,
    stateMachineArn: STATE_MACHINE_ARN,
    executorFunctionArn: executor.arn,
    functionOf(stateName) {
      const state = states[stateName];
      const arn = state === undefined ? undefined : invokedFunction(state);
      if (arn === undefined) throw new Error(`${stateName} is not a Lambda task`);
      return arn;
    },
    async close() {
      await stepFunctions.close();
      await lambdas.drain();
      await lambdaEndpoint.close();
      restoreEnvironment();
      sfn.restore();
    },
  };
}
