/**
 * The ports the services need. Adapters implement them for AWS (lambdas/adapters/aws-*) and for
 * the local twin (local/adapters); the domain and the services never import an adapter.
 */

import type { JWK } from 'jose';
import type { DueReviewReminder, Review, ReviewStatus } from '../domain/after-the-fact-review.ts';
import type { DecisionMade } from '../domain/approval.ts';
import type { AuditRecord, NewAuditRecord } from '../domain/audit-record.ts';
import type {
  BucketClassification,
  BucketFinding,
  ClassificationAuditRecord,
  ObjectClassification,
  RequestClassification,
} from '../domain/classification.ts';
import type { ExecutableAction } from '../domain/executors.ts';
import type { MacieJobStatus } from '../domain/macie-finding.ts';
import type { DueReminder } from '../domain/messages/reminders.ts';
import type { ApprovalGrant, CallRecord, CallStatusValue } from '../domain/privileged-calls.ts';
import type { ReceiptClaims } from '../domain/receipt.ts';
import type {
  ActionDecidedDetail,
  AgentRequestEvent,
  ChannelValue,
  DecisionValue,
  ExecutionOutcome,
  ExecutionRecord,
  Principal,
  RequestRecord,
  RequestStatusValue,
  Vote,
  VoteInput,
} from '../domain/schemas.ts';

export interface Clock {
  now(): Date;
}

export interface ListRequestsQuery {
  readonly status?: RequestStatusValue;
  readonly limit?: number;
  /** Opaque continuation token from a previous page. */
  readonly cursor?: string;
  /**
   * Only records this holds for (e.g. those the caller may read). Pages stay correct: the store
   * reads on past records left out, and the cursor continues after the last record it examined.
   */
  readonly visible?: (record: RequestRecord) => boolean;
}

export interface Page<T> {
  readonly items: T[];
  readonly cursor?: string;
}

/** A decision to store; with the receipt signed over it, stored in the same write (ReceiptSigner). */
export interface DecideInput extends DecisionMade {
  readonly receipt?: string;
}

export interface WaitState {
  readonly taskToken?: string;
  readonly notified: boolean;
  /** The decision was sent through the current task token (a fresh token, e.g. after a restart, is not). */
  readonly resumed: boolean;
}

/** What `RequestStore.saveTaskToken` read in its write. */
export interface SavedTaskToken {
  readonly record: RequestRecord;
  readonly waitState: WaitState;
  /**
   * No wait task saved a token for this request before this one, so none can have asked reviewers
   * yet (a retried or re-driven wait saves again). Never true of a request stored before the store
   * counted the saves: whether one of its waits asked cannot be known.
   */
  readonly firstWait: boolean;
}

export interface DecideResult {
  readonly applied: boolean;
  readonly record: RequestRecord;
  readonly waitState: WaitState;
}

/** The number a fact's key got ahead of its record (`RequestStore.reserveAudit`, `appendAudits`' `reserve`). */
export interface AuditReservation {
  readonly requestId: string;
  readonly key: string;
  readonly seq: number;
}

/**
 * Persistence of requests and their audit trail. Every mutation is a single-item conditional
 * write (no transactions), so concurrent and redelivered calls resolve to exactly one outcome.
 */
