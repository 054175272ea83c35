/**
 * Runs a synthesized approval state machine in process: aws-local-stepfunctions interprets the
 * definition; every Lambda task runs the handler module the template names for its function
 * (through the function's entry metadata), called as the Lambda integration calls it; callback
 * tasks wait on the TaskTokenRegistry.
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { type RunOptions, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { type Definition, prepareForInterpreter } from './interpreter-definition.ts';
import {
  type LambdaHandler,
  lambdaInvokeTask,
  lambdaWaitForTaskTokenTask,
  type TaskOverride,
} from './lambda-tasks.ts';
import type { TaskTokenRegistry } from './task-tokens.ts';

const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';
const LAMBDA_INVOKE_WAIT_FOR_TOKEN = 'arn:aws:states:::lambda:invoke.waitForTaskToken';
const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:ApprovalWorkflow';

export interface LocalWorkflowOptions {
  readonly definition: Record<string, unknown>;
  /** Repo-relative handler module by function ARN, as the synthesized template names them. */
  readonly functionEntries: Readonly<Record<string, string>>;
  readonly repoRoot: string;
  readonly tokens: TaskTokenRegistry;
  /** Replaces the handler of a task state, e.g. to make it fail; gets the real handler. */
  readonly wrapHandler?: (stateName: string, handler: LambdaHandler) => LambdaHandler;
}

export interface LocalExecution {
  readonly executionArn: string;
  /** The `$$.Task.Token` of this execution's callback task. */
  readonly taskToken: string;
  /** Resolves with the execution output; rejects with the interpreter's ExecutionError. */
  readonly result: Promise<unknown>;
}

export interface LocalWorkflow {
  start(input: unknown): LocalExecution;
}

function taskParameters(state: Record<string, unknown>, stateName: string): { FunctionName: string } {
  const parameters = state.Parameters as { FunctionName?: unknown } | undefined;
  if (typeof parameters?.FunctionName !== 'string') {
    throw new Error(`task ${stateName} names no function in Parameters.FunctionName`);
  }
  return { FunctionName: parameters.FunctionName };
}

async function importHandler(entry: string, repoRoot: string): Promise<LambdaHandler> {
  const module = (await import(resolve(repoRoot, entry))) as { handler?: LambdaHandler };
  if (typeof module.handler !== 'function') throw new Error(`${entry} exports no handler`);
  return module.handler;
}

type TaskHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;
/** The interpreter's JSONValue, which it does not export. */
type JsonInput = Parameters<StateMachine['run']>[0];

async function taskOverrides(options: LocalWorkflowOptions): Promise<TaskHandlers> {
  const overrides: Record<string, TaskOverride> = {};
  const states = options.definition.States as Record<string, Record<string, unknown>>;
  for (const [stateName, state] of Object.entries(states)) {
    if (state.Type !== 'Task') continue;
    const { FunctionName } = taskParameters(state, stateName);
    const entry = options.functionEntries[FunctionName];
    if (entry === undefined) throw new Error(`task ${stateName}: no handler entry for ${FunctionName}`);
    const real = await importHandler(entry, options.repoRoot);
    const handler = options.wrapHandler?.(stateName, real) ?? real;
    if (state.Resource === LAMBDA_INVOKE) {
      overrides[stateName] = lambdaInvokeTask(stateName, handler);
    } else if (state.Resource === LAMBDA_INVOKE_WAIT_FOR_TOKEN) {
      overrides[stateName] = lambdaWaitForTaskTokenTask(stateName, handler, options.tokens);
    } else {
      throw new Error(`task ${stateName}: resource ${String(state.Resource)} is not run locally`);
    }
  }
  // The interpreter types task results as its JSONValue; the handlers' answers are JSON by construction.
  return overrides as TaskHandlers;
}

/** Retries happen as defined, without their pauses: the tests check the path, not the clock. */
function immediateRetries(definition: Definition): Record<string, number> {
  return Object.fromEntries(
    Object.entries(definition.States)
      .filter(([, state]) => Array.isArray(state.Retry))
      .map(([name]) => [name, 0]),
  );
}

export async function createLocalWorkflow(options: LocalWorkflowOptions): Promise<LocalWorkflow> {
  const definition = prepareForInterpreter(options.definition as Definition);
  const machine = new StateMachine(definition as unknown as StateMachineDefinition);
  const taskResourceLocalHandlers = await taskOverrides(options);
  const retryIntervalOverrides = immediateRetries(definition);
  return {
    start(input) {
      const name = randomUUID();
      const executionArn = `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${name}`;
      const taskToken = `local-task-token-${randomUUID()}`;
      const execution = machine.run(input as JsonInput, {
        overrides: { taskResourceLocalHandlers, retryIntervalOverrides },
        context: {
          Execution: {
            Id: executionArn,
            Name: name,
            Input: input as JsonInput,
            StartTime: new Date().toISOString(),
          },
          StateMachine: { Id: STATE_MACHINE_ARN, Name: 'ApprovalWorkflow' },
          Task: { Token: taskToken },
        },
      });
      return { executionArn, taskToken, result: execution.result };
    },
  };
}
