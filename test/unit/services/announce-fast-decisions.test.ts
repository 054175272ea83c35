/**
 * The fast path's follow-up on the real store (dynalite), fed stream events as Lambda delivers
 * them (read by the stream adapter, through the request store's item mapping): each decision's
 * approval, trail and announcement; a failure reported at its record, so that Lambda retries from
 * it, and the retry changes nothing already done; an unreadable fast-path insert fails there,
 * never skipped; anything else on the stream is passed over.
 */
import { marshall } from '@aws-sdk/util-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { streamedFastDecisions } from '../../../lambdas/adapters/dynamodb/fast-decision-stream.ts';
import { toRequestItem } from '../../../lambdas/adapters/dynamodb/request-item.ts';
import { TableKey } from '../../../lambdas/adapters/dynamodb/table-layout.ts';
import { ValidationError } from '../../../lambdas/domain/errors.ts';
import type { ActionDecidedDetail, RequestRecord } from '../../../lambdas/domain/schemas.ts';
import { type AgentDecisionDeps, requestDecision } from '../../../lambdas/services/agent-decisions.ts';
import {
  type AnnounceFastDecisionsDeps,
  announceFastDecisions,
} from '../../../lambdas/services/announce-fast-decisions.ts';
import { NOW } from '../domain/fixtures.ts';
import { ALLOWED_READ, RecordingWorkflows } from './fakes.ts';
import { nextEventId, useHarness } from './harness.ts';

const STREAM_ARN = 'arn:aws:dynamodb:us-east-1:123456789012:table/countersign/stream/2025-06-01T00:00:00.000';

const harness = useHarness();
let deps: AnnounceFastDecisionsDeps;
/** Request ids whose publication fails, as the bus refusing them would. */
let refused: Set<string>;
let published: ActionDecidedDetail[];
let sequence = 0;

beforeEach(() => {
  harness.policy.answer = ALLOWED_READ;
  refused = new Set();
  published = [];
  deps = {
    ...harness,
    publisher: {
      publish: async (detail) => {
        if (refused.has(detail.requestId)) throw new Error(`bus refused ${detail.requestId}`);
        published.push(detail);
      },
    },
  };
});

/** A decision the fast path stored, as the store holds it. */
async function fastDecision(): Promise<RequestRecord> {
  const fastPath: AgentDecisionDeps = {
    ...harness,
    classifyBeforeApproval: false,
    workflows: new RecordingWorkflows(),
    sleep: async () => undefined,
    region: 'us-east-1',
    account: '123456789012',
  };
  const answer = await requestDecision(fastPath, {
    agentId: 'invoice-bot',
    request: {
      requestId: `follow-${nextEventId()}`,
      agent: { id: 'invoice-bot', onBehalfOf: 'dave' },
      action: 's3:GetObject',
      resource: { arn: 'arn:aws:s3:::finance-invoices/2026/11/INV-1.pdf' },
      parameters: { bucket: 'finance-invoices', key: '2026/11/INV-1.pdf' },
      justification: 'answering a customer',
    },
  });
  return (await harness.store.get(answer.requestId))!;
}