export interface RequestStore {
  /**
   * Stores a new request unless one with the same requestId exists. Returns the stored record
   * and whether this call created it (false on redelivery or a duplicate request).
   */
  claim(record: RequestRecord): Promise<{ created: boolean; record: RequestRecord }>;
  get(requestId: string): Promise<RequestRecord | undefined>;
  /** The request and where its workflow stands (getWaitState), in one read. */
  getWithWaitState(requestId: string): Promise<{ record: RequestRecord; waitState: WaitState } | undefined>;
  list(query: ListRequestsQuery): Promise<Page<RequestRecord>>;
  /**
   * Adds a vote while the request is PENDING, unexpired at `at`, and the voter has not voted.
   * Throws ConflictError (`ALREADY_VOTED`, `NOT_PENDING`, `EXPIRED`) when the condition fails.
   */
  addVote(requestId: string, vote: Vote, at: Date): Promise<RequestRecord>;
  /**
   * Moves a PENDING request to its terminal status exactly once. `applied` is false when the
   * request was already decided; `record` is then the stored, earlier decision. `waitState` is
   * where its workflow stood in the same item (read in the same write): who resumes it next needs
   * no read of its own.
   */
  decide(requestId: string, input: DecideInput): Promise<DecideResult>;
  /**
   * Records the task token of the current wait, only on a request `executionArn` owns (throws
   * ConflictError `FOREIGN_EXECUTION` otherwise, NotFoundError when there is no such request);
   * returns the request and where its workflow stands (this token saved) as the save left them,
   * read in the same write.
   */
  saveTaskToken(requestId: string, taskToken: string, executionArn: string): Promise<SavedTaskToken>;
  getTaskToken(requestId: string): Promise<string | undefined>;
  /**
   * Where the paused workflow stands: the latest task token and whether reviewers were notified
   * and the workflow resumed. A decided but unresumed request is healed by resuming it.
   */
  getWaitState(requestId: string): Promise<WaitState>;
  /** Marks reviewers as notified; true only for the first caller. */
  markNotified(requestId: string, at: Date): Promise<boolean>;
  /**
   * Records that the wait of `taskToken` was resumed (its decision sent, or refused because the
   * token had already ended); true when this call set the mark. The mark is bound to the token: a
   * wait re-driven with a fresh token (after a restart) is not marked by the old token's send, so
   * its decision is sent again, through it.
   */
  markResumed(requestId: string, taskToken: string, at: Date): Promise<boolean>;
  /**
   * Stores the receipt of a decided request once (conditional write); returns the record with the
   * receipt that stands, the first one stored. NotFoundError / ConflictError `NOT_DECIDED` otherwise.
   */
  attachReceipt(requestId: string, receipt: string): Promise<RequestRecord>;
  /**
   * Claims Countersign's run of an approved action, once: sets `execution` (STARTED) on a request
   * that is APPROVED and has none yet (conditional write). `claimed` is false when another call
   * claimed it first; `record` is then the stored one. NotFoundError when there is no such request.
   */
  claimExecution(
    requestId: string,
    started: ExecutionRecord,
  ): Promise<{ claimed: boolean; record: RequestRecord }>;
  /**
   * Finishes the claimed run with its outcome, once (only while it is STARTED); returns the stored
   * record, with the outcome that stands.
   */
  finishExecution(
    requestId: string,
    outcome: ExecutionOutcome & { readonly finishedAt: Date },
  ): Promise<RequestRecord>;
  /**
   * Appends an audit record; a record with the same (requestId, key) is kept as first written. The
   * store numbers each request's records 1, 2, 3 … (`seq`): a key gets its number once, atomically,
   * so a retried or concurrent write of the same fact gets the same number and the numbers of the
   * facts that were written have no gap (a gap means a write that never completed). With a
   * reservation of the record's key (from `appendAudits`' `reserve` or `reserveAudit`), the record is written under that number
   * without numbering again; a reservation of another key or request is not used.
   */
  appendAudit(record: NewAuditRecord, reservation?: AuditReservation): Promise<void>;
  /**
   * Appends records of one request as `appendAudit` appends each, numbered in the order given, in
   * fewer round trips (one numbering for all when none has its number yet). `reserve` names keys of
   * facts of the same request to be appended later (after something that must happen in between):
   * they are numbered after the records, in the same write, and the reservations returned let
   * `appendAudit` write each under its number without numbering again. A reserved key whose record
   * is never written is a gap only once a later fact is numbered after it (a write that never
   * completed, as the trail says of any numbered fact that was not written). Concurrency: as
   * appendAudit, record by record.
   */
  appendAudits(
    records: readonly NewAuditRecord[],
    reserve?: readonly string[],
  ): Promise<readonly AuditReservation[]>;
  /**
   * Numbers keys of facts of one request ahead of their records, in one write when none has its
   * number yet (a key that has one keeps it), so that numbering runs beside other work rather than
   * after it; `appendAudit` writes each record under its reservation. As with `appendAudits`'
   * `reserve`, a key whose record is never written is a gap in the trail.
   */
  reserveAudit(requestId: string, keys: readonly string[]): Promise<readonly AuditReservation[]>;
  /** The request's records as stored, in time order (then in the order they were numbered). */
  listAudit(requestId: string): Promise<AuditRecord[]>;
  /** Whether the request's trail has the record of `key` (a strongly consistent read). */
  hasAudit(requestId: string, key: string): Promise<boolean>;
}

