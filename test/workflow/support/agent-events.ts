/** Agent request events as the Countersign rule delivers them to the state machine. */
import { randomUUID } from 'node:crypto';
import type { AgentRequestDetail } from '../../../lambdas/domain/schemas.ts';

export function agentRequestEvent(detail: Partial<AgentRequestDetail> & Pick<AgentRequestDetail, 'action'>) {
  const agent = detail.agent ?? { id: 'invoice-bot', onBehalfOf: 'dave' };
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Action Requested',
    source: `countersign.agent.${agent.id}`,
    account: '123456789012',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [],
    detail: {
      requestId: `req-${randomUUID()}`,
      agent,
      resource: { arn: 'arn:aws:s3:::invoices/2026/03.csv' },
      parameters: {},
      justification: 'monthly invoice export for finance',
      ...detail,
    },
  };
}
