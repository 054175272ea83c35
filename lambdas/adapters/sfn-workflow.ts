/**
 * Resumes a workflow paused on `.waitForTaskToken` through Step Functions.
 * The three errors that mean "this token can no longer resume anything" become a WorkflowTokenError,
 * so the caller can tell a late vote (the wait already timed out) from an outage, which is rethrown.
 */
import { SendTaskFailureCommand, SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { WorkflowTokenError, WorkflowTokenProblem } from '../domain/errors.ts';
import type { DecisionValue } from '../domain/schemas.ts';
import type { Workflow } from '../ports/index.ts';

const TOKEN_PROBLEM_BY_ERROR_NAME: Readonly<Record<string, WorkflowTokenProblem>> = {
  TaskTimedOut: WorkflowTokenProblem.timedOut,
  InvalidToken: WorkflowTokenProblem.invalidToken,
  TaskDoesNotExist: WorkflowTokenProblem.taskDoesNotExist,
};

export class SfnWorkflow implements Workflow {
  readonly #client: SFNClient;

  constructor(client: SFNClient) {
    this.#client = client;
  }

  async succeed(
    taskToken: string,
    output: { decision: DecisionValue; approvers: readonly string[] },
  ): Promise<void> {
    await this.#send(() =>
      this.#client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) })),
    );
  }

  async fail(taskToken: string, error: string, cause: string): Promise<void> {
    await this.#send(() => this.#client.send(new SendTaskFailureCommand({ taskToken, error, cause })));
  }

  async #send(call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (error) {
      const problem = error instanceof Error ? TOKEN_PROBLEM_BY_ERROR_NAME[error.name] : undefined;
      if (problem === undefined) throw error;
      throw new WorkflowTokenError(problem, `the workflow cannot be resumed: ${error}`, { cause: error });
    }
  }
}