/** Resumes a workflow paused on a task token (Step Functions SendTaskSuccess / SendTaskFailure). */
export interface Workflow {
  succeed(
    taskToken: string,
    output: { decision: DecisionValue; approvers: readonly string[] },
  ): Promise<void>;
  fail(taskToken: string, error: string, cause: string): Promise<void>;
}

/**
 * Signs decision receipts: a compact JWS (ES256, header `kid`) over the claims, with the current
 * receipt key. Stateless and safe to call concurrently; ECDSA signs anew each time, so a caller that
 * must answer with one receipt stores the first one (RequestStore.attachReceipt).
 */
export interface ReceiptSigner {
  sign(claims: ReceiptClaims): Promise<string>;
}

/** The public keys receipts verify with (the current key and retired ones), as a JWKS. */
export interface ReceiptKeys {
  jwks(): Promise<{ keys: JWK[] }>;
}

/**
 * Starts the approval workflow for a request the fast decision path cannot decide alone (people
 * decide, or Countersign executes). One execution per request: its name is derived from the request
 * id, so a retried or concurrent start starts nothing new. Safe to call concurrently.
 */
export interface ApprovalWorkflows {
  /** Starts the workflow with the event the agent-request rule would deliver. */
  start(requestId: string, event: AgentRequestEvent): Promise<void>;
  /** Whether the fast path started a workflow for the request (its Evaluate may not have stored it yet). */
  hasStarted(requestId: string): Promise<boolean>;
}

/** Why an executor's AWS call failed (AWS's error code and message), and the AWS request id if it got one. */
export interface ExecutionFailure {
  readonly error: string;
  readonly awsRequestId?: string;
}

/** An executor's run: done (with the AWS request id of the call), or refused by AWS. */
export type ExecutionResult = { readonly awsRequestId?: string } | { readonly failure: ExecutionFailure };

/**
 * Runs an approved action in a role session named `sessionName`, scoped by a session policy to
 * exactly that action (domain/executors.ts). Never throws for what AWS refused (a failure, which
 * did not run); throws only when it cannot tell whether the call ran.
 */
export interface ActionExecutor {
  run(action: ExecutableAction, sessionName: string): Promise<ExecutionResult>;
}

/** Puts `Action Decided` on the Countersign bus. */
export interface DecisionPublisher {
  publish(detail: ActionDecidedDetail): Promise<void>;
}

/** What a reviewer-facing channel needs to show and update a review. */
export interface ReviewNotifier {
  /**
   * Posts the review to reviewers, at least once per request: a channel that has the review
   * already is not asked again, unless `firstAsk` says no earlier call can have posted it (then
   * nothing is looked up).
   */
  requestReview(record: RequestRecord, options?: { readonly firstAsk?: boolean }): Promise<void>;
  /** Updates what reviewers see after a vote or the decision. */
  updateReview(record: RequestRecord): Promise<void>;
}

/** Reminds reviewers of a pending request before it expires. */
export interface ReviewReminders {
  remind(record: RequestRecord, reminder: DueReminder): Promise<void>;
}

/**
 * Which reminders were sent: one mark per (request, lead), claimed with a conditional write before
 * sending, so overlapping or retried scheduler runs send each reminder at most once.
 */
export interface ReminderMarks {
  /** True only for the first caller for this request and lead. */
  claim(requestId: string, leadSeconds: number, at: Date): Promise<boolean>;
  /** Undoes a claim whose reminder could not be sent, so a later run sends it. */
  release(requestId: string, leadSeconds: number): Promise<void>;
}

