/**
 * A local Step Functions: the API operations the project uses (StartExecution, DescribeExecution,
 * ListExecutions, GetExecutionHistory, SendTask*), executions run by aws-local-stepfunctions on the
 * definition from the template, Task states routed to the twin's integrations, `.waitForTaskToken`
 * through the task-token registry, and every execution persisted so a restart re-drives the ones
 * still running, under the same ARN, from the start with the same input (the handlers are
 * idempotent, which is what makes that safe).
 */
// aws-local-stepfunctions needs Promise.withResolvers, which Node 20 lacks.
import './polyfills.ts';
import { randomBytes, randomUUID } from 'node:crypto';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { type Deferred, deferred } from './deferred.ts';
import {
  MAX_TIMER_SECONDS,
  type PreparedDefinition,
  prepareDefinition,
  TaskIntegration,
  type TaskSpec,
  type WrappedTaskInput,
} from './definition.ts';
import { StepFunctionsError, StepFunctionsErrorCode, TaskFailure } from './errors.ts';
import {
  type ExecutionRecord,
  ExecutionStatus,
  type ExecutionStatusValue,
  type ExecutionStore,
  type HistoryEvent,
} from './execution-store.ts';
import { HistoryRecorder, type InterpreterEvent } from './history.ts';
import { hashToken, TaskTokenRegistry } from './task-tokens.ts';

/** Step Functions' limit for execution input, task output and results. */
const MAX_PAYLOAD_BYTES = 256 * 1024;
const TOKEN_MARKER_PREFIX = 'countersign-local-task-token-marker-';
/** How long a running execution's new history events may wait for its next write (see #historyChanged). */
const HISTORY_WRITE_DELAY_MS = 1000;
const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:([a-z0-9-]+):(\d{12}):stateMachine:([A-Za-z0-9_-]{1,80})$/;
const EXECUTION_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[A-Za-z0-9_-]{1,80}:[^:]{1,80}$/;
/** Execution names: 1–80 characters, none of whitespace, brackets, wildcards or `"#%\^|~`$&,;:/`. */
const EXECUTION_NAME = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\p{Cc}]{1,80}$/u;

export interface StateMachineSpec {
  readonly arn: string;
  readonly name: string;
  readonly definition: Record<string, unknown>;
}

/** Where Task states go. Function failures are thrown as TaskFailure (error = errorType). */
export interface TaskIntegrations {
  invokeLambda(functionNameOrArn: string, payload: unknown): Promise<unknown>;
  putEvents(
    entries: readonly Record<string, unknown>[],
  ): Promise<{ Entries: unknown[]; FailedEntryCount: number }>;
}

export interface LocalStepFunctionsOptions {
  readonly stateMachines: readonly StateMachineSpec[];
  readonly integrations: TaskIntegrations;
  /**
   * Where executions persist, so a restart re-drives the unfinished ones. Without a store they live
   * in this process only: for tests and tools that run a definition in process.
   */
  readonly store?: ExecutionStore;
  readonly log?: (message: string) => void;
}

export interface ExecutionDescription {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly status: ExecutionStatusValue;
  readonly startDate: Date;
  readonly stopDate?: Date;
  readonly input: string;
  readonly inputDetails: { included: boolean };
  readonly output?: string;
  readonly outputDetails?: { included: boolean };
  readonly error?: string;
  readonly cause?: string;
  readonly redriveCount: number;
  readonly redriveDate?: Date;
}

export interface ExecutionListItem {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly status: ExecutionStatusValue;
  readonly startDate: Date;
  readonly stopDate?: Date;
  readonly redriveCount: number;
}

interface Machine {
  readonly spec: StateMachineSpec;
  readonly prepared: PreparedDefinition;
  readonly interpreter: StateMachine;
  readonly region: string;
  readonly account: string;
}

/** One attempt of one Task state: settled once its outcome is recorded (or it timed out). */
interface TaskAttempt {
  settled: boolean;
  token?: string;
}

