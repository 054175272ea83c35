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
}
type TokenState = Waiting | { readonly kind: 'completed' } | { readonly kind: 'timedOut' };

export class TaskTokenRegistry implements Workflow {
  readonly #tokens = new Map<string, TokenState>();
  readonly #waiters = new Set<(token: string) => void>();

  /**
   * Waits for SendTaskSuccess/SendTaskFailure on `token`, or times out after `timeoutSeconds`
   * (the interpreter enforces the same timeout; this marks the token dead so a late vote sees it).
   */
  waitFor(token: string, timeoutSeconds?: number): Promise<unknown> {
    if (this.#tokens.has(token)) throw new Error(`task token ${token} is already in use`);
    let state!: Waiting;
    const promise = new Promise<unknown>((resolve, reject) => {
      state = { kind: 'waiting', resolve, reject };
    });
    if (timeoutSeconds !== undefined) {
      state.timer = setTimeout(() => {
        this.#tokens.set(token, { kind: 'timedOut' });
        state.reject(new TaskTimeoutError());
      }, timeoutSeconds * 1000);
    }
    this.#tokens.set(token, state);
    for (const notify of this.#waiters) notify(token);
    return promise;
  }

  /** Resolves when some task starts waiting on a token that `matches`. */
  whenWaiting(matches: (token: string) => boolean): Promise<string> {
    const existing = [...this.#tokens].find(([token, state]) => state.kind === 'waiting' && matches(token));
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

  /** The task failed before it started waiting (its function threw): the token is dead. */
  abandon(token: string): void {
    const state = this.#tokens.get(token);
    if (state?.kind === 'waiting') clearTimeout(state.timer);
    this.#tokens.set(token, { kind: 'completed' });
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