/** A reference to someone as a channel knows them. */
export type IdentityRef =
  | { readonly kind: 'id'; readonly value: string }
  | { readonly kind: 'email'; readonly value: string }
  | { readonly kind: 'slack'; readonly value: string }
  | { readonly kind: 'teams'; readonly value: string };

/** The chat channels whose accounts are bound to directory identities. */
export type ChatIdentityChannel = 'slack' | 'teams';

/**
 * Operator-written bindings of chat accounts to directory user names, for directories that hold
 * no chat ids themselves (the IAM Identity Center identity store). Unbound → undefined.
 */
export interface IdentityOverrides {
  userNameFor(channel: ChatIdentityChannel, chatUserId: string): Promise<string | undefined>;
}

/** An agent as the directory registers it. */
export interface DirectoryAgent {
  readonly id: string;
  /** The person accountable for the agent, as written (a directory id or an email): resolve it before use. */
  readonly owner: string;
}

/**
 * Resolves channel identities to directory identities. Unknown → undefined, never a guess; a
 * directory that cannot answer throws (callers fail closed).
 */
export interface Directory {
  resolve(ref: IdentityRef): Promise<Principal | undefined>;
  /** The registered agent, or undefined when the directory does not know it (its requests are denied). */
  agent(agentId: string): Promise<DirectoryAgent | undefined>;
}

/** What policy evaluation sees of a request: the agent's ask plus facts looked up for it. */
export interface PolicyRequest {
  readonly agent: { readonly id: string; readonly onBehalfOf?: string };
  readonly action: string;
  readonly resource: { readonly arn: string; readonly type?: string };
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly context?: Readonly<Record<string, unknown>>;
  /** Data classification of the S3 object or bucket the request touches (from Macie); absent for other resources. */
  readonly classification?: RequestClassification;
  /** The agent asks Countersign to run the action itself once approved (`execute: true`). */
  readonly execute?: boolean;
  /** AWS tags of the resource, when looked up (never taken from the agent). */
  readonly resourceTags?: Readonly<Record<string, string>>;
}

/** Decides ALLOW / DENY / REQUIRE_APPROVAL. Never throws: any error is a DENY with its reason. */
export interface PolicyEngine {
  evaluate(request: PolicyRequest): import('../domain/schemas.ts').PolicyDecision;
  /** The action groups the policy schema puts an action in (e.g. `data-read`); none for undeclared actions. */
  actionGroups(action: string): readonly string[];
}

/** What a verified bearer token says about its holder; resolved to a Principal through the Directory. */
export interface VerifiedToken {
  readonly subject: string;
  /** Present only when the issuer did not mark it unverified. */
  readonly email?: string;
}

/** Verifies a bearer JWT (signature, issuer, audience, expiry). Throws AuthenticationError when invalid. */
export interface AccessTokenVerifier {
  verify(token: string): Promise<VerifiedToken>;
}

/** Where a review was posted in a chat, so later votes update that message in place. */
export interface ChatMessageRef {
  /** `slack` / `teams` for the review message; `slack-dm` marks the decision DM as sent. */
  readonly channel: 'slack' | 'teams' | 'slack-dm';
  /** Slack channel id or Teams conversation id. */
  readonly conversationId: string;
  /** Slack message `ts` or Teams activity id. */
  readonly messageId: string;
  /** Teams only: the Bot Connector base URL of the conversation. */
  readonly serviceUrl?: string;
}

/** One ref per (request, channel), written once with a conditional put. */
export interface ChatMessageRefs {
  /** Stores the ref unless one exists; `created` is false and `ref` the stored one otherwise. */
  save(requestId: string, ref: ChatMessageRef): Promise<{ created: boolean; ref: ChatMessageRef }>;
  get(requestId: string, channel: ChatMessageRef['channel']): Promise<ChatMessageRef | undefined>;
}

/** Records a vote and resumes the workflow when it decides; the cast-vote service bound to its ports, as every channel (REST API, Slack, Teams) calls it. */
/**
 * Settles a request before it is shown to someone who may vote on it: the decision its stored
 * votes make is stored (once) and its workflow resumed. Returns the request as stored after.
 */
