/**
 * The REST API's response bodies that clients code against, as schemas: the handler's answers are
 * typed by them, the OpenAPI document is generated from them, and the CLI and the console read them.
 */
import { ReviewView } from '../domain/after-the-fact-review.ts';
import { Eligibility } from '../domain/approval.ts';
import { AuditRecord } from '../domain/audit-record.ts';
import {
  BucketClassification,
  BucketFinding,
  ClassificationAuditRecord,
  ObjectClassification,
  RequestClassification,
} from '../domain/classification.ts';
import { PrivilegedCall } from '../domain/privileged-calls.ts';
import { RequestRecord } from '../domain/schemas.ts';
import * as z from '../domain/zod.ts';

/** What GET /api/requests/{id} answers: the record, its audit timeline and whether the caller may vote. */
export const RequestDetailBody = z.strictObject({
  request: RequestRecord,
  timeline: z.array(AuditRecord),
  canVote: Eligibility.check(z.meta({ description: 'Whether the caller may vote now and, if not, why.' })),
  review: z.optional(ReviewView).check(
    z.meta({
      description: 'A break-glass request only: its after-the-fact review, open until a reviewer closes it.',
    }),
  ),
});
export type RequestDetailBody = z.infer<typeof RequestDetailBody>;

/** What GET /api/classifications?resource=<S3 ARN> answers: what Countersign knows of the data. */
export const ClassificationDetailBody = z.strictObject({
  resource: z.string().check(z.meta({ description: 'The S3 bucket or object ARN asked about.' })),
  subject: z.string().check(z.meta({ description: 'The same as an s3:// URI.' })),
  classification: RequestClassification.check(
    z.meta({
      description: 'The classification a request touching this resource would carry now.',
    }),
  ),
  object: z.optional(ObjectClassification).check(
    z.meta({
      description: "The object's latest verdict (objects only).",
    }),
  ),
  bucket: z.optional(BucketClassification).check(
    z.meta({
      description: "The aggregate of the bucket's classified objects.",
    }),
  ),
  bucketFindings: z
    .array(BucketFinding)
    .check(z.meta({ description: 'Macie policy findings about the bucket.' })),
  history: z
    .array(ClassificationAuditRecord)
    .check(z.meta({ description: 'Every recorded change, oldest first.' })),
});
export type ClassificationDetailBody = z.infer<typeof ClassificationDetailBody>;
/** What GET /api/privileged-calls answers: a page of reconciled calls, newest first. */
export const PrivilegedCallPage = z.strictObject({
  items: z.array(PrivilegedCall),
  cursor: z
    .optional(z.string())
    .check(z.meta({ description: 'Pass as `cursor` to get the next page; absent on the last.' })),
});
export type PrivilegedCallPage = z.infer<typeof PrivilegedCallPage>;

/** What closing a review answers: the review as it now stands. */
export const ReviewClosedBody = z.strictObject({ review: ReviewView });
export type ReviewClosedBody = z.infer<typeof ReviewClosedBody>;
