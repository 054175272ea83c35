/**
 * Task tokens for `.waitForTaskToken` states. The interpreter has no notion of them, so each entry
 * into a callback task mints a fresh, unguessable token here and waits on it; SendTaskSuccess,
 * SendTaskFailure and SendTaskHeartbeat find the waiting task through this registry.
 *
 * As in Step Functions, a token is live exactly once: after it succeeded, failed or timed out (or
 * its execution ended) it answers `TaskTimedOut`, and a token never issued answers `InvalidToken`.
 * Closed tokens are remembered by hash only, so the data dir never holds a usable token.
 */
import { createHash, randomBytes } from 'node:crypto';
import { StepFunctionsError, StepFunctionsErrorCode, TaskFailure } from './errors.ts';

/** Step Functions accepts tokens of 1 to 2048 characters. */
const MAX_TOKEN_LENGTH = 2048;

export interface TaskTokenWaiter {
  readonly executionArn: string;
  readonly stateName: string;
  succeed(output: unknown): void;
  fail(failure: TaskFailure): void;
  heartbeat(): void;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export class TaskTokenRegistry {
  readonly #live = new Map<string, TaskTokenWaiter>();
  readonly #closed = new Set<string>();

  /** 256 random bits, base64url: opaque and not guessable. */
  mint(waiter: TaskTokenWaiter): string {
    const token = randomBytes(32).toString('base64url');
    this.#live.set(token, waiter);
    return token;
  }

  /** Remembers tokens of earlier runs (by hash) so they answer TaskTimedOut, not InvalidToken. */
  rememberClosed(hashes: Iterable<string>): void {
    for (const hash of hashes) this.#closed.add(hash);
  }

  /** Ends a token's life (task finished, timed out, execution ended); later calls get TaskTimedOut. */
  close(token: string): void {
    if (this.#live.delete(token)) this.#closed.add(hashToken(token));
  }

  /** Closes every live token of an execution, e.g. when it ends while a callback is pending. */
  closeExecution(executionArn: string): void {
    for (const [token, waiter] of this.#live) {
      if (waiter.executionArn === executionArn) this.close(token);
    }
  }

  /** Forgets live tokens without closing them: the twin is stopping and will re-drive. */
  detachExecution(executionArn: string): void {
    for (const [token, waiter] of this.#live) {
      if (waiter.executionArn === executionArn) this.#live.delete(token);
    }
  }

  #take(token: string): TaskTokenWaiter {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      throw new StepFunctionsError(
        StepFunctionsErrorCode.validation,
        `1 validation error detected: Value at 'taskToken' failed to satisfy constraint: Member must have length between 1 and ${MAX_TOKEN_LENGTH}`,
      );
    }
    const waiter = this.#live.get(token);
    if (waiter !== undefined) return waiter;
    if (this.#closed.has(hashToken(token))) {
      throw new StepFunctionsError(StepFunctionsErrorCode.taskTimedOut, 'Task Timed Out');
    }
    throw new StepFunctionsError(StepFunctionsErrorCode.invalidToken, 'Invalid token');
  }

  succeed(token: string, output: unknown): void {
    const waiter = this.#take(token);
    this.close(token);
    waiter.succeed(output);
  }

  fail(token: string, error: string, cause: string): void {
    const waiter = this.#take(token);
    this.close(token);
    waiter.fail(new TaskFailure(error, cause));
  }

  heartbeat(token: string): void {
    this.#take(token).heartbeat();
  }
}