/** The stream record DynamoDB writes for an insert (or another change) of `item`. */
function streamRecord(item: Record<string, unknown>, eventName: 'INSERT' | 'MODIFY' = 'INSERT') {
  sequence += 1;
  return {
    eventID: `event-${sequence}`,
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    eventSourceARN: STREAM_ARN,
    dynamodb: {
      ApproximateCreationDateTime: NOW.getTime() / 1000,
      Keys: marshall({ pk: item.pk, sk: item.sk }),
      NewImage: marshall(item, { removeUndefinedValues: true }),
      SequenceNumber: String(1000 + sequence).padStart(21, '0'),
      SizeBytes: 512,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

const eventOf = (records: ReturnType<typeof streamRecord>[]) => ({ Records: records });
const kindsOf = async (requestId: string) =>
  (await harness.store.listAudit(requestId)).map((fact) => [fact.kind, fact.seq]);
const FULL_TRAIL = [
  ['REQUESTED', 1],
  ['EVALUATED', 2],
  ['DECIDED', 3],
  ['SIGNED', 4],
  ['PUBLISHED', 5],
];

describe('announceFastDecisions', () => {
  it('follows up every decision of a batch and passes over what is not a fast-path insert', async () => {
    const [first, second] = [await fastDecision(), await fastDecision()];
    const workflowOwned = { ...first, requestId: 'invoice-bot:wf-1', executionArn: 'arn:aws:states:…' };
    const result = await announceFastDecisions(
      deps,
      streamedFastDecisions(
        eventOf([
          streamRecord(toRequestItem(first)),
          streamRecord(toRequestItem(workflowOwned)),
          streamRecord(toRequestItem(second), 'MODIFY'),
          streamRecord(toRequestItem(second)),
        ]),
      ),
    );
    expect(result).toEqual({ batchItemFailures: [], announced: [first.requestId, second.requestId] });
    expect(await kindsOf(first.requestId)).toEqual(FULL_TRAIL);
    expect(await kindsOf(second.requestId)).toEqual(FULL_TRAIL);
    expect(published.map((detail) => detail.requestId).sort()).toEqual(
      [first.requestId, second.requestId].sort(),
    );
    expect(published.find((detail) => detail.requestId === first.requestId)?.receipt).toBe(first.receipt);
    expect(await kindsOf('invoice-bot:wf-1')).toEqual([]);
  });

  it('reports the first failed record for retry; the retried batch finishes it and changes nothing done', async () => {
    const [done, failing, after] = [await fastDecision(), await fastDecision(), await fastDecision()];
    const records = [done, failing, after].map((record) => streamRecord(toRequestItem(record)));
    refused.add(failing.requestId);
    const result = await announceFastDecisions(deps, streamedFastDecisions(eventOf(records)));
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: records[1]!.dynamodb.SequenceNumber }]);
    expect(result.announced).toEqual([done.requestId]);
    expect(String(result.failure)).toMatch(`bus refused ${failing.requestId}`);
    expect((await kindsOf(failing.requestId)).map(([kind]) => kind)).not.toContain('PUBLISHED');
    const doneTrail = await harness.store.listAudit(done.requestId);

    // Lambda retries from the failed record; the bus takes it now, an hour later.
    refused.clear();
    harness.clock.set(new Date(NOW.getTime() + 3600_000));
    const retried = await announceFastDecisions(deps, streamedFastDecisions(eventOf(records.slice(1))));
    expect(retried).toEqual({ batchItemFailures: [], announced: [failing.requestId, after.requestId] });
    expect(await kindsOf(failing.requestId)).toEqual(FULL_TRAIL);
    expect(await kindsOf(after.requestId)).toEqual(FULL_TRAIL);
    // The record after the failure was followed up on both deliveries: the same trail, published at least once.
    expect(published.filter((detail) => detail.requestId === after.requestId).length).toBeGreaterThanOrEqual(
      1,
    );
    expect(await harness.store.listAudit(done.requestId)).toEqual(doneTrail);
  });

  it('fails at a fast-path insert it cannot read as a request: never skipped quietly', async () => {
    const good = await fastDecision();
    const unreadable = await fastDecision();
    const broken = { ...toRequestItem(unreadable), status: 'MAYBE' };
    const records = [streamRecord(toRequestItem(good)), streamRecord(broken)];
    const result = await announceFastDecisions(deps, streamedFastDecisions(eventOf(records)));
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: records[1]!.dynamodb.SequenceNumber }]);
    expect(result.announced).toEqual([good.requestId]);
    expect(result.failure).toBeInstanceOf(ValidationError);
    expect(await kindsOf(unreadable.requestId)).toEqual([]);
  });
});

describe('streamedFastDecisions', () => {
  it('reads a fast-path insert as the store reads the item, and nothing else', async () => {
    const record = await fastDecision();
    const item = toRequestItem(record);
    const [insert, audit] = streamedFastDecisions(
      eventOf([
        streamRecord(item),
        streamRecord({ ...item, ...TableKey.audit(record.requestId, 'REQUESTED') }),
      ]),
    );
    expect(insert).toEqual({ sequenceNumber: expect.any(String), record });
    expect(audit).toEqual({ sequenceNumber: expect.any(String) });
  });

  it('refuses what is not a DynamoDB stream event', () => {
    expect(() => streamedFastDecisions({ Records: [{ eventName: 'INSERT' }] })).toThrow(ValidationError);
  });
});
