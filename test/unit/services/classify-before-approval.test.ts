/**
 * Classify before approve, on the real store (dynalite) with a scripted Macie: which requests wait
 * for a scan, how a scan starts (idempotently) and ends (finding, nothing found, failure, timeout),
 * and how Evaluate reads the outcome (FAILED when the scan failed or left nothing).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ClassificationScan } from '../../../lambdas/domain/classification.ts';
import type {
  ClassificationJobSpec,
  ClassificationJobState,
  ClassificationJobs,
} from '../../../lambdas/ports/index.ts';
import { checkScan, startScan } from '../../../lambdas/services/classification-scans.ts';
import { planClassification } from '../../../lambdas/services/classify-before-approval.ts';
import { evaluateRequest, evaluateStep } from '../../../lambdas/services/index.ts';
import { NOW, requireApproval } from '../domain/fixtures.ts';
import {
  anAgentEvent,
  executionArnFor,
  type Harness,
  nextEventId,
  requestIdFor,
  startHarness,
} from './harness.ts';

// biome-ignore lint/suspicious/noExplicitAny: fixtures are edited freely
type Json = any;

class ScriptedMacie implements ClassificationJobs {
  readonly started: ClassificationJobSpec[] = [];
  state: Omit<ClassificationJobState, 'jobId'> = {
    status: 'RUNNING',
    createdAt: NOW.toISOString(),
    hadErrors: false,
  };
  findings: unknown[] = [];
  async start(spec: ClassificationJobSpec) {
    this.started.push(spec);
    return { jobId: `job-${spec.clientToken.slice(0, 8)}` };
  }
  async describe(jobId: string) {
    return { jobId, ...this.state };
  }
  async findingsOf() {
    return this.findings;
  }
}

let harness: Harness;
let macie: ScriptedMacie;
let sequence = 0;
const SETTINGS = { timeoutSeconds: 900, pollSeconds: 15 };

beforeAll(async () => {
  harness = await startHarness();
});

afterAll(async () => {
  await harness.table.close();
});

beforeEach(() => {
  macie = new ScriptedMacie();
  harness.clock.set(NOW);
});

const scanDeps = () => ({
  jobs: macie,
  store: harness.classifications,
  clock: harness.clock,
  settings: SETTINGS,
});

function freshBucket(): string {
  sequence += 1;
  return `scan-bucket-${sequence}`;
}

function copyEvent(bucket: string, key = 'cards.csv') {
  return anAgentEvent(nextEventId(), {
    action: 's3:CopyObject',
    resource: { arn: `arn:aws:s3:::partner/${key}` },
    parameters: { CopySource: `${bucket}/${key}`, Bucket: 'partner', Key: key },
  });
}

function findingAbout(bucket: string, key: string): Json {
  const event = JSON.parse(
    readFileSync(
      new URL('../../fixtures/macie/sensitive-data-finding-multiple-csv.eventbridge.json', import.meta.url),
      'utf8',
    ),
  );
  event.detail.resourcesAffected.s3Bucket.name = bucket;
  event.detail.resourcesAffected.s3Object.key = key;
  event.detail.updatedAt = new Date(NOW.getTime() + 60_000).toISOString();
  return event.detail;
}

describe('planning', () => {
  const plan = (event: unknown) =>
    planClassification({ store: harness.classifications, policy: harness.policy }, event);

  it("scans an unclassified object a data export reads: the copy's source", async () => {
    const bucket = freshBucket();
    expect(await plan(copyEvent(bucket))).toEqual({ bucket, key: 'cards.csv' });
  });

  it('scans nothing for invalid requests, other actions, buckets or classified objects', async () => {
    const bucket = freshBucket();
    expect(await plan({ not: 'an event' })).toBeNull();
    expect(await plan(anAgentEvent(nextEventId(), { action: 's3:PutObject' }))).toBeNull();
    expect(
      await plan(
        anAgentEvent(nextEventId(), {
          action: 's3:PutBucketPolicy',
          resource: { arn: `arn:aws:s3:::${bucket}` },
        }),
      ),
    ).toBeNull();
    await harness.classifications.putObjectVerdict({
      bucket,
      key: 'cards.csv',
      severity: null,
      categories: [],
      types: [],
      typeCounts: {},
      findingIds: [],
      updatedAt: NOW.toISOString(),
    });
    expect(await plan(copyEvent(bucket))).toBeNull();
  });
});

describe('a scan', () => {
  it('starts one job per request and object, scoped to the object, with a deadline', async () => {
    const bucket = freshBucket();
    const scan = await startScan(scanDeps(), {
      requestId: 'invoice-bot:r-1',
      target: { bucket, key: 'cards.csv' },
    });
    expect(scan).toEqual({
      bucket,
      key: 'cards.csv',
      state: 'WAITING',
      jobId: expect.stringMatching(/^job-/),
      deadline: new Date(NOW.getTime() + 900_000).toISOString(),
      pollSeconds: 15,
    });
    await startScan(scanDeps(), { requestId: 'invoice-bot:r-1', target: { bucket, key: 'cards.csv' } });
    await startScan(scanDeps(), { requestId: 'invoice-bot:r-2', target: { bucket, key: 'cards.csv' } });
    const [first, again, other] = macie.started;
    expect(again?.clientToken).toBe(first?.clientToken);
    expect(other?.clientToken).not.toBe(first?.clientToken);
    expect(first?.clientToken).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(first).toMatchObject({ bucket, key: 'cards.csv', name: `countersign-${first?.clientToken}` });
    expect(first?.description.length).toBeLessThanOrEqual(200);
  });

  async function started(bucket: string): Promise<ClassificationScan> {
    return startScan(scanDeps(), {
      requestId: `invoice-bot:${bucket}`,
      target: { bucket, key: 'cards.csv' },
    });
  }

  it('is done as soon as the finding is stored (by the finding rule)', async () => {
    const bucket = freshBucket();
    const scan = await started(bucket);
    expect(await checkScan(scanDeps(), scan)).toMatchObject({ state: 'WAITING' });
    await harness.classifications.putObjectVerdict({
      bucket,
      key: 'cards.csv',
      severity: 'High',
      categories: ['FINANCIAL_INFORMATION'],
      types: ['CREDIT_CARD_NUMBER'],
      typeCounts: { CREDIT_CARD_NUMBER: 3 },
      findingIds: ['f-1'],
      updatedAt: NOW.toISOString(),
    });
    expect(await checkScan(scanDeps(), scan)).toMatchObject({ state: 'DONE' });
  });

  it("reads the job's findings itself once the job is complete (event delivery is best effort)", async () => {
    const bucket = freshBucket();
    const scan = await started(bucket);
    macie.state = { ...macie.state, status: 'COMPLETE' };
    macie.findings = [findingAbout(bucket, 'cards.csv'), findingAbout(bucket, 'cards.csv.bak')];
    expect(await checkScan(scanDeps(), scan)).toMatchObject({ state: 'DONE' });
    expect(await harness.classifications.objectVerdict(bucket, 'cards.csv')).toMatchObject({
      severity: 'High',
    });
    // The job's prefix scope matched another object too; only the named one is the request's.
    expect(await harness.classifications.objectVerdict(bucket, 'cards.csv.bak')).toBeUndefined();
  });

  it('that completes with no finding classifies the object as holding nothing sensitive', async () => {
    const bucket = freshBucket();
    const scan = await started(bucket);
    macie.state = { ...macie.state, status: 'COMPLETE' };
    expect(await checkScan(scanDeps(), scan)).toMatchObject({ state: 'DONE' });
    expect(await harness.classifications.objectVerdict(bucket, 'cards.csv')).toMatchObject({
      severity: null,
      jobId: scan.jobId,
      updatedAt: NOW.toISOString(),
    });
    // A finding of that same job arriving late still wins over "nothing found".
    const late = findingAbout(bucket, 'cards.csv');
    const { recordFinding } = await import('../../../lambdas/services/classification.ts');
    const { MacieFinding } = await import('../../../lambdas/domain/macie-finding-schema.ts');
    expect(await recordFinding(scanDeps(), MacieFinding.parse(late))).toMatchObject({ applied: true });
  });

  it('fails when the job reports errors, is cancelled, or the deadline passes', async () => {
    const bucket = freshBucket();
    const scan = await started(bucket);
    macie.state = { ...macie.state, status: 'COMPLETE', hadErrors: true };
    expect(await checkScan(scanDeps(), scan)).toMatchObject({
      state: 'FAILED',
      reason: expect.stringContaining('reported errors'),
    });
    macie.state = { ...macie.state, status: 'CANCELLED', hadErrors: false };
    expect(await checkScan(scanDeps(), scan)).toMatchObject({
      state: 'FAILED',
      reason: expect.stringContaining('cancelled'),
    });
    macie.state = { ...macie.state, status: 'USER_PAUSED' };
    expect(await checkScan(scanDeps(), scan)).toMatchObject({ state: 'WAITING' });
    harness.clock.set(new Date(Date.parse(scan.deadline)));
    expect(await checkScan(scanDeps(), scan)).toMatchObject({
      state: 'FAILED',
      reason: expect.stringContaining('did not classify the object before'),
    });
    expect(await harness.classifications.objectVerdict(bucket, 'cards.csv')).toBeUndefined();
  });

  it('refuses a malformed finding of the job and stores nothing (it could have been the one)', async () => {
    const bucket = freshBucket();
    const scan = await started(bucket);
    macie.state = { ...macie.state, status: 'COMPLETE' };
    const malformed = findingAbout(bucket, 'cards.csv');
    malformed.severity = { description: 'Unknown', score: 0 };
    macie.findings = [malformed];
    await expect(checkScan(scanDeps(), scan)).rejects.toThrow(/invalid finding of Macie job/);
    expect(await harness.classifications.objectVerdict(bucket, 'cards.csv')).toBeUndefined();
  });
});

describe('Evaluate after a scan', () => {
  async function evaluateCopy(bucket: string, scan: Json) {
    harness.policy.answer = requireApproval();
    const event = copyEvent(bucket);
    const requestId = requestIdFor(event.id);
    await evaluateRequest(harness, { requestId, event, executionArn: executionArnFor(requestId), scan });
    return harness.policy.requests.at(-1)?.classification;
  }

  it('evaluates a failed scan as FAILED, with its reason', async () => {
    const bucket = freshBucket();
    expect(await evaluateCopy(bucket, { state: 'FAILED', reason: 'job timed out' })).toMatchObject({
      status: 'FAILED',
      reason: 'job timed out',
      subject: `s3://${bucket}/cards.csv`,
    });
    expect(await evaluateCopy(bucket, { state: 'WAITING' })).toMatchObject({
      status: 'FAILED',
      reason: 'the Macie scan did not finish',
    });
  });

  it('evaluates a finished scan that left nothing as FAILED, and one that classified the object as that', async () => {
    const bucket = freshBucket();
    expect(await evaluateCopy(bucket, { state: 'DONE' })).toMatchObject({
      status: 'FAILED',
      reason: 'the Macie scan finished but left no classification',
    });
    macie.state = { ...macie.state, status: 'COMPLETE' };
    macie.findings = [findingAbout(bucket, 'cards.csv')];
    const scan = await startScan(scanDeps(), { requestId: 'r', target: { bucket, key: 'cards.csv' } });
    await checkScan(scanDeps(), scan);
    expect(await evaluateCopy(bucket, { state: 'DONE' })).toMatchObject({
      status: 'CLASSIFIED',
      severity: 'High',
    });
    expect(await evaluateCopy(bucket, null)).toMatchObject({ status: 'CLASSIFIED', severity: 'High' });
  });
});

describe('the Evaluate step', () => {
  const step = (state: unknown, classifyFirst = true, deps: Harness = harness) => {
    harness.policy.answer = requireApproval();
    const requestId = requestIdFor((state as { id: string }).id);
    return evaluateStep(deps, { state, executionArn: executionArnFor(requestId), classifyFirst });
  };

  it('answers with the object to classify first, named by the request, and stores nothing yet', async () => {
    const bucket = freshBucket();
    const event = copyEvent(bucket);
    expect(await step(event)).toEqual({
      requestId: requestIdFor(event.id),
      classify: { bucket, key: 'cards.csv' },
    });
    expect(await harness.store.get(requestIdFor(event.id))).toBeUndefined();
    // Without classification jobs in the workflow the request is evaluated as it stands.
    expect(await step(event, false)).toMatchObject({ requestId: requestIdFor(event.id), invalid: false });
    expect(harness.policy.requests.at(-1)?.classification).toMatchObject({ status: 'UNCLASSIFIED' });
  });

  it('evaluates with the scan the workflow put beside the event, and never asks again', async () => {
    const bucket = freshBucket();
    const event = copyEvent(bucket);
    const answer = await step({
      ...event,
      evaluation: { classify: {} },
      scan: { state: 'FAILED', reason: 'job timed out' },
    });
    expect(answer).toMatchObject({ requestId: requestIdFor(event.id), duplicate: false, invalid: false });
    expect(harness.policy.requests.at(-1)?.classification).toMatchObject({
      status: 'FAILED',
      reason: 'job timed out',
    });
    // A scan that is not one the workflow writes did not finish: FAILED, never unclassified.
    const other = copyEvent(freshBucket());
    await step({ ...other, scan: 'done' });
    expect(harness.policy.requests.at(-1)?.classification).toMatchObject({
      status: 'FAILED',
      reason: 'the scan outcome is unreadable',
    });
  });

  it('evaluates as FAILED when it cannot tell whether to classify', async () => {
    const event = copyEvent(freshBucket());
    let calls = 0;
    const failingOnce: Harness = {
      ...harness,
      classifications: Object.assign(Object.create(harness.classifications), {
        objectVerdict(bucket: string, key: string) {
          calls += 1;
          if (calls === 1) throw new RangeError('throttled');
          return harness.classifications.objectVerdict(bucket, key);
        },
      }),
    };
    expect(await step(event, true, failingOnce)).toMatchObject({ invalid: false });
    expect(harness.policy.requests.at(-1)?.classification).toMatchObject({
      status: 'FAILED',
      reason: 'the classification failed (RangeError)',
    });
  });

  it('answers an event naming no agent with no request id, storing nothing', async () => {
    const event = copyEvent(freshBucket());
    const nameless = { ...event, detail: { ...event.detail, agent: { id: 7 } } };
    expect(await step(nameless)).toEqual({
      requestId: null,
      duplicate: false,
      invalid: true,
      policy: expect.objectContaining({
        decision: 'DENY',
        reason: 'invalid request: detail.agent.id must be a string',
      }),
    });
  });
});
