import { afterAll, beforeAll, beforeEach } from 'vitest';
/** One dynalite-backed store plus recording fakes: the services exactly as handlers wire them. */
import { DynamoDbClassificationStore } from '../../../lambdas/adapters/dynamodb/classification-store.ts';
import { DynamoDbPrivilegedCallStore } from '../../../lambdas/adapters/dynamodb/privileged-call-store.ts';
import { DynamoDbRequestStore } from '../../../lambdas/adapters/dynamodb/request-store.ts';
import { DynamoDbReviewStore } from '../../../lambdas/adapters/dynamodb/review-store.ts';
import { cloudTrailAction, DEFAULT_PRIVILEGED_ACTIONS } from '../../../lambdas/domain/privileged-actions.ts';
import { type PolicyDecision, publicRequestId } from '../../../lambdas/domain/schemas.ts';
import { evaluateRequest } from '../../../lambdas/services/index.ts';
import type { ReconcileDeps } from '../../../lambdas/services/reconcile-privileged-call.ts';
import { type LocalTable, startDynalite } from '../../support/dynalite.ts';
import { NOW, requireApproval } from '../domain/fixtures.ts';
import {
  FakeDirectory,
  FakePolicyEngine,
  ManualClock,
  RecordingNotifier,
  RecordingPublisher,
  RecordingWorkflow,
  TestReceiptSigner,
} from './fakes.ts';

export interface Harness {
  readonly table: LocalTable;
  readonly store: DynamoDbRequestStore;
  readonly classifications: DynamoDbClassificationStore;
  /** Privileged calls and the approvals they are matched against (the same table). */
  readonly calls: DynamoDbPrivilegedCallStore;
  /** The publish step's view of the call store: where it keeps approvals. */
  readonly grants: DynamoDbPrivilegedCallStore;
  /** The privileged actions watched (the default list): only their approvals are kept and looked up. */
  readonly watchedActions: ReadonlySet<string>;
  readonly reviews: DynamoDbReviewStore;
  readonly clock: ManualClock;
  readonly directory: FakeDirectory;
  readonly policy: FakePolicyEngine;
  readonly workflow: RecordingWorkflow;
  readonly notifier: RecordingNotifier;
  readonly publisher: RecordingPublisher;
  readonly signer: TestReceiptSigner;
}

/**
 * For a test file: the harness, started before its tests and closed after them, with what the fakes
 * recorded cleared, their failures removed and the clock set to NOW before each test. The object is
 * filled in by `beforeAll`, so it can be passed to services as it is.
 */
export function useHarness(): Harness {
  const harness = {} as Harness;
  beforeAll(async () => {
    Object.assign(harness, await startHarness());
  });
  afterAll(async () => {
    await harness.table.close();
  });
  beforeEach(() => {
    harness.workflow.calls.length = 0;
    harness.workflow.failure = undefined;
    harness.notifier.requested.length = 0;
    harness.notifier.firstAsks.length = 0;
    harness.notifier.updated.length = 0;
    harness.notifier.failure = undefined;
    harness.publisher.published.length = 0;
    harness.clock.set(NOW);
  });
  return harness;
}

export async function startHarness(): Promise<Harness> {
  const table = await startDynalite();
  const calls = new DynamoDbPrivilegedCallStore({ client: table.client, tableName: table.tableName });
  return {
    table,
    store: new DynamoDbRequestStore({ client: table.client, tableName: table.tableName }),
    classifications: new DynamoDbClassificationStore({ client: table.client, tableName: table.tableName }),
    calls,
    grants: calls,
    watchedActions: new Set(DEFAULT_PRIVILEGED_ACTIONS.map(cloudTrailAction)),
    reviews: new DynamoDbReviewStore({ client: table.client, tableName: table.tableName }),
    clock: new ManualClock(NOW),
    directory: new FakeDirectory(),
    policy: new FakePolicyEngine(requireApproval()),
    workflow: new RecordingWorkflow(),
    notifier: new RecordingNotifier(),
    publisher: new RecordingPublisher(),
    signer: await TestReceiptSigner.create(),
  };
}

/** The IAM user the agent's calls are made as (its `countersign:agents` principal). */
export const AGENT_ARN = 'arn:aws:iam::111122223333:user/agents/invoice-bot';

/** The CloudTrail reconciliation over the harness's stores, the agent `invoice-bot` known by AGENT_ARN. */
export function reconcileDepsOf(harness: Harness, alerts: ReconcileDeps['alerts']): ReconcileDeps {
  return {
    calls: harness.calls,
    reviews: harness.reviews,
    alerts,
    store: harness.store,
    policy: harness.policy,
    directory: harness.directory,
    agents: [{ id: 'invoice-bot', principalArn: AGENT_ARN }],
    watchedActions: harness.watchedActions,
    defaultApproverGroup: 'security',
    clock: harness.clock,
  };
}

let sequence = 0;

/** A unique EventBridge event id per call, so tests sharing a table never share a request. */
export function nextEventId(): string {
  sequence += 1;
  return `6a7e8feb-b491-4cf7-a9f1-${String(sequence).padStart(12, '0')}`;
}

/** An agent's request as the rule delivers it; the source names the detail's agent. */
export function anAgentEvent(id: string, detail: Record<string, unknown> = {}) {
  const agentId = (detail.agent as { id?: string } | undefined)?.id ?? 'invoice-bot';
  return {
    version: '0',
    id,
    'detail-type': 'Action Requested',
    source: `countersign.agent.${agentId}`,
    account: '123456789012',
    time: '2025-06-01T12:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail: {
      agent: { id: 'invoice-bot', onBehalfOf: 'dave@example.com' },
      action: 's3:CopyObject',
      resource: { arn: 'arn:aws:s3:::invoices/2025/06.csv' },
      parameters: { Bucket: 'exports', Key: '06.csv' },
      justification: 'monthly export for finance',
      ...detail,
    },
  };
}

export function executionArnFor(requestId: string, attempt = 'run-1'): string {
  return `arn:aws:states:us-east-1:123456789012:execution:countersign-approval:${requestId}-${attempt}`;
}

/** The public id of a request `anAgentEvent` makes without a requestId of its own (the event id). */
export function requestIdFor(eventId: string, agentId = 'invoice-bot'): string {
  return publicRequestId(agentId, eventId);
}

/** Runs the evaluate step for a fresh request under `policy`; returns the request id. */
export async function submit(harness: Harness, policy: PolicyDecision = requireApproval()): Promise<string> {
  harness.policy.answer = policy;
  const id = nextEventId();
  const requestId = requestIdFor(id);
  const result = await evaluateRequest(harness, {
    requestId,
    event: anAgentEvent(id),
    executionArn: executionArnFor(requestId),
  });
  return result.requestId;
}

/** A policy that allows the action and names Countersign its executor. */
export const EXECUTED: PolicyDecision = {
  decision: 'ALLOW',
  groups: [],
  quorum: 0,
  timeoutSeconds: 0,
  stepUp: false,
  policyIds: ['copy-executed'],
  reason: 'Allowed by policy "copy-executed".',
  executor: 'countersign',
};

/** An export Countersign is asked to run (`execute: true`), in AWS's own parameter spelling. */
export const COPY = {
  action: 's3:CopyObject',
  resource: { arn: 'arn:aws:s3:::invoices/2025/06.csv' },
  parameters: { CopySource: 'invoices/2025/06.csv', Bucket: 'exports', Key: '06.csv' },
  execute: true,
};