export type SettleRequest = (record: RequestRecord) => Promise<RequestRecord>;

export type CastVote = (input: {
  readonly requestId: string;
  readonly principal: Principal;
  readonly input: VoteInput;
  readonly channel: ChannelValue;
}) => Promise<{ readonly record: RequestRecord; readonly decided: boolean }>;

/** The outcome of a conditional verdict write: whether it was applied, and what it replaced. */
export interface VerdictWrite<T> {
  readonly applied: boolean;
  readonly previous?: T;
}

/**
 * Macie's verdicts, kept per object (the latest sensitive-data verdict), per bucket (the aggregate of
 * its objects, and the latest policy finding of each type) with their audit trail. Concurrency
 * contract: a verdict write is one conditional write that applies only when the verdict is newer
 * than the stored one (`verdictOrder`), so replays and out-of-order deliveries change nothing; the
 * bucket aggregate is recomputed from the object verdicts and written with an optimistic condition
 * on the aggregate it read, so concurrent refreshes converge on the aggregate of every stored verdict.
 */
export interface ClassificationStore {
  putObjectVerdict(verdict: ObjectClassification): Promise<VerdictWrite<ObjectClassification>>;
  putBucketFinding(finding: BucketFinding): Promise<VerdictWrite<BucketFinding>>;
  /** Recomputes the bucket's aggregate; `changed` is false when the stored one was already right. */
  refreshBucket(
    bucket: string,
  ): Promise<{ readonly changed: boolean; readonly aggregate?: BucketClassification }>;
  objectVerdict(bucket: string, key: string): Promise<ObjectClassification | undefined>;
  bucketVerdict(bucket: string): Promise<BucketClassification | undefined>;
  bucketFindings(bucket: string): Promise<BucketFinding[]>;
  /** Appends an audit record; one with the same (subject, key) is kept as first written. */
  appendAudit(record: ClassificationAuditRecord): Promise<void>;
  /** The audit records of a subject (an object, or a bucket and its objects), oldest first. */
  listAudit(subject: string): Promise<ClassificationAuditRecord[]>;
}

/** The reading half of the ClassificationStore (what the REST API and lookups use). */
export type ClassificationReader = Pick<
  ClassificationStore,
  'objectVerdict' | 'bucketVerdict' | 'bucketFindings' | 'listAudit'
>;

/** Macie's one-time classification job for one object, as the classify-before-approval loop starts it. */
export interface ClassificationJobSpec {
  /** Idempotency token: the same token starts the same job. */
  readonly clientToken: string;
  readonly name: string;
  readonly description: string;
  readonly bucket: string;
  readonly key: string;
}

export interface ClassificationJobState {
  readonly jobId: string;
  readonly status: MacieJobStatus;
  readonly createdAt: string;
  /** Whether Macie reported account- or bucket-level errors while the job ran (`lastRunErrorStatus`). */
  readonly hadErrors: boolean;
}

/**
 * Amazon Macie's classification jobs and their findings. `start` is idempotent by client token;
 * `findingsOf` answers the job's findings as Macie returns them (untrusted: the caller validates).
 */
export interface ClassificationJobs {
  start(spec: ClassificationJobSpec): Promise<{ readonly jobId: string }>;
  describe(jobId: string): Promise<ClassificationJobState>;
  findingsOf(jobId: string): Promise<readonly unknown[]>;
}

export interface ListCallsQuery {
  readonly status?: CallStatusValue;
  readonly limit?: number;
  readonly cursor?: string;
  /** Only calls this holds for (those the caller may read); pages stay correct, as for requests. */
  readonly visible?: (call: CallRecord) => boolean;
}

/** What approvals of an agent's calls are kept under: the agent, the action (CloudTrail's spelling), the canonical resource. */
export interface CallSubject {
  readonly agentId: string;
  readonly action: string;
  readonly resourceArn: string;
}

