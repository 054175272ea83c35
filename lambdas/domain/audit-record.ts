/**
 * The audit record: one fact about one request (it was asked, evaluated, shown to reviewers, voted
 * on, refused a vote, decided, given a receipt, published, run, matched to a privileged call, its
 * after-the-fact review closed), as it is written to the table, read by
 * the API and the console, streamed to the archiver and kept in the archive, versioned.
 *
 * What a record may carry is an allow-list: each kind has a strict schema for its `data`, so a field
 * nobody named (a task token, a bearer token, a chat credential, a signed job) cannot reach the table
 * or the archive; it fails validation where it is written. Free text is limited to what reviewers
 * and policies wrote on purpose (a vote's reason, a policy's reason).
 */
import { ReviewInput, ReviewStatus } from './after-the-fact-review.ts';
import { ClassificationAuditRecord, ClassificationStatusValue, SeverityValue } from './classification.ts';
import { CallStatusValue, PrivilegedCall } from './privileged-calls.ts';
import {
  ActionName,
  BreakGlass,
  ChannelValue,
  DecisionValue,
  ExecutionOutcome,
  ExecutionRecord,
  PolicyDecision,
  RequestId,
} from './schemas.ts';
import * as z from './zod.ts';

/** The version of the record's shape, in every stored and archived record. */
export const AUDIT_SCHEMA_VERSION = 1;

export const AuditKind = {
  requested: 'REQUESTED',
  evaluated: 'EVALUATED',
  notified: 'NOTIFIED',
  voted: 'VOTED',
  /** A vote that did not count: who tried, on which channel, and the reason (a stable code). */
  refused: 'REFUSED',
  decided: 'DECIDED',
  /** The decision receipt was signed (its hash, key and validity; the receipt lives on the request). */
  signed: 'SIGNED',
  published: 'PUBLISHED',
  /** Countersign ran the approved action itself (EXECUTED or EXECUTION_FAILED). */
  executed: 'EXECUTED',
  /** A privileged call (CloudTrail) was matched to this request's approval. */
  reconciled: 'RECONCILED',
  /** The after-the-fact review of this (break-glass) request was closed. */
  reviewed: 'REVIEWED',
} as const;
export type AuditKind = (typeof AuditKind)[keyof typeof AuditKind];

const Sha256Hex = z.string().check(z.regex(/^[a-f0-9]{64}$/, 'a SHA-256 in hex'));
const Timestamp = z.iso.datetime();

/** The classification a policy was evaluated with: what policies read, not the findings or the subject. */
export const ClassificationUsed = z.strictObject({
  status: ClassificationStatusValue,
  severity: z.nullable(SeverityValue),
  categories: z.array(z.string()),
  types: z.array(z.string()),
});
export type ClassificationUsed = z.infer<typeof ClassificationUsed>;

const RequestedData = z.strictObject({
  action: ActionName,
  resource: z.string().check(z.minLength(1), z.maxLength(2048)),
  actionHash: Sha256Hex,
  /** A break-glass request's reason and incident: what the after-the-fact review is about. */
  breakGlass: z.optional(BreakGlass),
  sourceEventId: z.string().check(z.minLength(1), z.maxLength(256)),
  executionArn: z.string().check(z.minLength(1), z.maxLength(2048)),
});
const EvaluatedData = z.strictObject({
  ...PolicyDecision.shape,
  expiresAt: z.optional(Timestamp),
  classification: z.optional(ClassificationUsed),
});
const NotifiedData = z.strictObject({
  groups: z.array(z.string()),
  quorum: z.number().check(z.int(), z.gte(0)),
  expiresAt: z.optional(Timestamp),
});
const VotedData = z.strictObject({
  vote: z.enum(['approve', 'deny']),
  reason: z.optional(z.string().check(z.maxLength(2000))),
  channel: ChannelValue,
});
const RefusedData = z.strictObject({
  channel: ChannelValue,
  /** Why, as a stable code (`NOT_IN_GROUP`, `ALREADY_VOTED`, `UNKNOWN_IDENTITY`, `STEP_UP_REQUIRED` …). */
  code: z.string().check(z.regex(/^[A-Z][A-Z0-9_]{1,63}$/)),
  /** The explanation the voter was given; Countersign's own words, never the voter's input. */
  reason: z.optional(z.string().check(z.maxLength(1000))),
  vote: z.optional(z.enum(['approve', 'deny'])),
});
const DecidedData = z.strictObject({
  decision: DecisionValue,
  approvers: z.array(z.string()),
  reason: z.optional(z.string().check(z.maxLength(2000))),
});
const SignedData = z.strictObject({
  /** The JWS header's `kid`: the signing key's RFC 7638 thumbprint. */
  keyId: z.string().check(z.minLength(1), z.maxLength(128)),
  issuedAt: Timestamp,
  expiresAt: Timestamp,
  /** SHA-256 of the compact JWS: names the receipt without copying it. */
  receiptSha256: Sha256Hex,
});
const PublishedData = z.strictObject({
  decision: DecisionValue,
  actionHash: Sha256Hex,
  receiptExpiresAt: Timestamp,
});
const ExecutedData = z.strictObject({
  status: ExecutionOutcome.shape.status,
  /** The role session it ran in: CloudTrail's `roleSessionName`, so the call can be found. */
  sessionName: ExecutionRecord.shape.sessionName,
  awsRequestId: ExecutionOutcome.shape.awsRequestId,
  /** AWS's error code and message, cut to a bound (never credentials: the executor writes no others). */
  error: z.optional(z.string().check(z.minLength(1), z.maxLength(2000))),
});
/** The call CloudTrail recorded and the approval it was matched to (the request's own, or break-glass). */
const ReconciledData = z.strictObject({
  eventId: PrivilegedCall.shape.eventId,
  status: CallStatusValue,
  action: PrivilegedCall.shape.action,
  resourceArn: PrivilegedCall.shape.resourceArn,
  principalArn: PrivilegedCall.shape.principalArn,
  eventTime: PrivilegedCall.shape.eventTime,
});
/** How a reviewer closed the after-the-fact review (the reviewer is the record's actor). */
const ReviewedData = z.strictObject({
  outcome: z.enum([...ReviewInput.shape.outcome.options, ReviewStatus.withdrawn]),
  reason: ReviewInput.shape.reason,
  /** Absent when Countersign withdrew the review (an approval covered the call after all). */
  channel: z.optional(ChannelValue),
});

