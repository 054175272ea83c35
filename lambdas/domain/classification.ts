/**
 * Data classification, as Countersign keeps it and shows it: the classification of one S3 object
 * (from Macie's latest sensitive-data finding, or a Macie job that found nothing), the aggregate of
 * a bucket, the bucket-level facts of Macie's policy findings, and the classification attached to
 * every request whose resource is an S3 object or bucket (what Cedar reads as
 * `resource.classification` and reviewers see). Pure: the store and the services build on these.
 */
import { JsonObject } from './json.ts';
import * as z from './zod.ts';

export const Severity = { low: 'Low', medium: 'Medium', high: 'High' } as const;
export const SeverityValue = z.enum([Severity.low, Severity.medium, Severity.high]);
export type SeverityValue = z.infer<typeof SeverityValue>;

const SEVERITY_RANK: Readonly<Record<SeverityValue, number>> = { Low: 1, Medium: 2, High: 3 };

/** The stricter of two severities; `null` (nothing sensitive) is below Low. */
export function maxSeverity(a: SeverityValue | null, b: SeverityValue | null): SeverityValue | null {
  if (a === null) return b;
  if (b === null) return a;
  return SEVERITY_RANK[a] >= SEVERITY_RANK[b] ? a : b;
}

export const ClassificationStatus = {
  classified: 'CLASSIFIED',
  unclassified: 'UNCLASSIFIED',
  /** The classification could not be established (lookup error, job failure, timeout): treated like High. */
  failed: 'FAILED',
} as const;
export const ClassificationStatusValue = z.enum([
  ClassificationStatus.classified,
  ClassificationStatus.unclassified,
  ClassificationStatus.failed,
]);
export type ClassificationStatusValue = z.infer<typeof ClassificationStatusValue>;

export const CLASSIFICATION_SOURCE = 'macie';

/** Macie's sensitive-data categories, as its findings name them. */
export const SensitiveDataCategory = {
  financial: 'FINANCIAL_INFORMATION',
  personal: 'PERSONAL_INFORMATION',
  credentials: 'CREDENTIALS',
  custom: 'CUSTOM_IDENTIFIER',
} as const;

const CATEGORY_WORDS: Readonly<Record<string, string>> = {
  [SensitiveDataCategory.financial]: 'financial information',
  [SensitiveDataCategory.personal]: 'personal information',
  [SensitiveDataCategory.credentials]: 'credentials',
  [SensitiveDataCategory.custom]: 'custom identifiers',
};

/** A category as reviewers read it: `FINANCIAL_INFORMATION` → "financial information". */
export function categoryInWords(category: string): string {
  return CATEGORY_WORDS[category] ?? category.toLowerCase().replace(/_/g, ' ');
}

const Timestamp = z.iso.datetime();

/**
 * The classification attached to a request whose resource is an S3 object or bucket: what Cedar
 * reads as `resource.classification`, what reviewers see and what `GET /api/requests/{id}` answers.
 * `severity` is null when Macie found nothing sensitive, and always when not CLASSIFIED.
 */
export const RequestClassification = z
  .strictObject({
    status: ClassificationStatusValue,
    severity: z.nullable(SeverityValue),
    categories: z.array(z.string()),
    types: z.array(z.string()),
    findingIds: z.array(z.string()),
    source: z.literal(CLASSIFICATION_SOURCE),
    /** When Macie classified it (the finding's `updatedAt`); null unless CLASSIFIED. */
    classifiedAt: z.nullable(Timestamp),
    /** The object or bucket classified (`s3://bucket/key`): for `s3:CopyObject` the source. */
    subject: z.optional(z.string()),
    /** Why the classification FAILED, in words. */
    reason: z.optional(z.string()),
  })
  .check(
    z.superRefine((classification, context) => {
      const classified = classification.status === ClassificationStatus.classified;
      if (classified !== (classification.classifiedAt !== null)) {
        context.addIssue({
          code: 'custom',
          path: ['classifiedAt'],
          message: 'is set exactly when the status is CLASSIFIED',
        });
      }
      const verdicts = [classification.categories, classification.types, classification.findingIds];
      if (!classified && (classification.severity !== null || verdicts.some((list) => list.length > 0))) {
        context.addIssue({
          code: 'custom',
          path: ['severity'],
          message: 'an unclassified or failed classification has no severity, categories, types or findings',
        });
      }
    }),
  );
export type RequestClassification = z.infer<typeof RequestClassification>;

/** A classification without a verdict (not classified, or failed). */
function withoutVerdict(
  status: ClassificationStatusValue,
  subject: string | undefined,
): RequestClassification {
  return {
    status,
    severity: null,
    categories: [],
    types: [],
    findingIds: [],
    source: CLASSIFICATION_SOURCE,
    classifiedAt: null,
    ...(subject === undefined ? {} : { subject }),
  };
}

