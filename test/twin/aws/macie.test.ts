/**
 * The twin's Macie through the real SDK client (`@aws-sdk/client-macie2`, REST-JSON, SigV4) on the
 * twin's one port, over objects put with the real S3 client. moto 5.2.1 implements macie2 without
 * classification jobs or findings, so the oracle here is botocore's own service model: every answer
 * the twin gives (CreateClassificationJob, DescribeClassificationJob, ListFindings, GetFindings) is
 * checked member by member, type by type, enum by enum against it (test/support/botocore_shapes.py);
 * without python3 and botocore that half is skipped with one line.
 */
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateClassificationJobCommand,
  type CreateClassificationJobCommandInput,
  DescribeClassificationJobCommand,
  GetFindingsCommand,
  ListFindingsCommand,
  Macie2Client,
} from '@aws-sdk/client-macie2';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MacieFinding } from '../../../lambdas/domain/macie-finding-schema.ts';
import { MACIE_STATE_FILE } from '../../../local/aws/macie/jobs.ts';
import type { RunningTwin } from '../../../local/twin/index.ts';
import { checkOracle } from '../../support/oracles.ts';
import { agentCredentials, removeDir, startFixtureTwin, tempDataDir } from '../core/helpers.ts';

const BUCKET = 'macie-twin-test';
const SHAPES = join(import.meta.dirname, '..', '..', 'support', 'botocore_shapes.py');

let twin: RunningTwin;
let dataDir: string;
let macie: Macie2Client;
let botocore = false;

/** Problems botocore's model finds in an answer (a JSON round trip turns the SDK's Dates back into strings). */
function modelProblems(operation: string, output: object): string[] {
  const { $metadata: _metadata, ...body } = output as Record<string, unknown>;
  const result = spawnSync('python3', [SHAPES, 'macie2', operation], {
    input: JSON.stringify(body),
    encoding: 'utf8',
  });
  return result.stdout.split('\n').filter((line) => line.length > 0);
}

function job(
  overrides: Partial<CreateClassificationJobCommandInput> = {},
): CreateClassificationJobCommandInput {
  return {
    clientToken: `token-${Math.random()}`,
    name: 'countersign-test',
    jobType: 'ONE_TIME',
    s3JobDefinition: {
      bucketDefinitions: [{ accountId: '000000000000', buckets: [BUCKET] }],
      scoping: {
        includes: {
          and: [{ simpleScopeTerm: { key: 'OBJECT_KEY', comparator: 'STARTS_WITH', values: ['cards.csv'] } }],
        },
      },
    },
    tags: { 'countersign-stack': 'Countersign' },
    ...overrides,
  };
}

async function completed(jobId: string) {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const described = await macie.send(new DescribeClassificationJobCommand({ jobId }));
    if (described.jobStatus === 'COMPLETE') return described;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`job ${jobId} never completed`);
}

beforeAll(async () => {
  dataDir = await tempDataDir();
  twin = await startFixtureTwin(dataDir);
  botocore = checkOracle('python3', "the twin's Macie answers against botocore's macie2 model", [
    '-c',
    'import botocore',
  ]).available;
  const credentials = { ...twin.operatorCredentials };
  macie = new Macie2Client({ endpoint: twin.endpoint, region: twin.region, credentials, maxAttempts: 1 });
  const s3 = new S3Client({
    endpoint: twin.endpoint,
    region: twin.region,
    credentials,
    forcePathStyle: true,
    maxAttempts: 1,
  });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const cards = 'name,card\nAda,4111 1111 1111 1111\nAlan,5500-0000-0000-0004\n';
  await s3.send(
    new PutObjectCommand({ Bucket: BUCKET, Key: 'cards.csv', Body: cards, ContentType: 'text/csv' }),
  );
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cards.csv.bak', Body: 'nothing sensitive' }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'other.csv', Body: cards }));
  s3.destroy();
});

afterAll(async () => {
  macie?.destroy();
  await twin?.stop();
  await removeDir(dataDir);
});

