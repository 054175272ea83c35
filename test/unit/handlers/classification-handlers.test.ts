/**
 * The Macie handlers as Lambda runs them (imported with the stack's environment, invoked with a
 * Lambda context, against a local DynamoDB), and the Macie adapter at the SDK:
 *  - the findings handler stores a real finding, and fails a malformed one with one log line naming
 *    what is wrong and nothing of the finding (so EventBridge and Lambda retry, then dead-letter it);
 *  - the classification-jobs handler starts a job and polls it; the adapter pages ListFindings,
 *    batches GetFindings by 50 and refuses a job it cannot read.
 */
import { readFileSync } from 'node:fs';
import {
  CreateClassificationJobCommand,
  DescribeClassificationJobCommand,
  GetFindingsCommand,
  ListFindingsCommand,
  Macie2Client,
} from '@aws-sdk/client-macie2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DynamoDbClassificationStore } from '../../../lambdas/adapters/dynamodb/classification-store.ts';
import { MacieClassificationJobs } from '../../../lambdas/adapters/macie-classification-jobs.ts';
import { ValidationError } from '../../../lambdas/domain/errors.ts';
import { ENV } from '../../../lambdas/handlers/environment-names.ts';
import { type LocalTable, startDynalite } from '../../support/dynalite.ts';
import { setEnvironment, workflowHandlerEnvironment } from '../../workflow/support/handler-environment.ts';
import { type LambdaHandler, lambdaContext } from '../../workflow/support/lambda-context.ts';

// biome-ignore lint/suspicious/noExplicitAny: fixtures are edited freely
type Json = any;

const macie = mockClient(Macie2Client);
let table: LocalTable;
let classifications: DynamoDbClassificationStore;
let restoreEnvironment: () => void;
let findings: LambdaHandler;
let jobs: LambdaHandler;

const finding = (): Json =>
  JSON.parse(
    readFileSync(
      new URL('../../fixtures/macie/sensitive-data-finding-multiple-csv.eventbridge.json', import.meta.url),
      'utf8',
    ),
  );

beforeAll(async () => {
  table = await startDynalite();
  classifications = new DynamoDbClassificationStore({ client: table.client, tableName: table.tableName });
  restoreEnvironment = setEnvironment(
    await workflowHandlerEnvironment(table, {
      [ENV.classificationTimeoutSeconds]: '900',
      [ENV.classificationPollSeconds]: '30',
      [ENV.macieBucketOwnerAccountId]: '123456789012',
      [ENV.macieJobTag]: 'Countersign',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    }),
  );
  findings = (await import('../../../lambdas/handlers/classification-findings.ts')).handler;
  jobs = (await import('../../../lambdas/handlers/classification-jobs.ts')).handler;
});

afterAll(async () => {
  macie.restore();
  restoreEnvironment();
  await table.close();
});

beforeEach(() => {
  macie.reset();
});

/** What the handler wrote to stdout and stderr (Powertools' JSON log lines) while `run` ran. */
async function logLines(run: () => Promise<unknown>): Promise<string[]> {
  const lines: string[] = [];
  const capture = (chunk: unknown) => {
    lines.push(String(chunk));
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  try {
    await run();
  } catch {
    // The caller asserts on the failure separately.
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return lines
    .join('')
    .split('\n')
    .filter((line) => line.trim() !== '');
}

describe('the findings handler', () => {
  it('stores a finding as the classification of its object', async () => {
    const event = finding();
    event.detail.resourcesAffected.s3Bucket.name = 'handler-bucket';
    await expect(findings(event, lambdaContext('ClassificationFindings'))).resolves.toMatchObject({
      kind: 'object',
      applied: true,
    });
    expect(
      await classifications.objectVerdict('handler-bucket', 'macie-workshop/sample-data.csv'),
    ).toMatchObject({
      severity: 'High',
    });
  });

  it('fails a malformed finding with one clear log line and no part of the finding, storing nothing', async () => {
    const event = finding();
    event.detail.resourcesAffected.s3Bucket.name = 'malformed-bucket';
    event.detail.severity = { description: 'Catastrophic', score: 9 };
    await expect(findings(event, lambdaContext('ClassificationFindings'))).rejects.toBeInstanceOf(
      ValidationError,
    );
    const lines = await logLines(() => findings(event, lambdaContext('ClassificationFindings')));
    const errors = lines.map((line) => JSON.parse(line)).filter((line) => line.level === 'ERROR');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      message: 'malformed Macie finding rejected',
      issues: expect.arrayContaining([expect.stringMatching(/^detail\.severity\.description: /)]),
    });
    const logged = lines.join('\n');
    for (const leaked of ['malformed-bucket', 'sample-data.csv', 'Catastrophic', event.detail.id]) {
      expect(logged).not.toContain(leaked);
    }
    expect(
      await classifications.objectVerdict('malformed-bucket', 'macie-workshop/sample-data.csv'),
    ).toBeUndefined();
  });
});

