/**
 * Macie's verdicts in and out: a finding (from the `Macie Finding` rule, or fetched after a job)
 * becomes the classification of its object and of its bucket, each change with an audit record; a
 * request's S3 object or bucket is looked up into the classification attached to it. A lookup that
 * fails is FAILED, never UNCLASSIFIED: the policies treat FAILED like High.
 */
import { createHash } from 'node:crypto';
import {
  type BucketClassification,
  type BucketFinding,
  CLASSIFICATION_CHANGED,
  type ClassificationAuditRecord,
  classifiedAs,
  failedClassification,
  type ObjectClassification,
  type RequestClassification,
  unclassified,
  verdictOrder,
} from '../domain/classification.ts';
import { ValidationError } from '../domain/errors.ts';
import { bucketFindingOf, isSensitiveDataFinding, objectClassificationOf } from '../domain/macie-finding.ts';
import type { MacieFinding } from '../domain/macie-finding-schema.ts';
import { parseS3Arn, type S3Target, s3Uri } from '../domain/s3-target.ts';
import type { ClassificationReader, ClassificationStore, Clock } from '../ports/index.ts';

export interface ClassificationDeps {
  readonly store: ClassificationStore;
  readonly clock: Clock;
}

/** Who changed a classification: Macie (a finding), or Countersign (a job that found nothing). */
export const ClassificationActor = { macie: 'macie', countersign: 'countersign' } as const;

export type FindingOutcome =
  | { readonly kind: 'ignored'; readonly reason: string }
  | {
      readonly kind: 'object';
      readonly subject: string;
      readonly applied: boolean;
      readonly bucketChanged: boolean;
    }
  | { readonly kind: 'bucket'; readonly subject: string; readonly applied: boolean };

function digest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);
}

async function audit(
  deps: ClassificationDeps,
  record: Omit<ClassificationAuditRecord, 'kind' | 'at' | 'data'> & {
    data: Readonly<Record<string, unknown>>;
  },
): Promise<void> {
  await deps.store.appendAudit({
    ...record,
    kind: CLASSIFICATION_CHANGED,
    at: deps.clock.now().toISOString(),
    // Audit data is JSON; optional fields left undefined are dropped.
    data: JSON.parse(JSON.stringify(record.data)),
  });
}

function verdictData(verdict: ObjectClassification | BucketClassification) {
  return {
    severity: verdict.severity,
    categories: verdict.categories,
    types: verdict.types,
    findingIds: verdict.findingIds,
  };
}

/** Recomputes the bucket aggregate and audits it when it changed. */
async function refreshBucket(deps: ClassificationDeps, bucket: string): Promise<boolean> {
  const { changed, aggregate } = await deps.store.refreshBucket(bucket);
  if (changed && aggregate !== undefined) {
    await audit(deps, {
      subject: s3Uri(bucket),
      // One record per distinct aggregate: a redelivery that finds the same aggregate writes nothing new.
      key: `AGGREGATE#${aggregate.updatedAt}#${digest(aggregate)}`,
      actor: ClassificationActor.macie,
      data: { scope: 'bucket', ...verdictData(aggregate), objects: aggregate.objects },
    });
  }
  return changed;
}

/**
 * Stores an object's verdict when it is newer than the stored one, audits the change, and brings the
 * bucket aggregate up to date. The refresh runs even when the verdict was not newer: a delivery
 * that stored the verdict and died before the refresh is completed by its retry.
 */
export async function recordObjectVerdict(
  deps: ClassificationDeps,
  verdict: ObjectClassification,
  actor: string,
): Promise<{ applied: boolean; bucketChanged: boolean }> {
  const write = await deps.store.putObjectVerdict(verdict);
  if (write.applied) {
    await audit(deps, {
      subject: s3Uri(verdict.bucket, verdict.key),
      key: verdictOrder(verdict.updatedAt, verdict.findingIds[0] ?? ''),
      actor,
      data: {
        scope: 'object',
        ...verdictData(verdict),
        previousSeverity: write.previous === undefined ? undefined : write.previous.severity,
        previousFindingIds: write.previous?.findingIds,
        versionId: verdict.versionId,
        jobId: verdict.jobId,
      },
    });
  }
  return { applied: write.applied, bucketChanged: await refreshBucket(deps, verdict.bucket) };
}

