/**
 * Adapts a synthesized definition to aws-local-stepfunctions without changing its meaning.
 *
 * Step Functions resolves a Task's `TimeoutSecondsPath` against the state input; the interpreter
 * (v3) resolves it against the input after `Parameters`, where `$.policy.timeoutSeconds` no longer
 * exists, and fails the state. So each such path is also copied into the task's Parameters under
 * TIMEOUT_PARAMETER, resolved by the interpreter from the state input exactly as AWS would, and the
 * path is pointed there. Task overrides ignore the extra parameter.
 */

export const TIMEOUT_PARAMETER = 'countersignLocalTimeoutSeconds';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type StateDefinition = { [key: string]: Json };
export interface Definition {
  StartAt: string;
  States: Record<string, StateDefinition>;
  [key: string]: Json;
}

export function prepareForInterpreter(definition: Definition): Definition {
  const states = Object.fromEntries(
    Object.entries(definition.States).map(([name, state]) => [name, withResolvableTimeout(state)]),
  );
  return { ...definition, States: states };
}

function withResolvableTimeout(state: StateDefinition): StateDefinition {
  const path = state.TimeoutSecondsPath;
  if (state.Type !== 'Task' || typeof path !== 'string') return state;
  const parameters = state.Parameters;
  if (
    parameters === undefined ||
    parameters === null ||
    typeof parameters !== 'object' ||
    Array.isArray(parameters)
  ) {
    // Without Parameters the interpreter already resolves the path against the state input.
    return state;
  }
  return {
    ...state,
    Parameters: { ...parameters, [`${TIMEOUT_PARAMETER}.$`]: path },
    TimeoutSecondsPath: `$.${TIMEOUT_PARAMETER}`,
  };
}