export function unclassified(subject: string): RequestClassification {
  return withoutVerdict(ClassificationStatus.unclassified, subject);
}

export function failedClassification(reason: string, subject?: string): RequestClassification {
  return { ...withoutVerdict(ClassificationStatus.failed, subject), reason };
}

/** One line for reviewers: "High: financial information, personal information", "nothing sensitive" … */
export function describeClassification(classification: RequestClassification): string {
  switch (classification.status) {
    case ClassificationStatus.unclassified:
      return 'not classified yet';
    case ClassificationStatus.failed:
      return `classification failed (treated as High): ${classification.reason ?? 'unknown reason'}`;
    default: {
      if (classification.severity === null) return 'nothing sensitive found';
      const words = classification.categories.map(categoryInWords);
      return words.length === 0 ? classification.severity : `${classification.severity}: ${words.join(', ')}`;
    }
  }
}

/**
 * How alarming the data is, for a colour: `high` for High or FAILED (which the policies treat as
 * High), `medium`, `low`, and `none` for nothing sensitive or not classified yet.
 */
export type ClassificationLevel = 'high' | 'medium' | 'low' | 'none';

const LEVEL_OF_SEVERITY = { High: 'high', Medium: 'medium', Low: 'low' } as const;

export function classificationLevel(classification: RequestClassification): ClassificationLevel {
  if (classification.status === ClassificationStatus.failed) return 'high';
  return classification.severity === null ? 'none' : LEVEL_OF_SEVERITY[classification.severity];
}

const Counts = z.record(z.string(), z.number().check(z.int(), z.gte(0)));

/** What Countersign knows about one S3 object: Macie's latest verdict on it. */
export const ObjectClassification = z.strictObject({
  bucket: z.string().check(z.minLength(1)),
  key: z.string().check(z.minLength(1)),
  /** The version Macie analysed ("" or absent when the bucket is unversioned). */
  versionId: z.optional(z.string()),
  eTag: z.optional(z.string()),
  /** null: Macie analysed the object and found nothing sensitive. */
  severity: z.nullable(SeverityValue),
  categories: z.array(z.string()),
  types: z.array(z.string()),
  /** Occurrences per sensitive-data type (custom identifiers by name). */
  typeCounts: Counts,
  findingIds: z.array(z.string()),
  /** The finding's type, e.g. `SensitiveData:S3Object/Multiple`; absent when nothing was found. */
  findingType: z.optional(z.string()),
  /** The classification job that produced it, when one did. */
  jobId: z.optional(z.string()),
  /** The finding's `updatedAt` (or the job's creation, when it found nothing): what orders verdicts. */
  updatedAt: Timestamp,
});
export type ObjectClassification = z.infer<typeof ObjectClassification>;

/** At most this many finding ids are kept on a bucket aggregate (the newest first). */
export const BUCKET_FINDING_IDS_MAX = 50;

/** The aggregate of a bucket's classified objects: the strictest severity, every category and type. */
export const BucketClassification = z.strictObject({
  bucket: z.string().check(z.minLength(1)),
  severity: z.nullable(SeverityValue),
  categories: z.array(z.string()),
  types: z.array(z.string()),
  typeCounts: Counts,
  findingIds: z.array(z.string()),
  /** Finding ids beyond BUCKET_FINDING_IDS_MAX, counted only. */
  findingIdsOmitted: z.number().check(z.int(), z.gte(0)),
  /** Objects of the bucket Countersign holds a classification for, and how many hold sensitive data. */
  objects: z.number().check(z.int(), z.gte(0)),
  sensitiveObjects: z.number().check(z.int(), z.gte(0)),
  /** The newest of its objects' `updatedAt`. */
  updatedAt: Timestamp,
});
export type BucketClassification = z.infer<typeof BucketClassification>;

/** A Macie policy finding (`Policy:IAMUser/*`) about a bucket, kept as the latest of its type. */
export const BucketFinding = z.strictObject({
  bucket: z.string().check(z.minLength(1)),
  type: z.string().check(z.minLength(1)),
  severity: SeverityValue,
  findingId: z.string().check(z.minLength(1)),
  /** How often Macie has seen it (policy findings recur and are updated in place). */
  count: z.number().check(z.int(), z.gte(0)),
  title: z.optional(z.string()),
  updatedAt: Timestamp,
});
export type BucketFinding = z.infer<typeof BucketFinding>;

const sortedUnion = (lists: readonly (readonly string[])[]): string[] => [...new Set(lists.flat())].sort();

