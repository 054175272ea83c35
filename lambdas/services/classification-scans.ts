/**
 * The classify-before-approve scan (classify-before-approval.ts plans it): starts a one-time Macie
 * job scoped to the object (`startScan`, idempotent by client token), then polls (`checkScan`)
 * until the object's verdict is stored (the `Macie Finding` rule stores it, or the poll does once
 * the job is complete: Macie publishes findings to EventBridge on a best-effort basis, so the poll
 * reads the job's findings itself), the job fails, or the deadline passes. A failed or timed-out
 * scan is evaluated as a FAILED classification, which policy treats like High.
 */
import { createHash } from 'node:crypto';
import {
  type ClassificationScan,
  type ObjectClassification,
  ScanState,
  type ScanTarget,
} from '../domain/classification.ts';
import { MacieJobStatus } from '../domain/macie-finding.ts';
import { MacieFinding } from '../domain/macie-finding-schema.ts';
import { s3Uri } from '../domain/s3-target.ts';
import { parse } from '../domain/schemas.ts';
import type { ClassificationJobs, ClassificationStore, Clock } from '../ports/index.ts';
import { ClassificationActor, recordFinding, recordObjectVerdict } from './classification.ts';

export interface ScanSettings {
  /** How long a scan may take before the request is evaluated as FAILED. */
  readonly timeoutSeconds: number;
  /** The wait between two polls. */
  readonly pollSeconds: number;
}

export interface ScanDeps {
  readonly jobs: ClassificationJobs;
  readonly store: ClassificationStore;
  readonly clock: Clock;
  readonly settings: ScanSettings;
}

/** Macie allows 200 characters of job description. */
const MAX_DESCRIPTION = 200;

function hex(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('hex');
}

/** A UUID-shaped token: the same request and object always start the same job. */
function clientTokenOf(requestId: string, target: ScanTarget): string {
  const digest = hex('countersign-classification', requestId, target.bucket, target.key);
  return `${digest.slice(0, 8)}-${digest.slice(8, 12)}-${digest.slice(12, 16)}-${digest.slice(16, 20)}-${digest.slice(20, 32)}`;
}

export async function startScan(
  deps: ScanDeps,
  input: { readonly requestId: string; readonly target: ScanTarget },
): Promise<ClassificationScan> {
  const { target } = input;
  const clientToken = clientTokenOf(input.requestId, target);
  const description = `Countersign: classify ${s3Uri(target.bucket, target.key)} before request ${input.requestId} is evaluated`;
  const { jobId } = await deps.jobs.start({
    clientToken,
    name: `countersign-${clientToken}`,
    bucket: target.bucket,
    key: target.key,
    description: description.slice(0, MAX_DESCRIPTION),
  });
  const deadline = new Date(deps.clock.now().getTime() + deps.settings.timeoutSeconds * 1000);
  return {
    ...target,
    state: ScanState.waiting,
    jobId,
    deadline: deadline.toISOString(),
    pollSeconds: deps.settings.pollSeconds,
  };
}

/** What the job's completion says about an object it found nothing in. */
function nothingFound(target: ScanTarget, jobId: string, jobCreatedAt: string): ObjectClassification {
  return {
    bucket: target.bucket,
    key: target.key,
    severity: null,
    categories: [],
    types: [],
    typeCounts: {},
    findingIds: [],
    jobId,
    // Older than any finding of this job, newer than any verdict from before it.
    updatedAt: new Date(jobCreatedAt).toISOString(),
  };
}

async function completed(deps: ScanDeps, scan: ClassificationScan, jobCreatedAt: string): Promise<void> {
  const findings = (await deps.jobs.findingsOf(scan.jobId)).map((finding) =>
    parse(MacieFinding, finding, `finding of Macie job ${scan.jobId}`),
  );
  const ofObject = findings.filter(
    (finding) =>
      finding.resourcesAffected.s3Bucket.name === scan.bucket &&
      finding.resourcesAffected.s3Object?.key === scan.key &&
      finding.sample !== true,
  );
  for (const finding of ofObject) await recordFinding(deps, finding);
  if (ofObject.length === 0) {
    await recordObjectVerdict(
      deps,
      nothingFound(scan, scan.jobId, jobCreatedAt),
      ClassificationActor.countersign,
    );
  }
}

export async function checkScan(deps: ScanDeps, scan: ClassificationScan): Promise<ClassificationScan> {
  const failed = (reason: string): ClassificationScan => ({ ...scan, state: ScanState.failed, reason });
  if ((await deps.store.objectVerdict(scan.bucket, scan.key)) !== undefined) {
    return { ...scan, state: ScanState.done };
  }
  const job = await deps.jobs.describe(scan.jobId);
  if (job.status === MacieJobStatus.complete) {
    if (job.hadErrors) return failed(`Macie job ${scan.jobId} reported errors reading the bucket or object`);
    await completed(deps, scan, job.createdAt);
    return { ...scan, state: ScanState.done };
  }
  if (job.status === MacieJobStatus.cancelled) return failed(`Macie job ${scan.jobId} was cancelled`);
  if (deps.clock.now().getTime() >= Date.parse(scan.deadline)) {
    return failed(`Macie job ${scan.jobId} did not classify the object before ${scan.deadline}`);
  }
  return { ...scan, state: ScanState.waiting };
}