interface RunningExecution {
  readonly record: ExecutionRecord;
  readonly recorder: HistoryRecorder;
  readonly tokenMarker: string;
  readonly entries: Map<string, number>;
  readonly attempts: Map<string, TaskAttempt>;
  readonly cleanups: Set<() => void>;
  detached: boolean;
  /** How many task token hashes the last write scheduled for it held. */
  tokensSaved: number;
  abort: () => void;
  done: Promise<void>;
}

function payloadSize(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function parseJson(text: string, code: StepFunctionsErrorCode, what: string): unknown {
  if (payloadSize(text) > MAX_PAYLOAD_BYTES) {
    throw new StepFunctionsError(code, `${what} exceeds the maximum size of ${MAX_PAYLOAD_BYTES} bytes`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new StepFunctionsError(code, `Invalid ${what} JSON: ${(error as Error).message}`, { cause: error });
  }
}

/** Replaces the context's token marker wherever the Parameters put `$$.Task.Token`. */
function withToken(value: unknown, tokenMarker: string, token: string): unknown {
  if (typeof value === 'string') return value.split(tokenMarker).join(token);
  if (Array.isArray(value)) return value.map((item) => withToken(item, tokenMarker, token));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, withToken(item, tokenMarker, token)]),
    );
  }
  return value;
}

function toFailure(error: unknown): TaskFailure {
  if (error instanceof TaskFailure) return error;
  const cause = error instanceof Error ? error.message : String(error);
  return new TaskFailure(error instanceof Error ? error.name : 'Error', cause);
}

function resourceOf(spec: TaskSpec): { resourceType: string; resource: string } {
  const suffix = spec.waitForTaskToken ? '.waitForTaskToken' : '';
  switch (spec.integration) {
    case TaskIntegration.lambdaInvoke:
      return { resourceType: 'lambda', resource: `invoke${suffix}` };
    case TaskIntegration.eventsPutEvents:
      return { resourceType: 'events', resource: `putEvents${suffix}` };
    default:
      return { resourceType: 'lambda', resource: spec.resource };
  }
}

function describe(record: ExecutionRecord): ExecutionDescription {
  return {
    ...listItem(record),
    input: record.input,
    inputDetails: { included: true },
    ...(record.output === undefined ? {} : { output: record.output, outputDetails: { included: true } }),
    ...(record.error === undefined ? {} : { error: record.error }),
    ...(record.cause === undefined ? {} : { cause: record.cause }),
    ...(record.redriveDate === undefined ? {} : { redriveDate: new Date(record.redriveDate) }),
  };
}

/**
 * A finished execution as memory keeps it once its file holds it: what ListExecutions shows. Its
 * input, output and history are read from the file when asked for (DescribeExecution,
 * GetExecutionHistory); keeping every history in memory grew the twin by every execution it ran.
 */
type StoredExecution = Omit<ExecutionRecord, 'input' | 'output' | 'history' | 'taskTokenHashes'> & {
  readonly stored: true;
};

function storedExecution(record: ExecutionRecord): StoredExecution {
  const { input: _input, output: _output, history: _history, taskTokenHashes: _tokens, ...kept } = record;
  return { ...kept, stored: true };
}

/** An execution as ListExecutions lists it. */
function listItem(record: ExecutionRecord | StoredExecution): ExecutionListItem {
  return {
    executionArn: record.executionArn,
    stateMachineArn: record.stateMachineArn,
    name: record.name,
    status: record.status,
    startDate: new Date(record.startDate),
    ...(record.stopDate === undefined ? {} : { stopDate: new Date(record.stopDate) }),
    redriveCount: record.redriveCount,
  };
}

