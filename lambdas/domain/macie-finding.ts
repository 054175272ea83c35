/**
 * The parts of an Amazon Macie finding Countersign relies on, as one schema: tolerant of every field
 * it does not read (Macie adds fields over time), strict on the ones it does. A `Macie Finding`
 * EventBridge event carries the finding as its `detail` (the same shape GetFindings returns).
 * Sensitive-data findings (`SensitiveData:S3Object/*`) classify one object; policy findings
 * (`Policy:IAMUser/*`) are facts about a bucket.
 */
import {
  type BucketFinding,
  type ObjectClassification,
  SensitiveDataCategory,
  SeverityValue,
} from './classification.ts';
import * as z from './zod.ts';

export const MACIE_EVENT = { source: 'aws.macie', detailType: 'Macie Finding' } as const;

/** A classification job's status, as DescribeClassificationJob reports it. */
export const MacieJobStatus = {
  running: 'RUNNING',
  paused: 'PAUSED',
  userPaused: 'USER_PAUSED',
  idle: 'IDLE',
  cancelled: 'CANCELLED',
  complete: 'COMPLETE',
} as const;
export type MacieJobStatus = (typeof MacieJobStatus)[keyof typeof MacieJobStatus];

export const FindingCategory = { classification: 'CLASSIFICATION', policy: 'POLICY' } as const;
export const SENSITIVE_DATA_TYPE_PREFIX = 'SensitiveData:S3Object/';
export const POLICY_TYPE_PREFIX = 'Policy:IAMUser/';

const Timestamp = z.iso.datetime({ offset: true });
const Count = z.number().check(z.int(), z.gte(0));

const Detection = z.looseObject({ type: z.string().check(z.minLength(1)), count: Count });
const SensitiveDataItem = z.looseObject({
  category: z.string().check(z.minLength(1)),
  totalCount: Count,
  detections: z.array(Detection),
});
const CustomDetection = z.looseObject({ name: z.string().check(z.minLength(1)), count: Count });

export const MacieFinding = z
  .looseObject({
    id: z.string().check(z.minLength(1), z.maxLength(256)),
    type: z
      .string()
      .check(
        z.regex(
          /^(SensitiveData:S3Object|Policy:IAMUser)\/[A-Za-z0-9]+$/,
          'expected SensitiveData:S3Object/<Type> or Policy:IAMUser/<Type>',
        ),
      ),
    category: z.enum([FindingCategory.classification, FindingCategory.policy]),
    severity: z.looseObject({
      description: SeverityValue,
      score: z.number().check(z.int(), z.gte(1), z.lte(3)),
    }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    /** Sample findings (CreateSampleFindings) describe nothing real. */
    sample: z.nullish(z.boolean()),
    count: z.nullish(Count),
    title: z.nullish(z.string()),
    resourcesAffected: z.looseObject({
      s3Bucket: z.looseObject({ name: z.string().check(z.minLength(1), z.maxLength(255)) }),
      s3Object: z.nullish(
        z.looseObject({
          key: z.string().check(z.minLength(1), z.maxLength(1024)),
          versionId: z.nullish(z.string()),
          eTag: z.nullish(z.string()),
        }),
      ),
    }),
    classificationDetails: z.nullish(
      z.looseObject({
        jobId: z.nullish(z.string()),
        result: z.looseObject({
          sensitiveData: z.nullish(z.array(SensitiveDataItem)),
          customDataIdentifiers: z.nullish(
            z.looseObject({ totalCount: Count, detections: z.array(CustomDetection) }),
          ),
        }),
      }),
    ),
  })
  .check(
    z.superRefine((finding, context) => {
      const sensitive = finding.type.startsWith(SENSITIVE_DATA_TYPE_PREFIX);
      if (sensitive !== (finding.category === FindingCategory.classification)) {
        context.addIssue({
          code: 'custom',
          path: ['category'],
          message: 'CLASSIFICATION goes with SensitiveData types, POLICY with Policy types',
        });
      }
      if (
        sensitive &&
        (finding.resourcesAffected.s3Object == null || finding.classificationDetails == null)
      ) {
        context.addIssue({
          code: 'custom',
          path: ['resourcesAffected', 's3Object'],
          message: 'a sensitive-data finding names its object and carries classificationDetails',
        });
      }
    }),
  );
export type MacieFinding = z.infer<typeof MacieFinding>;

/** The event as the rule target receives it. */
export const MacieFindingEvent = z.looseObject({
  id: z.string().check(z.minLength(1)),
  source: z.literal(MACIE_EVENT.source),
  'detail-type': z.literal(MACIE_EVENT.detailType),
  detail: MacieFinding,
});
export type MacieFindingEvent = z.infer<typeof MacieFindingEvent>;

export function isSensitiveDataFinding(finding: MacieFinding): boolean {
  return finding.category === FindingCategory.classification;
}

/** A sensitive-data finding as the classification of its object (call for sensitive-data findings only). */
export function objectClassificationOf(finding: MacieFinding): ObjectClassification {
  const object = finding.resourcesAffected.s3Object!;
  const result = finding.classificationDetails!.result;
  const sensitiveData = (result.sensitiveData ?? []).filter((item) => item.totalCount > 0);
  const custom = (result.customDataIdentifiers?.detections ?? []).filter((detection) => detection.count > 0);
  const typeCounts: Record<string, number> = {};
  for (const detection of [
    ...sensitiveData.flatMap((item) => item.detections),
    ...custom.map(({ name, count }) => ({ type: name, count })),
  ]) {
    if (detection.count > 0) typeCounts[detection.type] = (typeCounts[detection.type] ?? 0) + detection.count;
  }
  const categories = [
    ...sensitiveData.map((item) => item.category),
    ...(custom.length > 0 ? [SensitiveDataCategory.custom] : []),
  ];
  const jobId = finding.classificationDetails!.jobId;
  return {
    bucket: finding.resourcesAffected.s3Bucket.name,
    key: object.key,
    ...(object.versionId ? { versionId: object.versionId } : {}),
    ...(object.eTag ? { eTag: object.eTag } : {}),
    severity: finding.severity.description,
    categories: [...new Set(categories)].sort(),
    types: Object.keys(typeCounts).sort(),
    typeCounts,
    findingIds: [finding.id],
    findingType: finding.type,
    ...(jobId ? { jobId } : {}),
    updatedAt: new Date(finding.updatedAt).toISOString(),
  };
}

/** A policy finding as a fact about its bucket. */
export function bucketFindingOf(finding: MacieFinding): BucketFinding {
  return {
    bucket: finding.resourcesAffected.s3Bucket.name,
    type: finding.type,
    severity: finding.severity.description,
    findingId: finding.id,
    count: finding.count ?? 1,
    ...(finding.title ? { title: finding.title } : {}),
    updatedAt: new Date(finding.updatedAt).toISOString(),
  };
}