/** How a call turned out to be covered after all: the approval, who may now read it, and its review. */
export interface CallCover {
  readonly status: CallStatusValue;
  readonly requestId: string;
  readonly readers: readonly string[];
  /** A break-glass request's review; without one the call has none. */
  readonly reviewId?: string;
}

/**
 * Privileged calls (one per CloudTrail eventID) and the approvals they are matched against. Every
 * mutation is a single-item conditional write: a redelivered event records nothing twice, and
 * concurrent calls never both consume one approval. Safe to call concurrently.
 */
export interface PrivilegedCallStore {
  /** Stores the call unless its eventID is stored; returns the stored call and whether this put created it. */
  putCall(call: CallRecord): Promise<{ created: boolean; call: CallRecord }>;
  getCall(eventId: string): Promise<CallRecord | undefined>;
  listCalls(query: ListCallsQuery): Promise<Page<CallRecord>>;
  /** Moves an UNAPPROVED call to `cover`; false when it is no longer UNAPPROVED (someone else covered it). */
  coverCall(eventId: string, cover: CallCover): Promise<boolean>;
  /**
   * Notes an agent's call under its subject, before it is classified, so a late approval finds it
   * (kept for a week after `eventTime`: CloudTrail delivers within minutes, a decision within hours).
   */
  noteCall(subject: CallSubject, eventId: string, eventTime: string): Promise<void>;
  /** The eventIDs of the calls noted under a subject (consistent read). */
  callsOf(subject: CallSubject): Promise<string[]>;
  /** Stores an approval unless it is stored: the first write, and its consumption, stand. */
  putGrant(grant: ApprovalGrant): Promise<void>;
  /** The approvals kept under a subject (consistent read), oldest decision first. */
  grantsOf(subject: CallSubject): Promise<ApprovalGrant[]>;
  /** One request's approval under a subject (consistent read), without reading the others. */
  getGrant(subject: CallSubject, requestId: string): Promise<ApprovalGrant | undefined>;
  /** Consumes the approval for the call: true when it was free or is already this call's. */
  consumeGrant(grant: ApprovalGrant, eventId: string): Promise<boolean>;
  /** Frees an approval this call consumed, so another call may be matched to it. */
  releaseGrant(grant: ApprovalGrant, eventId: string): Promise<void>;
}

/** How a review is closed: by a reviewer (ACKNOWLEDGED, ESCALATED) or by Countersign (WITHDRAWN). */
export interface ReviewClosing {
  readonly status: Exclude<(typeof ReviewStatus)[keyof typeof ReviewStatus], 'OPEN'>;
  readonly by: string;
  readonly reason?: string;
  readonly channel?: ChannelValue;
  readonly at: Date;
}

/**
 * After-the-fact reviews, each opened once and closed once (conditional writes), with the marks of
 * the reminders sent about them. Safe to call concurrently.
 */
export interface ReviewStore {
  /** Opens the review unless it exists; returns the stored one and whether this call opened it. */
  open(review: Review): Promise<{ created: boolean; review: Review }>;
  get(reviewId: string): Promise<Review | undefined>;
  /** The reviews that exist among `reviewIds`, in no particular order. */
  getMany(reviewIds: readonly string[]): Promise<Review[]>;
  /**
   * Closes an OPEN review exactly once; `applied` is false when it was already closed (`review`
   * is then the stored one). NotFoundError when there is no such review.
   */
  close(reviewId: string, closing: ReviewClosing): Promise<{ applied: boolean; review: Review }>;
  /** Open reviews, newest first, a page at a time. */
  listOpen(query: { readonly limit?: number; readonly cursor?: string }): Promise<Page<Review>>;
  /** Claims a reminder step before it is sent; true only for the first caller. */
  claimReminder(reviewId: string, step: string, at: Date): Promise<boolean>;
  /** Undoes a claim whose reminder could not be sent. */
  releaseReminder(reviewId: string, step: string): Promise<void>;
}

/**
 * Tells reviewers about after-the-fact reviews in every configured channel: the alert when one
 * opens, the update when it closes, reminders and escalations while it stays open. Posting is
 * idempotent per review and channel (a retried alert edits nothing twice).
 */
