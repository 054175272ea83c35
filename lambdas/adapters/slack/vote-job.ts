/**
 * The vote (or the close of an after-the-fact review) a Slack acknowledgement hands to the
 * asynchronous worker (a self-invocation of the same function), sealed so the worker trusts nobody: a Lambda function policy cannot stop another
 * principal of the account with `lambda:InvokeFunction` from invoking the worker with a job of its
 * own. The seal is HMAC-SHA256, keyed with a secret only the Slack function can read (Secrets
 * Manager), over the RFC 8785 canonical JSON of `{ job, expiresAt }` behind a purpose label; a job
 * lives at most two minutes. Opening checks the MAC in constant time, then the expiry. A replay
 * within the two minutes can only repeat the same person's same vote, which castVote records once,
 * or the same close of a review, which closeReview's conditional write applies once.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import { ReviewStatus } from '../../domain/after-the-fact-review.ts';
import * as z from '../../domain/zod.ts';

// CommonJS with an ES-module typing: the default import is the function at run time.
const canonicalize = canonicalizeModule as unknown as typeof canonicalizeModule.default;

/** The vote handed from the acknowledgement to the worker: everything already verified. */
export const SlackVoteJob = z.strictObject({
  requestId: z.string().check(z.minLength(1)),
  vote: z.enum(['approve', 'deny']),
  reason: z.optional(z.string()),
  /** Step-up approvals: the resource name the reviewer typed (castVote checks it). */
  stepUpConfirmation: z.optional(z.string()),
  slackUserId: z.string().check(z.minLength(1)),
  /** Where to answer the reviewer with an ephemeral message. */
  channelId: z.string().check(z.minLength(1)),
  /** Unique per click or submission (action_ts / view id): names the audit of a refusal. */
  attemptId: z.string().check(z.minLength(1)),
  /** Slack redelivered this (X-Slack-Retry-Num): an "already voted" is then our own first delivery. */
  retry: z.boolean(),
});
export type SlackVoteJob = z.infer<typeof SlackVoteJob>;

/** A reviewer closing an after-the-fact review from its alert: everything already verified. */
export const SlackReviewJob = z.strictObject({
  reviewId: z.string().check(z.minLength(1)),
  outcome: z.enum([ReviewStatus.acknowledged, ReviewStatus.escalated]),
  /** Required to acknowledge (closeReview checks it). */
  reason: z.optional(z.string()),
  slackUserId: z.string().check(z.minLength(1)),
  channelId: z.string().check(z.minLength(1)),
  attemptId: z.string().check(z.minLength(1)),
  /** Slack redelivered this: a "closed" is then our own first delivery when this reviewer closed it. */
  retry: z.boolean(),
});
export type SlackReviewJob = z.infer<typeof SlackReviewJob>;

/** What the worker is handed: a vote on a request, or the close of a review (told apart by their ids). */
export const SlackJob = z.union([SlackVoteJob, SlackReviewJob]);
export type SlackJob = z.infer<typeof SlackJob>;

export function isReviewJob(job: SlackJob): job is SlackReviewJob {
  return 'reviewId' in job;
}

/** How long a sealed job may wait for its worker: Lambda starts async invocations within seconds. */
export const VOTE_JOB_TTL_SECONDS = 120;
/** The worker's clock may run a little behind the acknowledging one's. */
const CLOCK_SKEW_SECONDS = 30;
/** Domain separation: this key's MACs mean "a Slack vote job of format v1", nothing else. */
const PURPOSE = 'countersign.slack-vote-job.v1';

/** The key the seal is made with, as the Secrets Manager secret holds it (`{"key": "…"}`). */
export const VoteJobKey = z.object({
  key: z.string().check(z.minLength(32, 'the vote job key must be at least 32 characters')),
});
export type VoteJobKey = z.infer<typeof VoteJobKey>;

export const SealedVoteJob = z.strictObject({
  job: SlackJob,
  /** Epoch seconds after which the worker refuses the job. */
  expiresAt: z.number().check(z.int(), z.positive()),
  /** base64url HMAC-SHA256 (32 bytes). */
  mac: z.string().check(z.regex(/^[A-Za-z0-9_-]{43}$/)),
});
export type SealedVoteJob = z.infer<typeof SealedVoteJob>;

function macOf(key: string, job: SlackJob, expiresAt: number): Buffer {
  return createHmac('sha256', key)
    .update(`${PURPOSE}\n${canonicalize({ job, expiresAt })}`, 'utf8')
    .digest();
}

const nowSeconds = (now: Date) => Math.floor(now.getTime() / 1000);

export function sealVoteJob(job: SlackJob, key: VoteJobKey, now: Date): SealedVoteJob {
  const valid = SlackJob.parse(job);
  const expiresAt = nowSeconds(now) + VOTE_JOB_TTL_SECONDS;
  return { job: valid, expiresAt, mac: macOf(key.key, valid, expiresAt).toString('base64url') };
}

export const VoteJobRefusal = {
  malformed: 'MALFORMED_JOB',
  forged: 'FORGED_JOB',
  expired: 'EXPIRED_JOB',
} as const;
export type VoteJobRefusal = (typeof VoteJobRefusal)[keyof typeof VoteJobRefusal];

export type OpenedVoteJob =
  | { readonly ok: true; readonly job: SlackJob }
  | {
      readonly ok: false;
      readonly code: VoteJobRefusal;
      /** What the job claims (unauthenticated): only to find the request to audit the refusal on. */
      readonly claimedRequestId?: string;
      /** What a review job claims (unauthenticated): only to find the review to audit the refusal on. */
      readonly claimedReviewId?: string;
    };

/** The request or review a job names, whatever it is worth: a refusal is audited there when it exists. */
function claimsOf(job: unknown): { claimedRequestId?: string; claimedReviewId?: string } {
  const shape = job as { requestId?: unknown; reviewId?: unknown } | null | undefined;
  return {
    ...(typeof shape?.requestId === 'string' ? { claimedRequestId: shape.requestId } : {}),
    ...(typeof shape?.reviewId === 'string' ? { claimedReviewId: shape.reviewId } : {}),
  };
}

/** Opens a sealed job: the MAC first (constant time), then the expiry; anything else is refused. */
export function openVoteJob(input: unknown, key: VoteJobKey, now: Date): OpenedVoteJob {
  const sealed = SealedVoteJob.safeParse(input);
  if (!sealed.success) {
    // A sealed shape gone wrong, or a bare job someone made up: either may name a request or review.
    const shape = input as { job?: unknown } | null | undefined;
    return { ok: false, code: VoteJobRefusal.malformed, ...claimsOf(shape?.job ?? shape) };
  }
  const { job, expiresAt, mac } = sealed.data;
  const expected = macOf(key.key, job, expiresAt);
  if (!timingSafeEqual(expected, Buffer.from(mac, 'base64url'))) {
    return { ok: false, code: VoteJobRefusal.forged, ...claimsOf(job) };
  }
  const current = nowSeconds(now);
  // An expiry further out than a job can live was not made by a sealer with an honest clock.
  if (current >= expiresAt || expiresAt > current + VOTE_JOB_TTL_SECONDS + CLOCK_SKEW_SECONDS) {
    return { ok: false, code: VoteJobRefusal.expired, ...claimsOf(job) };
  }
  return { ok: true, job };
}
