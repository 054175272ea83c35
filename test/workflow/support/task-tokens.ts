/**
 * Task tokens for `.waitForTaskToken` states, which aws-local-stepfunctions does not support: the
 * callback task's override waits on the token here, and this registry is the Workflow port the vote
 * service resumes it through, answering like Step Functions does (a token that timed out, was
 * already used, or was never issued fails with the matching WorkflowTokenError).
 */
import { WorkflowTokenError, WorkflowTokenProblem } from '../../../lambdas/domain/errors.ts';
import type { DecisionValue } from '../../../lambdas/domain/schemas.ts';
import type { Workflow } from '../../../lambdas/ports/index.ts';

/** A SendTaskFailure as the state sees it: `error` is the name its Catch matches on. */
export class TaskFailedError extends Error {
  constructor(error: string, cause: string) {
    super(cause);
    this.name = error;
  }
}

/** What the interpreter's timeout raises; the name is what `States.Timeout` catchers match. */
class TaskTimeoutError extends Error {
  constructor() {
    super('the task timed out waiting for its token');
    this.name = 'States.Timeout';
  }
}

interface Waiting {
  readonly kind: 'waiting';
  resolve(output: unknown): void;
  reject(error: Error): void;
  timer?: NodeJS.Timeout;
  /** The function that hands out the token has returned. */
  started?: boolean;
}
type TokenState = Waiting | { readonly kind: 'completed' } | { readonly kind: 'timedOut' };

export class TaskTokenRegistry implements Workflow {
  readonly #tokens = new Map<string, TokenState>();
  readonly #waiters = new Set<(token: string) => void>();

  /**
   * Runs a callback task: registers `token`, runs `start` (the function that hands the token to
   * whoever will answer), then waits for SendTaskSuccess/SendTaskFailure on the token or for
   * `timeoutSeconds` (which the interpreter also enforces; here it marks the token dead, so a late
   * answer gets TaskTimedOut). If `start` fails, the task fails with its error and the token dies.
   */
  async run(
    token: string,
    timeoutSeconds: number | undefined,
    start: () => Promise<unknown>,
  ): Promise<unknown> {
    if (this.#tokens.has(token)) throw new Error(`task token ${token} is already in use`);
    let state!: Waiting;
    const completion = new Promise<unknown>((resolve, reject) => {
      state = { kind: 'waiting', resolve, reject };
    });
    // Rejections are observed by the caller only once `start` succeeded.
    completion.catch(() => undefined);
    if (timeoutSeconds !== undefined) {
      state.timer = setTimeout(() => {
        this.#tokens.set(token, { kind: 'timedOut' });
        state.reject(new TaskTimeoutError());
      }, timeoutSeconds * 1000);
    }
    // Registered before `start` runs: a reviewer may answer before the function even returns.
    this.#tokens.set(token, state);
    try {
      await start();
    } catch (error) {
      clearTimeout(state.timer);
      this.#tokens.set(token, { kind: 'completed' });
      throw error;
    }
    state.started = true;
    for (const notify of this.#waiters) notify(token);
    return completion;
  }

  /** Resolves once a callback task has handed out a token that `matches` and is waiting on it. */
  whenWaiting(matches: (token: string) => boolean): Promise<string> {
    const existing = [...this.#tokens].find(
      ([token, state]) => state.kind === 'waiting' && state.started === true && matches(token),
    );
    if (existing !== undefined) return Promise.resolve(existing[0]);
    return new Promise((resolve) => {
      const notify = (token: string) => {
        if (!matches(token)) return;
        this.#waiters.delete(notify);
        resolve(token);
      };
      this.#waiters.add(notify);
    });
  }

  async succeed(
    taskToken: string,
    output: { decision: DecisionValue; approvers: readonly string[] },
  ): Promise<void> {
    // The output crosses a JSON boundary in Step Functions; so it does here.
    this.#complete(taskToken).resolve(JSON.parse(JSON.stringify(output)));
  }

  async fail(taskToken: string, error: string, cause: string): Promise<void> {
    this.#complete(taskToken).reject(new TaskFailedError(error, cause));
  }

  #complete(token: string): { resolve(output: unknown): void; reject(error: Error): void } {
    const state = this.#tokens.get(token);
    if (state === undefined) {
      throw new WorkflowTokenError(WorkflowTokenProblem.invalidToken, 'Invalid Token');
    }
    if (state.kind === 'timedOut') {
      throw new WorkflowTokenError(WorkflowTokenProblem.timedOut, 'Task Timed Out');
    }
    if (state.kind === 'completed') {
      throw new WorkflowTokenError(WorkflowTokenProblem.taskDoesNotExist, 'Task Does Not Exist');
    }
    clearTimeout(state.timer);
    this.#tokens.set(token, { kind: 'completed' });
    return state;
  }
}
