/**
 * Prepares a state machine definition for aws-local-stepfunctions. The interpreter runs every Task
 * state through a local override that receives only the state's effective parameters, and it
 * applies a 60-second default timeout that Step Functions does not have. So, in the copy the
 * interpreter gets:
 * - each Task's Parameters are wrapped as `{task: <Parameters>, "stateInput.$": "$", ...}`, so the
 *   override sees both the parameters and the state input (AWS evaluates `TimeoutSecondsPath` and
 *   `HeartbeatSecondsPath` against the state input);
 * - `TimeoutSecondsPath` points at the value evaluated into that wrapper, and a Task without a
 *   timeout gets the longest one a Node timer can hold (AWS's default is 99999999 s).
 * The original definition is kept for the Task specs the runner executes.
 */
import { ConfigurationError } from '../../../lambdas/domain/errors.ts';

/** setTimeout holds at most 2^31-1 ms; longer delays would fire at once. */
export const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

export const TaskIntegration = {
  /** `arn:aws:states:::lambda:invoke`: Parameters carry FunctionName and Payload; the result is wrapped. */
  lambdaInvoke: 'lambda:invoke',
  /** A function ARN as Resource: the effective input is the payload, the result is the function's. */
  lambdaFunction: 'lambda:function',
  /** `arn:aws:states:::events:putEvents`. */
  eventsPutEvents: 'events:putEvents',
} as const;
export type TaskIntegration = (typeof TaskIntegration)[keyof typeof TaskIntegration];

export interface TaskSpec {
  readonly stateName: string;
  readonly resource: string;
  readonly integration: TaskIntegration;
  readonly waitForTaskToken: boolean;
  readonly hasParameters: boolean;
  /** Seconds, when the definition sets a static TimeoutSeconds. */
  readonly timeoutSeconds?: number;
  readonly heartbeatSeconds?: number;
}

/** What the override receives from the wrapped Parameters. */
export interface WrappedTaskInput {
  readonly task?: unknown;
  readonly stateInput: unknown;
  readonly timeoutSeconds?: number;
  readonly heartbeatSeconds?: number;
}

export interface PreparedDefinition {
  readonly interpreterDefinition: Record<string, unknown>;
  readonly tasks: ReadonlyMap<string, TaskSpec>;
}

type StateDefinition = Record<string, unknown>;

function classify(
  stateName: string,
  resource: string,
): { integration: TaskIntegration; waitForTaskToken: boolean } {
  const serviceMatch =
    /^arn:aws[a-z-]*:states:::([a-z0-9-]+:[A-Za-z]+)(\.waitForTaskToken|\.sync(:2)?)?$/.exec(resource);
  if (serviceMatch !== null) {
    const [, api, suffix] = serviceMatch;
    if (suffix?.startsWith('.sync')) {
      throw new ConfigurationError(
        `state ${stateName}: the twin does not run .sync integrations (${resource})`,
      );
    }
    const waitForTaskToken = suffix === '.waitForTaskToken';
    if (api === 'lambda:invoke') return { integration: TaskIntegration.lambdaInvoke, waitForTaskToken };
    if (api === 'events:putEvents') return { integration: TaskIntegration.eventsPutEvents, waitForTaskToken };
    throw new ConfigurationError(`state ${stateName}: the twin does not run the ${api} integration`);
  }
  if (/^arn:aws[a-z-]*:lambda:[^:]*:[^:]*:function:/.test(resource)) {
    return { integration: TaskIntegration.lambdaFunction, waitForTaskToken: false };
  }
  throw new ConfigurationError(`state ${stateName}: the twin does not run Task resource ${resource}`);
}

function positiveNumber(value: unknown): number | undefined {
  return typeof value === 'number' && value > 0 ? value : undefined;
}

function prepareTask(
  stateName: string,
  state: StateDefinition,
  tasks: Map<string, TaskSpec>,
): StateDefinition {
  const resource = String(state.Resource);
  const { integration, waitForTaskToken } = classify(stateName, resource);
  const timeoutSeconds = positiveNumber(state.TimeoutSeconds);
  const heartbeatSeconds = positiveNumber(state.HeartbeatSeconds);
  tasks.set(stateName, {
    stateName,
    resource,
    integration,
    waitForTaskToken,
    hasParameters: state.Parameters !== undefined,
    ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }),
    ...(heartbeatSeconds === undefined ? {} : { heartbeatSeconds }),
  });

  const {
    Parameters,
    TimeoutSeconds: _timeout,
    TimeoutSecondsPath,
    HeartbeatSeconds: _heartbeat,
    HeartbeatSecondsPath,
    ...rest
  } = state;
  const wrapper: Record<string, unknown> = { 'stateInput.$': '$' };
  if (Parameters !== undefined) wrapper.task = Parameters;
  if (typeof HeartbeatSecondsPath === 'string') wrapper['heartbeatSeconds.$'] = HeartbeatSecondsPath;
  const prepared: StateDefinition = { ...rest, Parameters: wrapper };
  if (typeof TimeoutSecondsPath === 'string') {
    wrapper['timeoutSeconds.$'] = TimeoutSecondsPath;
    prepared.TimeoutSecondsPath = '$.timeoutSeconds';
  } else {
    prepared.TimeoutSeconds = Math.min(timeoutSeconds ?? MAX_TIMER_SECONDS, MAX_TIMER_SECONDS);
  }
  return prepared;
}

function prepareStates(
  states: Record<string, StateDefinition>,
  tasks: Map<string, TaskSpec>,
): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(states).map(([name, state]) => {
      if (tasks.has(name)) throw new ConfigurationError(`state name ${name} is used twice`);
      switch (state.Type) {
        case 'Task':
          return [name, prepareTask(name, state, tasks)];
        case 'Parallel':
          return [
            name,
            {
              ...state,
              Branches: (state.Branches as StateDefinition[]).map((branch) => prepareMachine(branch, tasks)),
            },
          ];
        case 'Map': {
          const key = state.ItemProcessor !== undefined ? 'ItemProcessor' : 'Iterator';
          return [name, { ...state, [key]: prepareMachine(state[key] as StateDefinition, tasks) }];
        }
        default:
          return [name, state];
      }
    }),
  );
}

function prepareMachine(machine: StateDefinition, tasks: Map<string, TaskSpec>): StateDefinition {
  if (machine.QueryLanguage === 'JSONata') {
    throw new ConfigurationError(
      'the twin runs JSONPath state machines only (the interpreter ignores JSONata)',
    );
  }
  return { ...machine, States: prepareStates(machine.States as Record<string, StateDefinition>, tasks) };
}

export function prepareDefinition(definition: Record<string, unknown>): PreparedDefinition {
  const tasks = new Map<string, TaskSpec>();
  return { interpreterDefinition: prepareMachine(definition, tasks), tasks };
}
