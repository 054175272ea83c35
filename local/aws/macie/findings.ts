/**
 * Sensitive-data findings as Macie writes them (GetFindings' shape, which is also the `detail` of a
 * `Macie Finding` event), for one object a job analysed.
 *
 * Severity. Macie: "For sensitive data findings, severity is based on the nature and number of
 * occurrences of sensitive data that Macie found in an S3 object", as a level Low / Medium / High
 * with a score of 1 / 2 / 3 (https://docs.aws.amazon.com/macie/latest/user/findings-severity.html).
 * The per-type table of that page's sensitive-data section could not be retrieved here, so the twin
 * applies this calibration, consistent with the real findings in test/fixtures/macie (7 and 30
 * card numbers → High): credentials and financial information are High at any count; a national
 * identifier (USA_SOCIAL_SECURITY_NUMBER) is High at any count; contact data alone (email
 * addresses, phone numbers) is Low below 100 occurrences and Medium from 100; a finding of several
 * categories (`SensitiveData:S3Object/Multiple`) takes the highest of them.
 */
import { createHash } from 'node:crypto';
import { SensitiveDataCategory, type SeverityValue } from '../../../lambdas/domain/classification.ts';
import { CATEGORY_OF, SensitiveDataType } from './detectors.ts';
import type { ScanResult } from './scanner.ts';

export const SEVERITY_SCORE: Readonly<Record<SeverityValue, number>> = { Low: 1, Medium: 2, High: 3 };
const CONTACT_DATA_MEDIUM_FROM = 100;

const FINDING_TYPE_OF_CATEGORY: Readonly<Record<string, string>> = {
  [SensitiveDataCategory.financial]: 'Financial',
  [SensitiveDataCategory.personal]: 'Personal',
  [SensitiveDataCategory.credentials]: 'Credentials',
};

const TITLES: Readonly<Record<string, string>> = {
  Financial: 'The S3 object contains financial information.',
  Personal: 'The S3 object contains personal information.',
  Credentials: 'The S3 object contains credentials data.',
  Multiple: 'The S3 object contains multiple categories of sensitive data.',
};

/** The severity of one detected type, by its nature and count (see the module comment). */
export function severityOf(type: SensitiveDataType, count: number): SeverityValue {
  switch (type) {
    case SensitiveDataType.email:
    case SensitiveDataType.phone:
      return count >= CONTACT_DATA_MEDIUM_FROM ? 'Medium' : 'Low';
    default:
      return 'High';
  }
}

export function findingTypeOf(categories: readonly string[]): string {
  const single = categories.length === 1 ? FINDING_TYPE_OF_CATEGORY[categories[0]!] : undefined;
  return `SensitiveData:S3Object/${single ?? 'Multiple'}`;
}

export interface AnalysedObject {
  readonly bucket: string;
  readonly key: string;
  readonly versionId: string;
  readonly etag: string;
  readonly size: number;
  readonly lastModified: Date;
}

export interface FindingContext {
  readonly accountId: string;
  readonly region: string;
  readonly partition: string;
  readonly jobId: string;
  readonly at: Date;
}

/** A deterministic 32-hex id: the same job and object version always name the same finding. */
export function findingIdOf(jobId: string, object: AnalysedObject): string {
  return createHash('sha256')
    .update([jobId, object.bucket, object.key, object.versionId].join('\n'))
    .digest('hex')
    .slice(0, 32);
}

/** The finding for an object, or undefined when nothing sensitive was found in it. */
export function sensitiveDataFinding(
  object: AnalysedObject,
  scan: ScanResult,
  context: FindingContext,
): Record<string, unknown> | undefined {
  if (scan.detections.length === 0) return undefined;
  const byCategory = new Map<string, ScanResult['detections'][number][]>();
  for (const detection of scan.detections) {
    const category = CATEGORY_OF[detection.type];
    byCategory.set(category, [...(byCategory.get(category) ?? []), detection]);
  }
  const severity = scan.detections
    .map((detection) => severityOf(detection.type, detection.count))
    .reduce((max, next) => (SEVERITY_SCORE[next] > SEVERITY_SCORE[max] ? next : max));
  const type = findingTypeOf([...byCategory.keys()]);
  const title = TITLES[type.slice(type.indexOf('/') + 1)]!;
  const at = context.at.toISOString();
  const jobArn = `arn:${context.partition}:macie2:${context.region}:${context.accountId}:classification-job/${context.jobId}`;
  const extension = object.key.includes('.') ? object.key.slice(object.key.lastIndexOf('.') + 1) : '';
  return {
    accountId: context.accountId,
    archived: false,
    category: 'CLASSIFICATION',
    classificationDetails: {
      detailedResultsLocation: `s3://countersign-twin-macie-results/AWSLogs/${context.accountId}/Macie/${context.region}/${context.jobId}/${context.accountId}/${findingIdOf(context.jobId, object)}.jsonl.gz`,
      jobArn,
      jobId: context.jobId,
      originType: 'SENSITIVE_DATA_DISCOVERY_JOB',
      result: {
        additionalOccurrences: scan.additionalOccurrences,
        customDataIdentifiers: { detections: [], totalCount: 0 },
        mimeType: scan.mimeType,
        sensitiveData: [...byCategory].map(([category, detections]) => ({
          category,
          detections: detections.map((detection) => ({
            count: detection.count,
            occurrences: detection.occurrences,
            type: detection.type,
          })),
          totalCount: detections.reduce((sum, detection) => sum + detection.count, 0),
        })),
        sizeClassified: scan.bytes,
        status: { code: 'COMPLETE', reason: null },
      },
    },
    count: 1,
    createdAt: at,
    description: `The object contains ${[...byCategory.keys()].map((category) => category.toLowerCase().replace(/_/g, ' ')).join(' and ')}.`,
    id: findingIdOf(context.jobId, object),
    partition: context.partition,
    region: context.region,
    resourcesAffected: {
      s3Bucket: {
        arn: `arn:${context.partition}:s3:::${object.bucket}`,
        name: object.bucket,
        owner: { displayName: 'countersign-twin', id: context.accountId },
        publicAccess: { effectivePermission: 'NOT_PUBLIC' },
        tags: [],
      },
      s3Object: {
        bucketArn: `arn:${context.partition}:s3:::${object.bucket}`,
        eTag: object.etag.replace(/"/g, ''),
        extension,
        key: object.key,
        lastModified: object.lastModified.toISOString(),
        path: `${object.bucket}/${object.key}`,
        publicAccess: false,
        serverSideEncryption: { encryptionType: 'NONE', kmsMasterKeyId: null },
        size: object.size,
        storageClass: 'STANDARD',
        tags: [],
        versionId: object.versionId === 'null' ? '' : object.versionId,
      },
    },
    sample: false,
    schemaVersion: '1.0',
    severity: { description: severity, score: SEVERITY_SCORE[severity] },
    title,
    type,
    updatedAt: at,
  };
}
