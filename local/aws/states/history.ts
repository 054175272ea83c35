/**
 * Builds an execution's history in the shape of GetExecutionHistory. State-level events come from
 * the interpreter's event stream (read asynchronously); task-level events (TaskScheduled,
 * TaskSubmitted, TaskSucceeded …) come from the runner's task override. To keep them in the order
 * they happened, a task waits until the stream has delivered its state's entry before it records
 * anything (see `stateEntered`).
 */
import type { ExecutionRecord, HistoryEvent } from './execution-store.ts';

export interface InterpreterEvent {
  readonly type: string;
  readonly timestamp: number;
  readonly state?: {
    readonly name: string;
    readonly type: string;
    readonly input?: unknown;
    readonly output?: unknown;
  };
  readonly input?: unknown;
  readonly output?: unknown;
  readonly Error?: string;
  readonly Cause?: unknown;
  readonly index?: number;
  readonly parentState?: { readonly name: string };
}

const json = (value: unknown): string => JSON.stringify(value ?? null);
const text = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value ?? ''));

/** `<type>EventDetails` key, as GetExecutionHistory names it: TaskStateEntered → stateEnteredEventDetails. */
function detailsKey(type: string): string {
  if (/StateEntered$/.test(type)) return 'stateEnteredEventDetails';
  if (/StateExited$/.test(type)) return 'stateExitedEventDetails';
  return `${type.charAt(0).toLowerCase()}${type.slice(1)}EventDetails`;
}

export class HistoryRecorder {
  readonly #record: ExecutionRecord;
  readonly #changed: () => void;
  readonly #entries = new Map<string, number>();
  readonly #waiters: { stateName: string; count: number; resolve: () => void }[] = [];

  constructor(record: ExecutionRecord, changed: () => void) {
    this.#record = record;
    this.#changed = changed;
  }

  append(type: string, details?: Record<string, unknown>, at: Date = new Date()): void {
    const history = this.#record.history;
    const previous = history.at(-1);
    const event: HistoryEvent = {
      id: history.length + 1,
      previousEventId: previous?.id ?? 0,
      timestamp: at.toISOString(),
      type,
      ...(details === undefined ? {} : { [detailsKey(type)]: details }),
    };
    history.push(event);
    this.#changed();
  }

  /** Resolves once the stream delivered the `count`-th entry (or retry) of `stateName`. */
  stateEntered(stateName: string, count: number): Promise<void> {
    if ((this.#entries.get(stateName) ?? 0) >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ stateName, count, resolve }));
  }

  #countEntry(stateName: string): void {
    const count = (this.#entries.get(stateName) ?? 0) + 1;
    this.#entries.set(stateName, count);
    for (let index = this.#waiters.length - 1; index >= 0; index -= 1) {
      const waiter = this.#waiters[index]!;
      if (waiter.stateName === stateName && waiter.count <= count) {
        this.#waiters.splice(index, 1);
        waiter.resolve();
      }
    }
  }

  /** Records what an interpreter event means in Step Functions terms. */
  onInterpreterEvent(event: InterpreterEvent, options: { redriven: boolean }): void {
    const at = new Date(event.timestamp);
    switch (event.type) {
      case 'ExecutionStarted':
        if (options.redriven) {
          this.append('ExecutionRedriven', { redriveCount: this.#record.redriveCount }, at);
        } else {
          this.append(
            'ExecutionStarted',
            { input: json(event.input), inputDetails: { truncated: false } },
            at,
          );
        }
        return;
      case 'StateEntered':
        this.append(
          `${event.state!.type}StateEntered`,
          { name: event.state!.name, input: json(event.state!.input), inputDetails: { truncated: false } },
          at,
        );
        this.#countEntry(event.state!.name);
        return;
      case 'StateRetried':
        this.#countEntry(event.state!.name);
        return;
      case 'StateExited':
        this.append(
          `${event.state!.type}StateExited`,
          { name: event.state!.name, output: json(event.state!.output), outputDetails: { truncated: false } },
          at,
        );
        return;
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed':
        this.append(event.type, { name: event.parentState?.name, index: event.index }, at);
        return;
      case 'ExecutionSucceeded':
        this.append(
          'ExecutionSucceeded',
          { output: json(event.output), outputDetails: { truncated: false } },
          at,
        );
        return;
      case 'ExecutionFailed':
        this.append('ExecutionFailed', { error: event.Error, cause: text(event.Cause) }, at);
        return;
      case 'ExecutionTimeout':
        this.append('ExecutionTimedOut', { error: 'States.Timeout', cause: 'The execution timed out.' }, at);
        return;
      default:
        // StateFailed/StateCaught and parallel-branch events have no history event of their own.
        return;
    }
  }
}