describe('the classification-jobs handler', () => {
  it('starts a job scoped to the object and polls it until the verdict is stored', async () => {
    macie.on(CreateClassificationJobCommand).resolves({ jobId: 'job-7' });
    macie
      .on(DescribeClassificationJobCommand)
      .resolves({ jobId: 'job-7', jobStatus: 'RUNNING', createdAt: new Date() });
    const target = { bucket: 'jobs-bucket', key: 'reports/q3.csv' };
    const scan = (await jobs(
      { requestId: 'invoice-bot:r-7', target },
      lambdaContext('ClassificationJobs'),
    )) as Json;
    expect(scan).toMatchObject({ ...target, state: 'WAITING', jobId: 'job-7', pollSeconds: 30 });
    expect(macie.commandCalls(CreateClassificationJobCommand)[0]!.args[0].input).toMatchObject({
      jobType: 'ONE_TIME',
      managedDataIdentifierSelector: 'RECOMMENDED',
      samplingPercentage: 100,
      s3JobDefinition: { bucketDefinitions: [{ accountId: '123456789012', buckets: ['jobs-bucket'] }] },
      tags: { 'countersign-stack': 'Countersign' },
    });
    expect(await jobs({ scan }, lambdaContext('ClassificationJobs'))).toMatchObject({ state: 'WAITING' });
    await expect(
      jobs({ scan: { ...scan, state: 'BOGUS' } }, lambdaContext('ClassificationJobs')),
    ).rejects.toThrow(/invalid classification job input/);
  });
});

describe('the Macie adapter', () => {
  const adapter = () =>
    new MacieClassificationJobs({
      client: new Macie2Client({ region: 'us-east-1' }),
      bucketOwnerAccountId: '123456789012',
      tag: { key: 'countersign-stack', value: 'Countersign' },
    });

  it("pages through a job's finding ids and reads them 50 at a time, as JSON", async () => {
    const ids = Array.from({ length: 120 }, (_, index) => `f-${index}`);
    macie
      .on(ListFindingsCommand)
      .resolvesOnce({ findingIds: ids.slice(0, 100), nextToken: 'page-2' })
      .resolvesOnce({ findingIds: ids.slice(100), nextToken: '' });
    macie.on(GetFindingsCommand).callsFake(({ findingIds }: { findingIds: string[] }) => ({
      findings: findingIds.map((id) => ({ id, updatedAt: new Date('2026-11-30T08:00:00Z') })),
    }));
    const found = (await adapter().findingsOf('job-1')) as { id: string; updatedAt: string }[];
    expect(found.map((item) => item.id)).toEqual(ids);
    expect(found[0]!.updatedAt).toBe('2026-11-30T08:00:00.000Z');
    expect(macie.commandCalls(ListFindingsCommand)[1]!.args[0].input.nextToken).toBe('page-2');
    expect(
      macie.commandCalls(GetFindingsCommand).map((call) => call.args[0].input.findingIds?.length),
    ).toEqual([50, 50, 20]);
  });

  it('reports a job with errors, and refuses an answer without an id, status or creation time', async () => {
    macie.on(DescribeClassificationJobCommand).resolves({
      jobId: 'job-1',
      jobStatus: 'COMPLETE',
      createdAt: new Date('2026-11-30T08:00:00Z'),
      lastRunErrorStatus: { code: 'ERROR' },
    });
    expect(await adapter().describe('job-1')).toEqual({
      jobId: 'job-1',
      status: 'COMPLETE',
      createdAt: '2026-11-30T08:00:00.000Z',
      hadErrors: true,
    });
    macie
      .on(DescribeClassificationJobCommand)
      .resolves({ jobId: 'job-1', jobStatus: 'MYSTERY' as never, createdAt: new Date() });
    await expect(adapter().describe('job-1')).rejects.toThrow(/without a known status/);
    macie.on(CreateClassificationJobCommand).resolves({});
    await expect(
      adapter().start({ clientToken: 't', name: 'n', description: 'd', bucket: 'b', key: 'k' }),
    ).rejects.toThrow(/without an id/);
  });
});