/** Opaque pagination token: the offset, base64url. */
function pageStart(nextToken: string | undefined): number {
  if (nextToken === undefined) return 0;
  const offset = Number(Buffer.from(nextToken, 'base64url').toString('utf8'));
  if (!Number.isInteger(offset) || offset < 0) {
    throw new StepFunctionsError(StepFunctionsErrorCode.validation, 'Invalid pagination token');
  }
  return offset;
}

function page<T>(items: readonly T[], start: number, max: number): { items: T[]; nextToken?: string } {
  const slice = items.slice(start, start + max);
  const next = start + max;
  return next < items.length
    ? { items: slice, nextToken: Buffer.from(String(next)).toString('base64url') }
    : { items: slice };
}

function maxResults(value: number | undefined, fallback: number): number {
  if (value === undefined || value === 0) return fallback;
  if (!Number.isInteger(value) || value < 0 || value > 1000) {
    throw new StepFunctionsError(
      StepFunctionsErrorCode.validation,
      "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000",
    );
  }
  return value;
}

/** Text in code-point order: ISO times sort as text, and a locale's collation costs far more a comparison. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** ListExecutions' order: the most recent execution first (then by name, for a stable order). */
function newestFirst(
  a: { readonly startDate: string; readonly name: string },
  b: { readonly startDate: string; readonly name: string },
): number {
  return compareText(b.startDate, a.startDate) || compareText(b.name, a.name);
}

export class LocalStepFunctions {
  readonly tokens = new TaskTokenRegistry();
  readonly #machines = new Map<string, Machine>();
  readonly #records = new Map<string, ExecutionRecord | StoredExecution>();
  /** The executions' ARNs in ListExecutions' order, sorted when first asked after a new execution. */
  #newestFirst: string[] | undefined;
  readonly #running = new Map<string, RunningExecution>();
  /** Executions whose history changed since their last write, with the timer of their next one. */
  readonly #historyWrites = new Map<string, NodeJS.Timeout>();
  readonly #completion = new Map<string, Deferred<ExecutionDescription>>();
  readonly #integrations: TaskIntegrations;
  readonly #store: ExecutionStore | undefined;
  readonly #log: (message: string) => void;
  #closed = false;

  private constructor(options: LocalStepFunctionsOptions) {
    this.#integrations = options.integrations;
    this.#store = options.store;
    this.#log = options.log ?? (() => undefined);
    for (const spec of options.stateMachines) {
      const match = STATE_MACHINE_ARN.exec(spec.arn);
      if (match === null)
        throw new StepFunctionsError(StepFunctionsErrorCode.invalidArn, `Invalid Arn: '${spec.arn}'`);
      const prepared = prepareDefinition(spec.definition);
      const interpreter = new StateMachine(
        prepared.interpreterDefinition as unknown as StateMachineDefinition,
        {
          // Function ARNs are local fakes; the definition's structure and paths are still validated.
          validationOptions: { checkArn: false },
        },
      );
      this.#machines.set(spec.arn, { spec, prepared, interpreter, region: match[1]!, account: match[2]! });
    }
  }

