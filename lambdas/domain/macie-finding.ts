/**
 * What Countersign makes of an Amazon Macie finding: sensitive-data findings (`SensitiveData:S3Object/*`)
 * classify one object; policy findings (`Policy:IAMUser/*`) are facts about a bucket. The finding's
 * schema is in macie-finding-schema.ts: building it (~90 zod instances) is for the functions that
 * parse findings, not for every one that imports these constants (Evaluate, the fast path).
 */
import { type BucketFinding, type ObjectClassification, SensitiveDataCategory } from './classification.ts';
import type { MacieFinding } from './macie-finding-schema.ts';

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