export interface ReviewAlerts {
  alert(review: Review): Promise<void>;
  update(review: Review): Promise<void>;
  remind(review: Review, reminder: DueReviewReminder): Promise<void>;
}

/** Closes an after-the-fact review; the close-review service bound to its ports, as every channel calls it. */
export type CloseReview = (input: {
  readonly reviewId: string;
  readonly principal: Principal;
  readonly input: unknown;
  readonly channel: ChannelValue;
}) => Promise<{ readonly review: Review }>;

/** A version (or delete marker) in the audit archive bucket, as S3 lists it. */
export interface ArchiveVersion {
  readonly key: string;
  readonly versionId: string;
  readonly lastModified: Date;
  /** The key's current version. */
  readonly isLatest: boolean;
  readonly deleteMarker: boolean;
  /** Bytes; 0 for a delete marker. */
  readonly size: number;
}

/** An object version opened for reading: its bytes arrive as a stream, never buffered whole. */
export interface ArchiveObject {
  readonly versionId: string;
  readonly lastModified: Date;
  readonly body: AsyncIterable<Uint8Array>;
}

/**
 * The audit archive bucket (S3 with Object Lock). `create` is a conditional write (If-None-Match)
 * and safe to call concurrently and again: it never replaces anything. Listings are in key order
 * (versions of a key newest first) and paginate lazily. Which calls a role may make is IAM's
 * business: the archiver creates under `audit/`, the digester reads `audit/` and writes `digests/`,
 * an auditor reads both.
 */
export interface AuditArchive {
  /**
   * Creates `key` with exactly `body` (SHA-256 checksum sent, so S3 refuses altered bytes) under
   * COMPLIANCE retention until `retainUntil`. `created` is false when the key already holds the
   * same bytes (a retry); throws ArchiveConflictError when it holds other bytes.
   */
  create(
    key: string,
    body: Uint8Array,
    options: { readonly contentType: string; readonly retainUntil: Date },
  ): Promise<{ readonly created: boolean; readonly versionId: string }>;
  /** Every version and delete marker under `prefix`, keys after `startAfterKey` only when given. */
  versions(prefix: string, options?: { readonly startAfterKey?: string }): AsyncIterable<ArchiveVersion>;
  /** The current keys under `prefix` (delete markers hide theirs), after `startAfter` when given. */
  keys(prefix: string, options?: { readonly startAfter?: string }): AsyncIterable<string>;
  /** A version (the current one when `versionId` is absent); NotFoundError when there is none. */
  open(key: string, versionId?: string): Promise<ArchiveObject>;
}

/**
 * Signs with an ES256 key that never leaves its keeper (KMS). Stateless and safe to call concurrently;
 * ECDSA signs anew each time.
 */
export interface Es256Signer {
  /** The key as its keeper names it (the KMS key ARN). */
  readonly keyId: string;
  /** The public key's RFC 7638 thumbprint: the `kid` a JWKS lists it under. */
  thumbprint(): Promise<string>;
  /** ECDSA P-256 over SHA-256 of `message`: the raw `r || s` (64 bytes). */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** One record of the table's stream, as the archiver sees it. */
export interface StreamedAuditRecord {
  /** The stream's sequence number: what a partial batch failure names. */
  readonly sequenceNumber: string;
  readonly eventSourceArn: string;
  /** The new image of an inserted audit item (plain JSON); undefined for any other change. */
  readonly auditImage?: Readonly<Record<string, unknown>>;
}

/** One record of the table's stream, as the fast path's follow-up (announce-fast-decisions) sees it. */
export interface StreamedFastDecision {
  /** The stream's sequence number: what a partial batch failure names. */
  readonly sequenceNumber: string;
  /**
   * The request the fast path inserted decided, read from the new image as the request store reads
   * its items; undefined for any other change (the mapping's filter lets none through).
   */
  readonly record?: RequestRecord;
  /** Why an insert of a fast-path request could not be read as a request (its issues). */
  readonly unreadable?: unknown;
}
