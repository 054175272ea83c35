/**
 * The twin's Macie engine: one-time classification jobs over the twin's S3 objects and the
 * findings they produce. A job is created (idempotent by client token, validated as Macie
 * validates it), runs in the background over the objects its scope selects, stores a finding for
 * each object it finds sensitive data in and publishes it as a `Macie Finding` event on the
 * default bus, then completes (with `lastRunErrorStatus` ERROR when a bucket could not be read).
 * Jobs and findings persist in the data dir; a job still running at a restart runs again (its
 * findings have deterministic ids, so a rerun replaces rather than duplicates them).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import * as z from 'zod';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../cloudformation/intrinsics.ts';
import { readJsonFile, writeJsonFileAtomic } from '../files.ts';
import { AwsErrorCode, AwsProtocolError } from '../front/errors.ts';
import { type AnalysedObject, sensitiveDataFinding } from './findings.ts';
import { fileKindOf, scanObject } from './scanner.ts';

export const MACIE_STATE_FILE = join('macie', 'state.json');

/** The objects a job may read: the twin's S3, read-only and in process. */
export interface MacieObjectSource {
  listObjects(
    bucket: string,
    options?: { prefix?: string },
  ): readonly {
    key: string;
    versionId: string;
    size: number;
    etag: string;
    lastModified: Date;
    contentType: string;
  }[];
  readObject(bucket: string, key: string, versionId?: string): Promise<{ body: Readable }>;
}

/** Puts a finding on the default bus as Macie does (source `aws.macie`, `Macie Finding`). */
export type FindingPublisher = (finding: Record<string, unknown>) => void;

const ScopeTerm = z.strictObject({
  comparator: z.enum(['EQ', 'GT', 'GTE', 'LT', 'LTE', 'NE', 'CONTAINS', 'STARTS_WITH']),
  key: z.enum(['OBJECT_EXTENSION', 'OBJECT_LAST_MODIFIED_DATE', 'OBJECT_SIZE', 'OBJECT_KEY']),
  values: z.array(z.string()).min(1),
});
const JobScopeTerm = z.looseObject({
  simpleScopeTerm: ScopeTerm.optional(),
  tagScopeTerm: z.unknown().optional(),
});
const JobScopingBlock = z.looseObject({ and: z.array(JobScopeTerm).optional() });

export const CreateJobInput = z.looseObject({
  clientToken: z.string().min(1).optional(),
  name: z.string().min(1).max(500),
  description: z.string().max(200).optional(),
  jobType: z.enum(['ONE_TIME', 'SCHEDULED']),
  managedDataIdentifierSelector: z.enum(['ALL', 'EXCLUDE', 'INCLUDE', 'NONE', 'RECOMMENDED']).optional(),
  samplingPercentage: z.number().int().min(1).max(100).optional(),
  s3JobDefinition: z.looseObject({
    bucketDefinitions: z
      .array(
        z.strictObject({
          accountId: z.string().regex(/^\d{12}$/),
          buckets: z.array(z.string().min(1)).min(1),
        }),
      )
      .min(1)
      .optional(),
    bucketCriteria: z.unknown().optional(),
    scoping: z
      .looseObject({ includes: JobScopingBlock.optional(), excludes: JobScopingBlock.optional() })
      .optional(),
  }),
  tags: z.record(z.string(), z.string()).optional(),
});
export type CreateJobInput = z.infer<typeof CreateJobInput>;

const StoredJob = z.looseObject({
  jobId: z.string(),
  jobArn: z.string(),
  clientToken: z.string(),
  name: z.string(),
  jobType: z.string(),
  jobStatus: z.enum(['RUNNING', 'COMPLETE']),
  createdAt: z.string(),
  lastRunTime: z.string().optional(),
  lastRunErrorStatus: z.object({ code: z.enum(['NONE', 'ERROR']) }),
  statistics: z.object({ approximateNumberOfObjectsToProcess: z.number(), numberOfRuns: z.number() }),
  s3JobDefinition: z.json(),
  tags: z.record(z.string(), z.string()),
});
type StoredJob = z.infer<typeof StoredJob> & { readonly request: CreateJobInput };
const StoredState = z.object({
  jobs: z.array(z.looseObject({ request: z.json() })),
  findings: z.array(z.record(z.string(), z.json())),
});

function validation(message: string): AwsProtocolError {
  return new AwsProtocolError(AwsErrorCode.validation, message, 400);
}

type Term = z.infer<typeof ScopeTerm>;

/** The scope terms the twin evaluates; others are refused rather than ignored. */
function checkTerm(term: Term): void {
  if (term.key === 'OBJECT_KEY' && term.comparator !== 'STARTS_WITH') {
    // Macie's SimpleScopeTerm: OBJECT_KEY takes STARTS_WITH only.
    throw validation('The comparator for OBJECT_KEY must be STARTS_WITH.');
  }
  if (term.key === 'OBJECT_EXTENSION' && term.comparator !== 'EQ' && term.comparator !== 'NE') {
    throw validation('The comparator for OBJECT_EXTENSION must be EQ or NE.');
  }
  if (term.key !== 'OBJECT_KEY' && term.key !== 'OBJECT_EXTENSION') {
    throw validation(`The twin does not scope jobs by ${term.key}.`);
  }
}