  /** Loads the persisted executions; call `resumeRunning()` to re-drive the unfinished ones. */
  static async open(options: LocalStepFunctionsOptions): Promise<LocalStepFunctions> {
    const service = new LocalStepFunctions(options);
    for (const record of (await options.store?.loadAll()) ?? []) {
      service.#records.set(
        record.executionArn,
        record.status === ExecutionStatus.running ? record : storedExecution(record),
      );
      service.tokens.rememberClosed(record.taskTokenHashes);
    }
    return service;
  }

  /** Re-drives every RUNNING execution from the start, with the same ARN and input. */
  resumeRunning(): string[] {
    const resumed: string[] = [];
    for (const record of this.#records.values()) {
      if ('stored' in record || record.status !== ExecutionStatus.running) continue;
      if (!this.#machines.has(record.stateMachineArn)) {
        this.#log(`execution ${record.executionArn} belongs to a state machine no longer in the template`);
        continue;
      }
      record.redriveCount += 1;
      record.redriveDate = new Date().toISOString();
      this.#launch(record, true);
      void this.#save(this.#running.get(record.executionArn), record);
      resumed.push(record.executionArn);
    }
    return resumed;
  }

  #machine(stateMachineArn: string | undefined): Machine {
    if (stateMachineArn === undefined || !STATE_MACHINE_ARN.test(stateMachineArn)) {
      throw new StepFunctionsError(
        StepFunctionsErrorCode.invalidArn,
        `Invalid Arn: '${stateMachineArn ?? ''}'`,
      );
    }
    const machine = this.#machines.get(stateMachineArn);
    if (machine === undefined) {
      throw new StepFunctionsError(
        StepFunctionsErrorCode.stateMachineDoesNotExist,
        `State Machine Does Not Exist: '${stateMachineArn}'`,
      );
    }
    return machine;
  }

  #record(executionArn: string | undefined): ExecutionRecord {
    if (executionArn === undefined || !EXECUTION_ARN.test(executionArn)) {
      throw new StepFunctionsError(StepFunctionsErrorCode.invalidArn, `Invalid Arn: '${executionArn ?? ''}'`);
    }
    const record = this.#records.get(executionArn);
    if (record === undefined) {
      throw new StepFunctionsError(
        StepFunctionsErrorCode.executionDoesNotExist,
        `Execution Does Not Exist: '${executionArn}'`,
      );
    }
    // A finished execution is read from the file its last write landed in (stored only then).
    return 'stored' in record ? this.#store!.readSync(executionArn) : record;
  }

  async startExecution(request: {
    stateMachineArn?: string;
    name?: string;
    input?: string;
  }): Promise<{ executionArn: string; startDate: Date }> {
    const machine = this.#machine(request.stateMachineArn);
    const name = request.name ?? randomUUID();
    if (!EXECUTION_NAME.test(name)) {
      throw new StepFunctionsError(StepFunctionsErrorCode.invalidName, `Invalid Name: '${name}'`);
    }
    const input = request.input ?? '{}';
    parseJson(input, StepFunctionsErrorCode.invalidExecutionInput, 'execution input');
    const executionArn = `arn:aws:states:${machine.region}:${machine.account}:execution:${machine.spec.name}:${name}`;
    const existing = this.#records.get(executionArn);
    if (existing !== undefined) {
      // As Step Functions: the same name and input while still running is the same execution.
      if (
        !('stored' in existing) &&
        existing.status === ExecutionStatus.running &&
        existing.input === input
      ) {
        return { executionArn, startDate: new Date(existing.startDate) };
      }
      throw new StepFunctionsError(
        StepFunctionsErrorCode.executionAlreadyExists,
        `Execution Already Exists: '${executionArn}'`,
      );
    }
    const record: ExecutionRecord = {
      executionArn,
      stateMachineArn: machine.spec.arn,
      name,
      status: ExecutionStatus.running,
      startDate: new Date().toISOString(),
      input,
      redriveCount: 0,
      history: [],
      taskTokenHashes: [],
    };
    this.#records.set(executionArn, record);
    this.#newestFirst = undefined;
    this.#launch(record, false);
    await this.#store?.save(record);
    return { executionArn, startDate: new Date(record.startDate) };
  }

  describeExecution(executionArn: string | undefined): ExecutionDescription {
    return describe(this.#record(executionArn));
  }

  listExecutions(request: {
    stateMachineArn?: string;
    statusFilter?: string;
    maxResults?: number;
    nextToken?: string;
  }): { executions: ExecutionListItem[]; nextToken?: string } {
    const machine = this.#machine(request.stateMachineArn);
    this.#newestFirst ??= [...this.#records.values()].sort(newestFirst).map((record) => record.executionArn);
    const matching = this.#newestFirst
      .map((executionArn) => this.#records.get(executionArn)!)
      .filter((record) => record.stateMachineArn === machine.spec.arn)
      .filter((record) => request.statusFilter === undefined || record.status === request.statusFilter);
    const { items, nextToken } = page(
      matching,
      pageStart(request.nextToken),
      maxResults(request.maxResults, 100),
    );
    return {
      executions: items.map(listItem),
      ...(nextToken === undefined ? {} : { nextToken }),
    };
  }

  getExecutionHistory(request: {
    executionArn?: string;
    maxResults?: number;
    nextToken?: string;
    reverseOrder?: boolean;
    includeExecutionData?: boolean;
  }): { events: (Omit<HistoryEvent, 'timestamp'> & { timestamp: Date })[]; nextToken?: string } {
    const record = this.#record(request.executionArn);
    const ordered = request.reverseOrder === true ? [...record.history].reverse() : record.history;
    const { items, nextToken } = page(
      ordered,
      pageStart(request.nextToken),
      maxResults(request.maxResults, 100),
    );
    const includeData = request.includeExecutionData !== false;
    return {
      events: items.map((event) => ({
        ...(includeData ? event : withoutData(event)),
        timestamp: new Date(event.timestamp),
      })),
      ...(nextToken === undefined ? {} : { nextToken }),
    };
  }

  sendTaskSuccess(taskToken: string | undefined, output: string | undefined): void {
    const parsed = parseJson(output ?? '', StepFunctionsErrorCode.invalidOutput, 'output');
    this.tokens.succeed(taskToken ?? '', parsed);
  }

  sendTaskFailure(taskToken: string | undefined, error?: string, cause?: string): void {
    this.tokens.fail(taskToken ?? '', error ?? '', cause ?? '');
  }

  sendTaskHeartbeat(taskToken: string | undefined): void {
    this.tokens.heartbeat(taskToken ?? '');
  }

  /** Resolves when the execution is no longer RUNNING (for tests and the CLI). */
  waitForCompletion(executionArn: string): Promise<ExecutionDescription> {
    const record = this.#record(executionArn);
    if (record.status !== ExecutionStatus.running) return Promise.resolve(describe(record));
    let waiter = this.#completion.get(executionArn);
    if (waiter === undefined) {
      waiter = deferred<ExecutionDescription>();
      this.#completion.set(executionArn, waiter);
    }
    return waiter.promise;
  }

  /**
   * Stops every running execution without recording an outcome: they stay RUNNING on disk and are
   * re-driven on the next start. Waits for the pending writes.
   */
  async close(): Promise<void> {
    // The history so far is written, as it would have been had the twin run on.
    for (const [executionArn, timer] of [...this.#historyWrites]) {
      clearTimeout(timer);
      const execution = this.#running.get(executionArn);
      if (execution !== undefined) void this.#save(execution, execution.record);
    }
    this.#historyWrites.clear();
    this.#closed = true;
    const running = [...this.#running.values()];
    for (const execution of running) {
      execution.detached = true;
      this.tokens.detachExecution(execution.record.executionArn);
      for (const cleanup of execution.cleanups) cleanup();
      execution.abort();
    }
    await Promise.all(running.map((execution) => execution.done));
    await this.#store?.flush();
  }

  /** Schedules a write of the record; resolves whether a write that includes it landed. */
  #save(execution: RunningExecution | undefined, record: ExecutionRecord): Promise<boolean> {
    // This write includes every change a pending history write was waiting for.
    clearTimeout(this.#historyWrites.get(record.executionArn));
    this.#historyWrites.delete(record.executionArn);
    if (this.#closed || execution?.detached === true || this.#store === undefined)
      return Promise.resolve(false);
    return this.#store.save(record).then(
      () => true,
      (error: unknown) => {
        this.#log(`could not persist execution ${record.executionArn}: ${(error as Error).message}`);
        return false;
      },
    );
  }

  /**
   * An event was added to a running execution's history. A new task token is written at once (a
   * restarted twin must know it, to answer TaskTimedOut to it); other events are written with the
   * execution's next write, at the latest HISTORY_WRITE_DELAY_MS later. A restart re-drives a
   * running execution from its input, so what it needs on disk (the execution, its input, its
   * tokens, its outcome) is written when it changes; the events in between were one write each,
   * the twin's most frequent file write.
   */
  #historyChanged(execution: RunningExecution): void {
    const { record } = execution;
    if (record.taskTokenHashes.length !== execution.tokensSaved) {
      execution.tokensSaved = record.taskTokenHashes.length;
      void this.#save(execution, record);
      return;
    }
    if (this.#historyWrites.has(record.executionArn)) return;
    const timer = setTimeout(() => void this.#save(execution, record), HISTORY_WRITE_DELAY_MS);
    this.#historyWrites.set(record.executionArn, timer);
  }

  #launch(record: ExecutionRecord, redriven: boolean): void {
    const machine = this.#machines.get(record.stateMachineArn)!;
    const execution: RunningExecution = {
      record,
      recorder: new HistoryRecorder(record, () => this.#historyChanged(execution)),
      tokenMarker: `${TOKEN_MARKER_PREFIX}${randomBytes(16).toString('hex')}`,
      entries: new Map(),
      attempts: new Map(),
      cleanups: new Set(),
      detached: false,
      tokensSaved: record.taskTokenHashes.length,
      abort: () => undefined,
      done: Promise.resolve(),
    };
    const handlers = Object.fromEntries(
      [...machine.prepared.tasks.values()].map((spec) => [
        spec.stateName,
        (input: unknown) => this.#runTask(execution, spec, input as WrappedTaskInput),
      ]),
    );
    const run = machine.interpreter.run(JSON.parse(record.input), {
      overrides: { taskResourceLocalHandlers: handlers as never },
      noThrowOnAbort: true,
      context: {
        Execution: { Id: record.executionArn, Name: record.name, RedriveCount: record.redriveCount },
        StateMachine: { Id: machine.spec.arn, Name: machine.spec.name },
        Task: { Token: execution.tokenMarker },
      },
    });
    execution.abort = run.abort;
    // The outcome is read from the event stream; the result promise only must not go unhandled.
    run.result.catch(() => undefined);
    execution.done = (async () => {
      for await (const event of run.eventLogs) {
        if (execution.detached) continue;
        this.#onEvent(execution, machine, event as InterpreterEvent, redriven);
      }
    })();
    this.#running.set(record.executionArn, execution);
  }

  #onEvent(execution: RunningExecution, machine: Machine, event: InterpreterEvent, redriven: boolean): void {
    const stateName = event.state?.name;
    if (event.type === 'StateFailed' && event.Error === 'States.Timeout' && stateName !== undefined) {
      const spec = machine.prepared.tasks.get(stateName);
      const attempt = execution.attempts.get(stateName);
      if (spec !== undefined && attempt !== undefined && !attempt.settled) {
        // The interpreter's TimeoutSeconds fired: the task is over, its token dead.
        attempt.settled = true;
        if (attempt.token !== undefined) this.tokens.close(attempt.token);
        execution.recorder.append('TaskTimedOut', {
          ...resourceOf(spec),
          error: 'States.Timeout',
          cause: 'The task timed out.',
        });
      }
    }
    execution.recorder.onInterpreterEvent(event, { redriven });
    const stopDate = new Date(event.timestamp).toISOString();
    switch (event.type) {
      case 'ExecutionSucceeded':
        this.#finish(execution, {
          status: ExecutionStatus.succeeded,
          stopDate,
          output: JSON.stringify(event.output),
        });
        return;
      case 'ExecutionFailed':
        this.#finish(execution, {
          status: ExecutionStatus.failed,
          stopDate,
          error: String(event.Error),
          cause: typeof event.Cause === 'string' ? event.Cause : JSON.stringify(event.Cause ?? ''),
        });
        return;
      case 'ExecutionTimeout':
        this.#finish(execution, { status: ExecutionStatus.timedOut, stopDate });
        return;
      case 'ExecutionAborted':
        this.#finish(execution, { status: ExecutionStatus.aborted, stopDate });
        return;
      default:
        return;
    }
  }

  #finish(
    execution: RunningExecution,
    outcome: Partial<ExecutionRecord> & { status: ExecutionStatusValue },
  ): void {
    const record = execution.record;
    Object.assign(record, outcome);
    this.tokens.closeExecution(record.executionArn);
    for (const cleanup of execution.cleanups) cleanup();
    this.#running.delete(record.executionArn);
    void this.#save(execution, record).then((landed) => {
      if (landed && this.#records.get(record.executionArn) === record) {
        this.#records.set(record.executionArn, storedExecution(record));
      }
    });
    const waiter = this.#completion.get(record.executionArn);
    if (waiter !== undefined) {
      this.#completion.delete(record.executionArn);
      waiter.resolve(describe(record));
    }
  }

  async #runTask(execution: RunningExecution, spec: TaskSpec, wrapped: WrappedTaskInput): Promise<unknown> {
    if (execution.detached) throw new TaskFailure('States.Runtime', 'The twin is stopping.');
    const entry = (execution.entries.get(spec.stateName) ?? 0) + 1;
    execution.entries.set(spec.stateName, entry);
    await execution.recorder.stateEntered(spec.stateName, entry);
    const attempt: TaskAttempt = { settled: false };
    execution.attempts.set(spec.stateName, attempt);
    const parameters = spec.hasParameters ? wrapped.task : wrapped.stateInput;
    const resource = resourceOf(spec);
    const timeoutSeconds = wrapped.timeoutSeconds ?? spec.timeoutSeconds;
    const heartbeatSeconds = wrapped.heartbeatSeconds ?? spec.heartbeatSeconds;
    const recordTask = (type: string, details: Record<string, unknown>) => {
      if (!attempt.settled && !execution.detached)
        execution.recorder.append(type, { ...resource, ...details });
    };
    // A callback task's token exists before the task is scheduled: its parameters carry it.
    const callback = spec.waitForTaskToken
      ? this.#openCallback(execution, spec, attempt, heartbeatSeconds)
      : undefined;
    const effective =
      callback === undefined ? parameters : withToken(parameters, execution.tokenMarker, callback.token);
    recordTask('TaskScheduled', {
      region: execution.record.executionArn.split(':')[3],
      parameters: JSON.stringify(effective ?? null),
      ...(timeoutSeconds === undefined
        ? {}
        : { timeoutInSeconds: Math.min(timeoutSeconds, MAX_TIMER_SECONDS) }),
      ...(heartbeatSeconds === undefined ? {} : { heartbeatInSeconds: heartbeatSeconds }),
    });
    recordTask('TaskStarted', {});
    try {
      let output: unknown;
      if (callback === undefined) {
        output = await this.#invoke(spec, effective);
      } else {
        try {
          const submitted = await this.#invoke(spec, effective);
          recordTask('TaskSubmitted', { output: JSON.stringify(submitted ?? null) });
          output = await callback.outcome;
        } finally {
          callback.close();
        }
      }
      recordTask('TaskSucceeded', { output: JSON.stringify(output ?? null) });
      attempt.settled = true;
      return output;
    } catch (error) {
      const failure = toFailure(error);
      recordTask(failure.name === 'States.Timeout' ? 'TaskTimedOut' : 'TaskFailed', {
        error: failure.name,
        cause: failure.message,
      });
      attempt.settled = true;
      throw failure;
    }
  }

  /**
   * Mints the token of one callback-task entry and the promise its SendTask* call settles;
   * HeartbeatSeconds without a heartbeat times it out, and stopping the twin releases it.
   */
  #openCallback(
    execution: RunningExecution,
    spec: TaskSpec,
    attempt: TaskAttempt,
    heartbeatSeconds: number | undefined,
  ): { token: string; outcome: Promise<unknown>; close: () => void } {
    const outcome = deferred<unknown>();
    // It may settle before anyone awaits it (heartbeat lapse or shutdown during the invocation).
    outcome.promise.catch(() => undefined);
    let heartbeatTimer: NodeJS.Timeout | undefined;
    const stopHeartbeat = () => clearTimeout(heartbeatTimer);
    const armHeartbeat = () => {
      stopHeartbeat();
      if (heartbeatSeconds === undefined) return;
      heartbeatTimer = setTimeout(() => {
        if (attempt.token !== undefined) this.tokens.close(attempt.token);
        outcome.reject(new TaskFailure('States.Timeout', 'No heartbeat within HeartbeatSeconds.'));
      }, Math.min(heartbeatSeconds, MAX_TIMER_SECONDS) * 1000);
    };
    const detach = () => {
      stopHeartbeat();
      outcome.reject(new TaskFailure('States.Runtime', 'The twin is stopping.'));
    };
    execution.cleanups.add(detach);
    const token = this.tokens.mint({
      executionArn: execution.record.executionArn,
      stateName: spec.stateName,
      succeed: outcome.resolve,
      fail: outcome.reject,
      heartbeat: armHeartbeat,
    });
    attempt.token = token;
    execution.record.taskTokenHashes.push(hashToken(token));
    armHeartbeat();
    return {
      token,
      outcome: outcome.promise,
      close: () => {
        this.tokens.close(token);
        stopHeartbeat();
        execution.cleanups.delete(detach);
      },
    };
  }

  async #invoke(spec: TaskSpec, parameters: unknown): Promise<unknown> {
    switch (spec.integration) {
      case TaskIntegration.lambdaInvoke: {
        const { FunctionName, Payload } = (parameters ?? {}) as { FunctionName?: string; Payload?: unknown };
        if (typeof FunctionName !== 'string') {
          throw new TaskFailure(
            'States.Runtime',
            `state ${spec.stateName}: lambda:invoke needs a FunctionName`,
          );
        }
        const result = await this.#integrations.invokeLambda(FunctionName, Payload ?? {});
        const requestId = randomUUID();
        return {
          ExecutedVersion: '$LATEST',
          Payload: result,
          SdkHttpMetadata: { HttpStatusCode: 200, HttpHeaders: { 'x-amzn-RequestId': requestId } },
          SdkResponseMetadata: { RequestId: requestId },
          StatusCode: 200,
        };
      }
      case TaskIntegration.lambdaFunction:
        return this.#integrations.invokeLambda(spec.resource, parameters);
      case TaskIntegration.eventsPutEvents: {
        const entries = ((parameters ?? {}) as { Entries?: Record<string, unknown>[] }).Entries ?? [];
        const result = await this.#integrations.putEvents(
          entries.map((entry) => ({
            ...entry,
            ...(entry.Detail !== undefined && typeof entry.Detail !== 'string'
              ? { Detail: JSON.stringify(entry.Detail) }
              : {}),
          })),
        );
        if (result.FailedEntryCount > 0) {
          throw new TaskFailure('EventBridge.FailedEntry', JSON.stringify(result));
        }
        return result;
      }
    }
  }
}

/** includeExecutionData=false: the events without their input/output payloads. */
function withoutData(event: HistoryEvent): HistoryEvent {
  return Object.fromEntries(
    Object.entries(event).map(([key, value]) => {
      if (!key.endsWith('EventDetails') || value === null || typeof value !== 'object') return [key, value];
      const {
        input: _input,
        output: _output,
        parameters: _parameters,
        ...rest
      } = value as Record<string, unknown>;
      return [key, rest];
    }),
  ) as HistoryEvent;
}