describe("the twin's Macie, through the SDK", () => {
  it('runs a one-time job over the objects its key prefix selects, and finds the card numbers', async () => {
    const input = job();
    const created = await macie.send(new CreateClassificationJobCommand(input));
    expect(created.jobId).toMatch(/^[0-9a-f]{32}$/);
    expect(created.jobArn).toBe(
      `arn:aws:macie2:${twin.region}:000000000000:classification-job/${created.jobId}`,
    );
    // The same client token is the same job.
    expect((await macie.send(new CreateClassificationJobCommand(input))).jobId).toBe(created.jobId);

    const described = await completed(created.jobId!);
    expect(described).toMatchObject({
      jobId: created.jobId,
      jobType: 'ONE_TIME',
      jobStatus: 'COMPLETE',
      lastRunErrorStatus: { code: 'NONE' },
      statistics: { approximateNumberOfObjectsToProcess: 2, numberOfRuns: 1 },
      tags: { 'countersign-stack': 'Countersign' },
    });
    expect(described.createdAt).toBeInstanceOf(Date);

    const listed = await macie.send(
      new ListFindingsCommand({
        findingCriteria: { criterion: { 'classificationDetails.jobId': { eq: [created.jobId!] } } },
      }),
    );
    expect(listed.findingIds).toHaveLength(1);
    const { findings } = await macie.send(new GetFindingsCommand({ findingIds: listed.findingIds! }));
    const [finding] = findings!.map((raw) => MacieFinding.parse(JSON.parse(JSON.stringify(raw))));
    expect(finding).toMatchObject({
      type: 'SensitiveData:S3Object/Financial',
      severity: { description: 'High', score: 3 },
      resourcesAffected: { s3Bucket: { name: BUCKET }, s3Object: { key: 'cards.csv' } },
      classificationDetails: {
        jobId: created.jobId,
        result: {
          mimeType: 'text/csv',
          sensitiveData: [
            {
              category: 'FINANCIAL_INFORMATION',
              totalCount: 2,
              detections: [
                {
                  type: 'CREDIT_CARD_NUMBER',
                  count: 2,
                  occurrences: {
                    cells: [
                      { row: 2, column: 2, columnName: 'card' },
                      { row: 3, column: 2, columnName: 'card' },
                    ],
                  },
                },
              ],
            },
          ],
        },
      },
    });
    if (botocore) {
      // The findings as the twin stores and serves them, raw (the SDK would drop unknown members).
      const state = JSON.parse(await readFile(join(dataDir, MACIE_STATE_FILE), 'utf8'));
      expect(modelProblems('GetFindings', { findings: state.findings })).toEqual([]);
      expect(
        modelProblems('GetFindings', { findings: [{ ...state.findings[0], unknownMember: 1 }] }),
      ).toEqual(['$.findings[0].unknownMember: not a member of Finding']);
      expect(modelProblems('CreateClassificationJob', created)).toEqual([]);
      expect(modelProblems('DescribeClassificationJob', described)).toEqual([]);
      expect(modelProblems('ListFindings', listed)).toEqual([]);
      expect(modelProblems('GetFindings', { findings })).toEqual([]);
    }
  });

  it("refuses what Macie refuses: OBJECT_KEY with EQ (Macie's scope term takes STARTS_WITH only)", async () => {
    const equal = job({
      s3JobDefinition: {
        bucketDefinitions: [{ accountId: '000000000000', buckets: [BUCKET] }],
        scoping: {
          includes: {
            and: [{ simpleScopeTerm: { key: 'OBJECT_KEY', comparator: 'EQ', values: ['cards.csv'] } }],
          },
        },
      },
    });
    await expect(macie.send(new CreateClassificationJobCommand(equal))).rejects.toMatchObject({
      name: 'ValidationException',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(
      macie.send(new DescribeClassificationJobCommand({ jobId: 'f'.repeat(32) })),
    ).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      $metadata: { httpStatusCode: 404 },
    });
  });

  it('reports an error run for a bucket it cannot read', async () => {
    const missing = job({
      s3JobDefinition: { bucketDefinitions: [{ accountId: '000000000000', buckets: ['no-such-bucket'] }] },
    });
    const { jobId } = await macie.send(new CreateClassificationJobCommand(missing));
    expect(await completed(jobId!)).toMatchObject({
      jobStatus: 'COMPLETE',
      lastRunErrorStatus: { code: 'ERROR' },
    });
  });

  it('is the operator’s: an agent key may not call it', async () => {
    const agent = await agentCredentials();
    const asAgent = new Macie2Client({
      endpoint: twin.endpoint,
      region: twin.region,
      credentials: agent,
      maxAttempts: 1,
    });
    await expect(asAgent.send(new CreateClassificationJobCommand(job()))).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    asAgent.destroy();
  });
});