function termMatches(term: Term, key: string): boolean {
  if (term.key === 'OBJECT_KEY') return term.values.some((prefix) => key.startsWith(prefix));
  const extension = key.includes('.') ? key.slice(key.lastIndexOf('.') + 1).toLowerCase() : '';
  const listed = term.values.some((value) => value.toLowerCase() === extension);
  return term.comparator === 'EQ' ? listed : !listed;
}

function termsOf(block: z.infer<typeof JobScopingBlock> | undefined): Term[] {
  return (block?.and ?? []).flatMap((term) => {
    if (term.tagScopeTerm !== undefined) throw validation('The twin does not scope jobs by tags.');
    return term.simpleScopeTerm === undefined ? [] : [term.simpleScopeTerm];
  });
}

export interface LocalMacieOptions {
  readonly dataDir: string;
  readonly objects: MacieObjectSource;
  readonly publish: FindingPublisher;
  readonly log?: (line: string) => void;
  /** @default the twin's account */
  readonly accountId?: string;
  /** @default the twin's Region */
  readonly region?: string;
}

export class LocalMacie {
  readonly #options: LocalMacieOptions;
  readonly #accountId: string;
  readonly #region: string;
  readonly #jobs = new Map<string, StoredJob>();
  readonly #findings = new Map<string, Record<string, unknown>>();
  #saving: Promise<void> = Promise.resolve();
  readonly #running = new Set<Promise<void>>();

  private constructor(options: LocalMacieOptions) {
    this.#options = options;
    this.#accountId = options.accountId ?? LOCAL_ACCOUNT;
    this.#region = options.region ?? LOCAL_REGION;
  }

  static async open(options: LocalMacieOptions): Promise<LocalMacie> {
    const macie = new LocalMacie(options);
    const stored = await readJsonFile(join(options.dataDir, MACIE_STATE_FILE));
    if (stored !== undefined) {
      const state = StoredState.parse(stored);
      for (const job of state.jobs) {
        const parsed = StoredJob.parse(job) as StoredJob;
        macie.#jobs.set(parsed.jobId, { ...parsed, request: CreateJobInput.parse(job.request) });
      }
      for (const finding of state.findings) macie.#findings.set(String(finding.id), finding);
    }
    for (const job of macie.#jobs.values()) {
      if (job.jobStatus === 'RUNNING') macie.#run(job);
    }
    return macie;
  }

