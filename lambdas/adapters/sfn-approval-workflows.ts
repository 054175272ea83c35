/**
 * Starts the approval state machine for the fast decision path, one execution per request: the
 * execution's name is derived from the request id, so Step Functions itself refuses a second one
 * (`ExecutionAlreadyExists`, which here means "already started"), and the input is the event the
 * agent-request rule would have delivered, so the workflow runs exactly as for an event.
 */
import { createHash } from 'node:crypto';
import { DescribeExecutionCommand, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { AgentRequestEvent } from '../domain/schemas.ts';
import type { ApprovalWorkflows } from '../ports/index.ts';

/** Step Functions allows 80 characters for an execution name, none of `:`, `/`, whitespace or wildcards. */
const NAME_MAX = 80;

/**
 * The execution name of a request's workflow: the agent id (readable in the console) and a SHA-256
 * of the whole public id (the client part may hold characters a name may not).
 */
export function executionNameFor(requestId: string): string {
  const agentId = requestId.slice(0, requestId.indexOf(':'));
  const digest = createHash('sha256').update(requestId, 'utf8').digest('hex');
  return `${agentId}-${digest}`.slice(0, NAME_MAX);
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

export class SfnApprovalWorkflows implements ApprovalWorkflows {
  readonly #client: Pick<SFNClient, 'send'>;
  readonly #stateMachineArn: string;

  constructor(options: { readonly client: Pick<SFNClient, 'send'>; readonly stateMachineArn: string }) {
    this.#client = options.client;
    this.#stateMachineArn = options.stateMachineArn;
  }

  async start(requestId: string, event: AgentRequestEvent): Promise<void> {
    try {
      await this.#client.send(
        new StartExecutionCommand({
          stateMachineArn: this.#stateMachineArn,
          name: executionNameFor(requestId),
          input: JSON.stringify(event),
        }),
      );
    } catch (error) {
      // Started before (a retry, a concurrent ask): the one execution of this request runs it.
      if (errorName(error) !== 'ExecutionAlreadyExists') throw error;
    }
  }

  async hasStarted(requestId: string): Promise<boolean> {
    try {
      await this.#client.send(new DescribeExecutionCommand({ executionArn: this.#executionArn(requestId) }));
      return true;
    } catch (error) {
      if (errorName(error) === 'ExecutionDoesNotExist') return false;
      throw error;
    }
  }

  /** An execution's ARN is its state machine's with `execution` for `stateMachine` and the name appended. */
  #executionArn(requestId: string): string {
    return `${this.#stateMachineArn.replace(':stateMachine:', ':execution:')}:${executionNameFor(requestId)}`;
  }
}
