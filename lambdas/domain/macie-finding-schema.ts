/**
 * The parts of an Amazon Macie finding Countersign relies on, as one schema: tolerant of every field
 * it does not read (Macie adds fields over time), strict on the ones it does. A `Macie Finding`
 * EventBridge event carries the finding as its `detail` (the same shape GetFindings returns).
 * What a finding means is in macie-finding.ts.
 */
import { SeverityValue } from './classification.ts';
import { ValidationError } from './errors.ts';
import { FindingCategory, MACIE_EVENT, SENSITIVE_DATA_TYPE_PREFIX } from './macie-finding.ts';
import { describeIssues } from './schemas.ts';
import * as z from './zod.ts';

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

/** The event's finding, or a ValidationError naming what is wrong (paths and rules only, never values). */
export function parseFindingEvent(event: unknown): MacieFinding {
  const parsed = MacieFindingEvent.safeParse(event);
  if (!parsed.success) {
    const issues = describeIssues(parsed.error);
    throw new ValidationError(`malformed Macie finding event: ${issues.join('; ')}`, issues);
  }
  return parsed.data.detail;
}