  createJob(input: unknown): { jobId: string; jobArn: string } {
    const parsed = CreateJobInput.safeParse(input);
    if (!parsed.success) {
      throw validation(
        parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '),
      );
    }
    const request = parsed.data;
    const token = request.clientToken ?? randomBytes(16).toString('hex');
    const existing = [...this.#jobs.values()].find((job) => job.clientToken === token);
    if (existing !== undefined) return { jobId: existing.jobId, jobArn: existing.jobArn };
    if (request.jobType !== 'ONE_TIME') throw validation('The twin runs ONE_TIME jobs only.');
    if (request.s3JobDefinition.bucketDefinitions === undefined) {
      throw validation('The twin selects buckets by bucketDefinitions only.');
    }
    for (const term of [
      ...termsOf(request.s3JobDefinition.scoping?.includes),
      ...termsOf(request.s3JobDefinition.scoping?.excludes),
    ]) {
      checkTerm(term);
    }
    const jobId = randomBytes(16).toString('hex');
    const job: StoredJob = {
      jobId,
      jobArn: `arn:aws:macie2:${this.#region}:${this.#accountId}:classification-job/${jobId}`,
      clientToken: token,
      name: request.name,
      jobType: request.jobType,
      jobStatus: 'RUNNING',
      createdAt: new Date().toISOString(),
      lastRunErrorStatus: { code: 'NONE' },
      statistics: { approximateNumberOfObjectsToProcess: 0, numberOfRuns: 0 },
      s3JobDefinition: request.s3JobDefinition as z.infer<typeof StoredJob>['s3JobDefinition'],
      tags: request.tags ?? {},
      request,
    };
    this.#jobs.set(jobId, job);
    this.#save();
    this.#run(job);
    return { jobId, jobArn: job.jobArn };
  }

  describeJob(jobId: string): Record<string, unknown> {
    const job = this.#jobs.get(jobId);
    if (job === undefined) {
      throw new AwsProtocolError(
        AwsErrorCode.resourceNotFound,
        `The classification job ${jobId} does not exist.`,
        404,
      );
    }
    const { request, ...description } = job;
    return {
      ...description,
      ...(request.description === undefined ? {} : { description: request.description }),
      managedDataIdentifierSelector: request.managedDataIdentifierSelector ?? 'RECOMMENDED',
      samplingPercentage: request.samplingPercentage ?? 100,
    };
  }

  /** Findings in creation order, filtered by the criteria (equality on the fields the twin knows). */
  listFindings(criterion: Record<string, { eq?: string[] }>): string[] {
    const fields: Record<string, (finding: Record<string, unknown>) => unknown> = {
      'classificationDetails.jobId': (f) => (f.classificationDetails as { jobId?: string } | null)?.jobId,
      'resourcesAffected.s3Bucket.name': (f) =>
        (f.resourcesAffected as { s3Bucket: { name: string } }).s3Bucket.name,
      'resourcesAffected.s3Object.key': (f) =>
        (f.resourcesAffected as { s3Object: { key: string } }).s3Object.key,
      'severity.description': (f) => (f.severity as { description: string }).description,
      type: (f) => f.type,
      category: (f) => f.category,
    };
    for (const [field, condition] of Object.entries(criterion)) {
      if (!(field in fields) || condition.eq === undefined || Object.keys(condition).length !== 1) {
        throw validation(
          `The twin filters findings by equality (eq) on ${Object.keys(fields).join(', ')} only.`,
        );
      }
    }
    return [...this.#findings.values()]
      .filter((finding) =>
        Object.entries(criterion).every(([field, condition]) =>
          condition.eq!.includes(String(fields[field]!(finding))),
        ),
      )
      .map((finding) => String(finding.id));
  }

  getFindings(ids: readonly string[]): Record<string, unknown>[] {
    return ids.flatMap((id) => {
      const finding = this.#findings.get(id);
      return finding === undefined ? [] : [finding];
    });
  }

  /** Resolves once every job started so far has finished. */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running]);
    await this.#saving;
  }

  #run(job: StoredJob): void {
    const running = this.#execute(job)
      .catch((error: unknown) => {
        this.#options.log?.(`macie job ${job.jobId} failed: ${(error as Error).message}`);
        job.lastRunErrorStatus = { code: 'ERROR' };
      })
      .finally(() => {
        job.jobStatus = 'COMPLETE';
        job.lastRunTime = new Date().toISOString();
        job.statistics.numberOfRuns += 1;
        this.#save();
        this.#running.delete(running);
      });
    this.#running.add(running);
  }

  async #execute(job: StoredJob): Promise<void> {
    // Let the creating call answer before the job starts, as Macie's jobs start asynchronously.
    await new Promise((resolve) => setImmediate(resolve));
    const scoping = job.request.s3JobDefinition.scoping;
    const includes = termsOf(scoping?.includes);
    const excludes = termsOf(scoping?.excludes);
    for (const definition of job.request.s3JobDefinition.bucketDefinitions ?? []) {
      for (const bucket of definition.buckets) {
        let objects: ReturnType<MacieObjectSource['listObjects']>;
        try {
          if (definition.accountId !== this.#accountId)
            throw new Error(`account ${definition.accountId} is not this one`);
          objects = this.#options.objects.listObjects(bucket);
        } catch (error) {
          this.#options.log?.(
            `macie job ${job.jobId}: cannot read bucket ${bucket}: ${(error as Error).message}`,
          );
          job.lastRunErrorStatus = { code: 'ERROR' };
          continue;
        }
        const selected = objects.filter(
          (object) =>
            includes.every((term) => termMatches(term, object.key)) &&
            !excludes.some((term) => termMatches(term, object.key)),
        );
        job.statistics.approximateNumberOfObjectsToProcess += selected.length;
        for (const object of selected) await this.#classify(job, bucket, object);
      }
    }
  }

  async #classify(
    job: StoredJob,
    bucket: string,
    object: ReturnType<MacieObjectSource['listObjects']>[number],
  ): Promise<void> {
    const { body } = await this.#options.objects.readObject(bucket, object.key, object.versionId);
    const scan = await scanObject(body, fileKindOf(object.key, object.contentType));
    const analysed: AnalysedObject = {
      bucket,
      key: object.key,
      versionId: object.versionId,
      etag: object.etag,
      size: object.size,
      lastModified: object.lastModified,
    };
    const finding = sensitiveDataFinding(analysed, scan, {
      accountId: this.#accountId,
      region: this.#region,
      partition: 'aws',
      jobId: job.jobId,
      at: new Date(),
    });
    if (finding === undefined) return;
    this.#findings.set(String(finding.id), finding);
    this.#save();
    this.#options.publish(finding);
  }

  #save(): void {
    const state = {
      jobs: [...this.#jobs.values()],
      findings: [...this.#findings.values()],
    };
    const snapshot = JSON.parse(JSON.stringify(state));
    this.#saving = this.#saving
      .then(() => writeJsonFileAtomic(join(this.#options.dataDir, MACIE_STATE_FILE), snapshot, 0o600))
      .catch((error: unknown) => this.#options.log?.(`macie state not saved: ${(error as Error).message}`));
  }
}