/**
 * The bucket aggregate, recomputed from its objects' classifications (never merged incrementally,
 * so any order of findings converges to the same aggregate).
 */
export function aggregateBucket(
  bucket: string,
  objects: readonly ObjectClassification[],
): BucketClassification | undefined {
  if (objects.length === 0) return undefined;
  const typeCounts: Record<string, number> = {};
  for (const object of objects) {
    for (const [type, count] of Object.entries(object.typeCounts)) {
      typeCounts[type] = (typeCounts[type] ?? 0) + count;
    }
  }
  const newestFirst = [...objects].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  const findingIds = [...new Set(newestFirst.flatMap((object) => object.findingIds))];
  return {
    bucket,
    severity: objects.reduce<SeverityValue | null>((max, object) => maxSeverity(max, object.severity), null),
    categories: sortedUnion(objects.map((object) => object.categories)),
    types: sortedUnion(objects.map((object) => object.types)),
    typeCounts,
    findingIds: findingIds.slice(0, BUCKET_FINDING_IDS_MAX),
    findingIdsOmitted: Math.max(0, findingIds.length - BUCKET_FINDING_IDS_MAX),
    objects: objects.length,
    sensitiveObjects: objects.filter((object) => object.severity !== null).length,
    updatedAt: newestFirst[0]!.updatedAt,
  };
}

/** A stored verdict (object or bucket) as a request's classification. */
export function classifiedAs(
  verdict: ObjectClassification | BucketClassification,
  subject: string,
): RequestClassification {
  return {
    status: ClassificationStatus.classified,
    severity: verdict.severity,
    categories: [...verdict.categories],
    types: [...verdict.types],
    findingIds: [...verdict.findingIds],
    source: CLASSIFICATION_SOURCE,
    classifiedAt: verdict.updatedAt,
    subject,
  };
}

/**
 * Orders two verdicts about the same object or finding: by `updatedAt` (normalized, so "…:04Z" and
 * "…:04.000Z" compare as the same instant), then by id. A write is applied only when its order is
 * greater than the stored one: the same finding twice, or an older one, changes nothing.
 */
export function verdictOrder(updatedAt: string, id: string): string {
  return `${new Date(updatedAt).toISOString()}#${id}`;
}

/** The audit kind of a change of classification. */
export const CLASSIFICATION_CHANGED = 'CLASSIFICATION_CHANGED';

/**
 * An audit record of a classification change: the same fields as a request's audit record, about a
 * subject (`s3://bucket[/key]`) instead of a request. Stored beside the classification under an
 * `AUDIT#` key, append-only, so the archive carries it like every other audit record.
 */
export const ClassificationAuditRecord = z.strictObject({
  subject: z.string().check(z.regex(/^s3:\/\/[^/]+(\/.+)?$/, 'an s3:// URI')),
  kind: z.literal(CLASSIFICATION_CHANGED),
  /** Deterministic per fact (the verdict's order), so a redelivered write is a no-op. */
  key: z.string().check(z.minLength(1)),
  at: Timestamp,
  actor: z.string().check(z.minLength(1)),
  data: JsonObject,
});
export type ClassificationAuditRecord = z.infer<typeof ClassificationAuditRecord>;

/**
 * The action groups of the policy schema whose requests are classified before they are evaluated:
 * reads and exports of data. An unclassified object they touch is scanned by a Macie job first.
 */
export const CLASSIFY_FIRST_GROUPS: readonly string[] = ['data-read', 'data-export'];

export const ScanState = { waiting: 'WAITING', done: 'DONE', failed: 'FAILED' } as const;
const ScanStateValue = z.enum([ScanState.waiting, ScanState.done, ScanState.failed]);

/** How a classify-before-approval scan ended, as Evaluate reads it (null: no scan was needed). */
export const ScanOutcome = z.looseObject({ state: ScanStateValue, reason: z.optional(z.string()) });
export type ScanOutcome = z.infer<typeof ScanOutcome>;

/** The object a request must have classified before it is evaluated. */
export const ScanTarget = z.strictObject({
  bucket: z.string().check(z.minLength(1)),
  key: z.string().check(z.minLength(1)),
});
export type ScanTarget = z.infer<typeof ScanTarget>;

/** A scan in progress, as the state machine carries it from one poll to the next. */
export const ClassificationScan = z.strictObject({
  ...ScanTarget.shape,
  state: ScanStateValue,
  jobId: z.string().check(z.minLength(1)),
  /** When the scan gives up (`countersign:classificationTimeoutSeconds` after it started). */
  deadline: Timestamp,
  /** The Wait between two polls. */
  pollSeconds: z.number().check(z.int(), z.positive()),
  reason: z.optional(z.string()),
});
export type ClassificationScan = z.infer<typeof ClassificationScan>;
