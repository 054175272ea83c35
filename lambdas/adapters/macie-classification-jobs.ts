/**
 * ClassificationJobs on Amazon Macie (REST-JSON, `@aws-sdk/client-macie2`): a one-time job scoped to
 * one bucket and the object's key, its status, and its findings. Macie's `OBJECT_KEY` scope term
 * takes STARTS_WITH only (the service model's SimpleScopeTerm), so a job may also analyse objects
 * whose key extends this one; the caller uses only the named object's findings. Jobs are tagged, so
 * IAM can let this role describe only the jobs it created.
 */
import {
  CreateClassificationJobCommand,
  DescribeClassificationJobCommand,
  GetFindingsCommand,
  ListFindingsCommand,
  type Macie2Client,
} from '@aws-sdk/client-macie2';
import { CountersignError } from '../domain/errors.ts';
import { MacieJobStatus } from '../domain/macie-finding.ts';
import type { ClassificationJobSpec, ClassificationJobState, ClassificationJobs } from '../ports/index.ts';

/** GetFindings takes at most 50 ids a call. */
const GET_FINDINGS_BATCH = 50;
const JOB_STATUSES: ReadonlySet<string> = new Set(Object.values(MacieJobStatus));

export interface MacieClassificationJobsOptions {
  readonly client: Macie2Client;
  /** The account that owns the buckets the jobs analyse (this stack's account). */
  readonly bucketOwnerAccountId: string;
  /** The tag every job carries (IAM scopes DescribeClassificationJob to it). */
  readonly tag: { readonly key: string; readonly value: string };
}

export class MacieClassificationJobs implements ClassificationJobs {
  readonly #client: Macie2Client;
  readonly #accountId: string;
  readonly #tag: { readonly key: string; readonly value: string };

  constructor(options: MacieClassificationJobsOptions) {
    this.#client = options.client;
    this.#accountId = options.bucketOwnerAccountId;
    this.#tag = options.tag;
  }

  async start(spec: ClassificationJobSpec): Promise<{ jobId: string }> {
    const created = await this.#client.send(
      new CreateClassificationJobCommand({
        clientToken: spec.clientToken,
        name: spec.name,
        description: spec.description,
        jobType: 'ONE_TIME',
        managedDataIdentifierSelector: 'RECOMMENDED',
        samplingPercentage: 100,
        s3JobDefinition: {
          bucketDefinitions: [{ accountId: this.#accountId, buckets: [spec.bucket] }],
          scoping: {
            includes: {
              and: [
                { simpleScopeTerm: { key: 'OBJECT_KEY', comparator: 'STARTS_WITH', values: [spec.key] } },
              ],
            },
          },
        },
        tags: { [this.#tag.key]: this.#tag.value },
      }),
    );
    if (created.jobId === undefined) throw new CountersignError('Macie created a job without an id');
    return { jobId: created.jobId };
  }

  async describe(jobId: string): Promise<ClassificationJobState> {
    const job = await this.#client.send(new DescribeClassificationJobCommand({ jobId }));
    const status = job.jobStatus;
    if (status === undefined || !JOB_STATUSES.has(status) || job.createdAt === undefined) {
      throw new CountersignError(`Macie described job ${jobId} without a known status or creation time`);
    }
    return {
      jobId,
      status: status as MacieJobStatus,
      createdAt: job.createdAt.toISOString(),
      hadErrors: job.lastRunErrorStatus?.code === 'ERROR',
    };
  }

  async findingsOf(jobId: string): Promise<readonly unknown[]> {
    const ids: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.#client.send(
        new ListFindingsCommand({
          findingCriteria: { criterion: { 'classificationDetails.jobId': { eq: [jobId] } } },
          ...(nextToken === undefined ? {} : { nextToken }),
        }),
      );
      ids.push(...(page.findingIds ?? []));
      nextToken = page.nextToken;
    } while (nextToken !== undefined && nextToken !== '');
    const findings: unknown[] = [];
    for (let start = 0; start < ids.length; start += GET_FINDINGS_BATCH) {
      const batch = await this.#client.send(
        new GetFindingsCommand({ findingIds: ids.slice(start, start + GET_FINDINGS_BATCH) }),
      );
      // The SDK turns timestamps into Dates; as JSON they are the ISO strings the finding schema reads.
      findings.push(...JSON.parse(JSON.stringify(batch.findings ?? [])));
    }
    return findings;
  }
}
