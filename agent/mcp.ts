/**
 * Countersign as an MCP server (stdio) for agents built on MCP hosts: `npx countersign mcp`.
 *
 *   request_approval  asks for a decision on one action; answers the decision, its reason and the
 *                     signed receipt, or the pending request's id when people have to decide
 *   get_decision      the decision of a request asked before (waiting up to 20 s for it)
 *
 * Configured by the environment: COUNTERSIGN_AGENT_ID (required), COUNTERSIGN_ENDPOINT (the
 * stack's HttpApiUrl; the local twin by default), AWS_REGION, and the standard AWS credential chain
 * (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, AWS_PROFILE …) for SigV4.
 * Bad input and refusals are tool errors (`isError: true`) whose text says what to fix.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { AgentDecisionRequest, AgentDecisionStatus, MAX_WAIT_SECONDS } from '../lambdas/domain/agent-api.ts';
import { CountersignError } from '../lambdas/domain/errors.ts';
import { AgentRequestDetail } from '../lambdas/domain/schemas.ts';
import * as z from '../lambdas/domain/zod.ts';
import { type AgentClient, type ApprovalResult, createAgentClient, type PendingApproval } from './client.ts';
import { CountersignApiError } from './errors.ts';

export const MCP_SERVER_NAME = 'countersign';
export const MCP_AGENT_ID_VARIABLE = 'COUNTERSIGN_AGENT_ID';

const WaitSeconds = z
  .number()
  .check(
    z.int(),
    z.gte(0),
    z.lte(MAX_WAIT_SECONDS),
    z.describe(
      `How long to wait for the decision before answering that it is pending (0..${MAX_WAIT_SECONDS} s)`,
    ),
  );

/** The `Action Requested` detail without the agent (the server's own), plus how long to wait. */
export const RequestApprovalInput = z.extend(z.omit(AgentRequestDetail, { agent: true }), {
  onBehalfOf: AgentRequestDetail.shape.agent.shape.onBehalfOf.check(
    z.describe('The person the agent acts for (directory id or email)'),
  ),
  waitSeconds: z._default(WaitSeconds, MAX_WAIT_SECONDS),
});
export type RequestApprovalInput = z.infer<typeof RequestApprovalInput>;

export const GetDecisionInput = z.strictObject({
  requestId: AgentDecisionRequest.shape.requestId.check(
    z.describe('The id request_approval answered ("<agentId>:<requestId>"), or the requestId given to it'),
  ),
  waitSeconds: z._default(WaitSeconds, 0),
});
export type GetDecisionInput = z.infer<typeof GetDecisionInput>;

function answer(outcome: ApprovalResult | PendingApproval): CallToolResult {
  const text =
    outcome.decision === AgentDecisionStatus.pending
      ? `Pending: people have to decide ${outcome.requestId}. Do not act yet; ask again with get_decision.`
      : `${outcome.decision}: ${outcome.reason ?? 'no reason given'} (request ${outcome.requestId}).`;
  return {
    content: [
      { type: 'text', text },
      { type: 'text', text: JSON.stringify(outcome) },
    ],
    structuredContent: { ...outcome },
  };
}

/** Countersign's refusals and the SDK's errors as tool errors; anything else is a bug and throws. */
function toolError(error: unknown): CallToolResult {
  if (!(error instanceof CountersignError)) throw error;
  const issues =
    error instanceof CountersignApiError && error.issues.length > 0 ? ` (${error.issues.join('; ')})` : '';
  return { content: [{ type: 'text', text: `${error.message}${issues}` }], isError: true };
}

export function createMcpServer(client: AgentClient, version: string): McpServer {
  const server = new McpServer({ name: MCP_SERVER_NAME, version });
  server.registerTool(
    'request_approval',
    {
      title: 'Ask Countersign before acting',
      description:
        'Ask for approval of one AWS action before doing it. Answers the decision (AUTO_APPROVED, ' +
        'APPROVED, DENIED, POLICY_DENIED, EXPIRED), its reason and the signed receipt, or that the ' +
        'request is pending while people decide. Act only on AUTO_APPROVED or APPROVED, with exactly ' +
        'the parameters asked.',
      inputSchema: RequestApprovalInput,
      annotations: { idempotentHint: true, openWorldHint: true },
    },
    async ({ waitSeconds, ...request }) => {
      try {
        const submitted = await client.submitApproval(request);
        if (submitted.decision !== AgentDecisionStatus.pending || waitSeconds === 0) return answer(submitted);
        return answer((await client.getDecision(submitted.requestId, { waitSeconds })) ?? submitted);
      } catch (error) {
        return toolError(error);
      }
    },
  );
  server.registerTool(
    'get_decision',
    {
      title: 'The decision on a request',
      description: 'The decision on a request asked with request_approval, waiting up to waitSeconds for it.',
      inputSchema: GetDecisionInput,
      annotations: { readOnlyHint: true, openWorldHint: true },
    },
    async ({ requestId, waitSeconds }) => {
      try {
        const decided = await client.getDecision(requestId, { waitSeconds });
        return answer(decided ?? { requestId, decision: AgentDecisionStatus.pending });
      } catch (error) {
        return toolError(error);
      }
    },
  );
  return server;
}

/** Serves MCP on stdin/stdout until the host closes it; configuration from the environment. */
export async function serveMcpOverStdio(
  environment: NodeJS.ProcessEnv = process.env,
  version = '0.1.0',
): Promise<McpServer> {
  const agentId = environment[MCP_AGENT_ID_VARIABLE];
  if (agentId === undefined || agentId === '') {
    throw new CountersignError(`${MCP_AGENT_ID_VARIABLE} must name the agent the MCP server asks for`);
  }
  const endpoint = environment.COUNTERSIGN_ENDPOINT;
  const region = environment.AWS_REGION;
  const client = createAgentClient({
    agentId,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(region === undefined ? {} : { region }),
  });
  const server = createMcpServer(client, version);
  await server.connect(new StdioServerTransport());
  return server;
}