const RecordHead = {
  requestId: RequestId,
  /** Deterministic per fact (e.g. `VOTED#alice`), so a redelivered write is a no-op. */
  key: z
    .string()
    .check(z.minLength(1), z.maxLength(512), z.regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')),
  at: Timestamp,
  /** Who established the fact: a directory id, an agent id, `countersign`, or `<channel>:<chat user id>`. */
  actor: z.string().check(z.minLength(1), z.maxLength(300)),
};

/** One strict schema per kind, with `extra` fields (the stored record's version and sequence). */
function kinds<E extends z.core.$ZodShape>(extra: E) {
  const of = <K extends AuditKind, D extends z.core.$ZodType>(kind: K, data: D) =>
    z.strictObject({ ...RecordHead, ...extra, kind: z.literal(kind), data });
  return [
    of(AuditKind.requested, RequestedData),
    of(AuditKind.evaluated, EvaluatedData),
    of(AuditKind.notified, NotifiedData),
    of(AuditKind.voted, VotedData),
    of(AuditKind.refused, RefusedData),
    of(AuditKind.decided, DecidedData),
    of(AuditKind.signed, SignedData),
    of(AuditKind.published, PublishedData),
    of(AuditKind.executed, ExecutedData),
    of(AuditKind.reconciled, ReconciledData),
    of(AuditKind.reviewed, ReviewedData),
  ] as const;
}

/** A fact as a writer hands it to the store (RequestStore.appendAudit). */
export const NewAuditRecord = z.discriminatedUnion('kind', kinds({}));
export type NewAuditRecord = z.infer<typeof NewAuditRecord>;

/**
 * A fact as stored, served and archived. `seq` numbers a request's records 1, 2, 3 … without a gap:
 * the store assigns it once per fact key, atomically, so a retried write gets the same number and
 * the archive's verifier can tell a record that never reached it (a hole) from one that was never
 * written.
 */
export const AuditRecord = z.discriminatedUnion(
  'kind',
  kinds({ schemaVersion: z.literal(AUDIT_SCHEMA_VERSION), seq: z.number().check(z.int(), z.positive()) }),
);
export type AuditRecord = z.infer<typeof AuditRecord>;

/** The fields of a stored record, in the order they are written (the archive's line order). */
export const AUDIT_RECORD_FIELDS = [
  'schemaVersion',
  'requestId',
  'seq',
  'kind',
  'key',
  'at',
  'actor',
  'data',
] as const satisfies readonly (keyof AuditRecord)[];

/**
 * A classification change (Macie's verdict on an object or bucket changed) as archived: the
 * classification store's record (`subject` instead of a request, its own strict schema) with the
 * archive's `schemaVersion`. It belongs to no request, so it carries no `seq`.
 */
export const ClassificationChangeRecord = z.strictObject({
  schemaVersion: z.literal(AUDIT_SCHEMA_VERSION),
  ...ClassificationAuditRecord.shape,
});
export type ClassificationChangeRecord = z.infer<typeof ClassificationChangeRecord>;

/** Every line of the archive: a request's record, or a classification change. */
export const ArchivedRecord = z.union([AuditRecord, ClassificationChangeRecord]);
export type ArchivedRecord = z.infer<typeof ArchivedRecord>;

/** The fields of an archived record, in the order they are written (absent ones are left out). */
export const ARCHIVED_RECORD_FIELDS = [
  'schemaVersion',
  'requestId',
  'subject',
  'seq',
  'kind',
  'key',
  'at',
  'actor',
  'data',
] as const;