export async function recordFinding(
  deps: ClassificationDeps,
  finding: MacieFinding,
): Promise<FindingOutcome> {
  if (finding.sample === true) {
    return { kind: 'ignored', reason: 'a sample finding describes no real object' };
  }
  if (isSensitiveDataFinding(finding)) {
    const verdict = objectClassificationOf(finding);
    const { applied, bucketChanged } = await recordObjectVerdict(deps, verdict, ClassificationActor.macie);
    return { kind: 'object', subject: s3Uri(verdict.bucket, verdict.key), applied, bucketChanged };
  }
  const fact = bucketFindingOf(finding);
  const write = await deps.store.putBucketFinding(fact);
  if (write.applied) {
    await audit(deps, {
      subject: s3Uri(fact.bucket),
      key: `POLICY#${verdictOrder(fact.updatedAt, fact.findingId)}`,
      actor: ClassificationActor.macie,
      data: {
        scope: 'bucket-policy',
        type: fact.type,
        severity: fact.severity,
        findingId: fact.findingId,
        count: fact.count,
        previousCount: write.previous?.count,
      },
    });
  }
  return { kind: 'bucket', subject: s3Uri(fact.bucket), applied: write.applied };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The classification a request's S3 target has now; undefined when the request touches no S3 data. */
export async function lookUpClassification(
  deps: { readonly store: Pick<ClassificationReader, 'objectVerdict' | 'bucketVerdict'> },
  target: S3Target,
): Promise<RequestClassification | undefined> {
  switch (target.kind) {
    case 'none':
      return undefined;
    case 'unresolvable':
      return failedClassification(`which S3 data the request touches is unclear: ${target.reason}`);
    default: {
      const subject = target.kind === 'object' ? s3Uri(target.bucket, target.key) : s3Uri(target.bucket);
      try {
        const verdict =
          target.kind === 'object'
            ? await deps.store.objectVerdict(target.bucket, target.key)
            : await deps.store.bucketVerdict(target.bucket);
        return verdict === undefined ? unclassified(subject) : classifiedAs(verdict, subject);
      } catch (error) {
        return failedClassification(`the classification could not be read: ${messageOf(error)}`, subject);
      }
    }
  }
}

export interface ClassificationDetail {
  readonly resource: string;
  readonly subject: string;
  readonly classification: RequestClassification;
  readonly object?: ObjectClassification;
  readonly bucket?: BucketClassification;
  readonly bucketFindings: BucketFinding[];
  readonly history: ClassificationAuditRecord[];
}

/** Everything Countersign knows of an S3 bucket or object's data; a ValidationError for any other ARN. */
export async function showClassification(
  deps: { readonly store: ClassificationReader },
  arn: string,
): Promise<ClassificationDetail> {
  const place = parseS3Arn(arn);
  if (place === undefined || 'reason' in place) {
    const reason = place === undefined ? `${arn} is not an S3 ARN` : place.reason;
    throw new ValidationError(`invalid resource: ${reason}`, [`resource: ${reason}`]);
  }
  const target: S3Target =
    place.key === undefined
      ? { kind: 'bucket', bucket: place.bucket }
      : { kind: 'object', bucket: place.bucket, key: place.key };
  const subject = place.key === undefined ? s3Uri(place.bucket) : s3Uri(place.bucket, place.key);
  const [classification, object, bucket, bucketFindings, history] = await Promise.all([
    lookUpClassification(deps, target),
    place.key === undefined ? undefined : deps.store.objectVerdict(place.bucket, place.key),
    deps.store.bucketVerdict(place.bucket),
    deps.store.bucketFindings(place.bucket),
    deps.store.listAudit(subject),
  ]);
  return {
    resource: arn,
    subject,
    classification: classification!,
    ...(object === undefined ? {} : { object }),
    ...(bucket === undefined ? {} : { bucket }),
    bucketFindings,
    history,
  };
}
