/**
 * After-the-fact reviews: what an unapproved privileged call and a break-glass decision get once
 * they have happened. Reviewers close one as ACKNOWLEDGED (with a reason) or ESCALATED; Countersign
 * withdraws one whose call turns out to have been approved after all. Who may close it follows the
 * rules for votes: a person, in one of the review's groups, never the agent, its owner or the
 * person it acts for. Until it is closed reviewers are reminded, then the review is escalated, on a
 * schedule counted from its opening. Pure.
 */
import { createHash } from 'node:crypto';
import { AgentId, BreakGlass, ChannelValue, type Principal, PrincipalType, RequestId } from './schemas.ts';
import * as z from './zod.ts';

export const ReviewKind = { unapprovedCall: 'UNAPPROVED_CALL', breakGlass: 'BREAK_GLASS' } as const;
export const ReviewStatus = {
  open: 'OPEN',
  acknowledged: 'ACKNOWLEDGED',
  escalated: 'ESCALATED',
  /** Closed by Countersign: the call was matched to an approval recorded after it arrived. */
  withdrawn: 'WITHDRAWN',
} as const;
export const ReviewStatusValue = z.enum([
  ReviewStatus.open,
  ReviewStatus.acknowledged,
  ReviewStatus.escalated,
  ReviewStatus.withdrawn,
]);
export type ReviewStatusValue = z.infer<typeof ReviewStatusValue>;

/** `call:<eventId>` for an unapproved call, `request:<requestId>` for a break-glass request. */
export const ReviewId = z
  .string()
  .check(z.regex(/^(call:[A-Za-z0-9-]{1,128}|request:[a-z0-9-]+:[A-Za-z0-9._:@+-]+)$/));

export function callReviewId(eventId: string): string {
  return `call:${eventId}`;
}

/**
 * The request id an agent's call that no request covers (UNAPPROVED, FAILED_CALL) is audited under,
 * with its review's outcome beside it: `<agentId>:call.<eventId>`, in the agent's namespace like its
 * requests, so Athena finds a call and its review by one id. An eventID too long for a request id
 * (CloudTrail's are UUIDs) is replaced by its SHA-256.
 */
export function callAuditRequestId(agentId: string, eventId: string): string {
  const MAX_IDENTIFIER = 128;
  const prefix = 'call.';
  const id =
    prefix.length + eventId.length <= MAX_IDENTIFIER
      ? eventId
      : createHash('sha256').update(eventId).digest('hex');
  return `${agentId}:${prefix}${id}`;
}

export function requestReviewId(requestId: string): string {
  return `request:${requestId}`;
}

/** What reviewers see of a review (also the `review` of a privileged call in the API). */
export const ReviewView = z.strictObject({
  reviewId: ReviewId,
  kind: z.enum([ReviewKind.unapprovedCall, ReviewKind.breakGlass]),
  status: ReviewStatusValue,
  /** Members of these groups may close it. */
  groups: z.array(z.string()),
  openedAt: z.iso.datetime(),
  closedAt: z.optional(z.iso.datetime()),
  /** The directory id of who closed it, or `countersign` when it was withdrawn. */
  closedBy: z.optional(z.string()),
  reason: z.optional(z.string()),
  channel: z.optional(ChannelValue),
});
export type ReviewView = z.infer<typeof ReviewView>;

/** What the review is about, as the alert and the reminders tell it. */
export const ReviewSubject = z.strictObject({
  agentId: AgentId,
  action: z.string(),
  resourceArn: z.optional(z.string()),
  /** An unapproved call: the principal, the CloudTrail event and where the call came from. */
  principalArn: z.optional(z.string()),
  eventId: z.optional(z.string()),
  eventTime: z.optional(z.iso.datetime({ offset: true })),
  sourceIPAddress: z.optional(z.string()),
  /** A break-glass request, its reason and incident. */
  requestId: z.optional(RequestId),
  breakGlass: z.optional(BreakGlass),
  /** What the policies say about the action, in words. */
  policy: z.string(),
});
export type ReviewSubject = z.infer<typeof ReviewSubject>;

export const Review = z.extend(ReviewView, {
  /** Directory ids that may never close it: the agent, its owner, whom it acts for. */
  requesters: z.array(z.string()),
  subject: ReviewSubject,
});
export type Review = z.infer<typeof Review>;

/** Where a review's outcome is audited: beside its break-glass request, or beside its call's RECONCILED record. */
export function reviewAuditRequestId(review: Review): string | undefined {
  const { subject } = review;
  if (review.kind === ReviewKind.breakGlass) return subject.requestId;
  return subject.eventId === undefined ? undefined : callAuditRequestId(subject.agentId, subject.eventId);
}

export function reviewView(review: Review): ReviewView {
  const { requesters: _requesters, subject: _subject, ...view } = review;
  return view;
}

/** What a reviewer sends to close a review. */
export const ReviewInput = z
  .strictObject({
    outcome: z.enum([ReviewStatus.acknowledged, ReviewStatus.escalated]),
    reason: z.optional(z.string().check(z.trim(), z.maxLength(2000))),
  })
  .check(
    z.refine((input) => input.outcome !== ReviewStatus.acknowledged || (input.reason ?? '').length > 0, {
      message: 'a reason is required to acknowledge',
      path: ['reason'],
    }),
  );
export type ReviewInput = z.infer<typeof ReviewInput>;

export const ReviewIneligible = {
  notAHuman: 'NOT_A_HUMAN',
  requester: 'REQUESTER',
  notInGroup: 'NOT_IN_GROUP',
  closed: 'REVIEW_CLOSED',
} as const;
export type ReviewIneligibleCode = (typeof ReviewIneligible)[keyof typeof ReviewIneligible];

const REVIEW_INELIGIBLE_MESSAGES: Record<ReviewIneligibleCode, string> = {
  NOT_A_HUMAN: 'Only people can close reviews; agents and service principals cannot.',
  REQUESTER: 'You cannot close this review: you are the agent, the person it acts for, or its owner.',
  NOT_IN_GROUP: 'You are not in any of the groups that review this.',
  REVIEW_CLOSED: 'This review is already closed.',
};

export function describeReviewIneligibility(code: ReviewIneligibleCode): string {
  return REVIEW_INELIGIBLE_MESSAGES[code];
}

/** Whether `principal` may close `review`: who they are first, then whether it is still open. */
export function reviewIneligibility(review: Review, principal: Principal): ReviewIneligibleCode | undefined {
  if (principal.type !== PrincipalType.user) return ReviewIneligible.notAHuman;
  if (review.requesters.includes(principal.id)) return ReviewIneligible.requester;
  if (!principal.groups.some((group) => review.groups.includes(group))) return ReviewIneligible.notInGroup;
  if (review.status !== ReviewStatus.open) return ReviewIneligible.closed;
  return undefined;
}

/** One hour and four hours after opening, in the channel where it was posted. */
export const REVIEW_REMINDER_AFTER_SECONDS = [3600, 4 * 3600] as const;
/** From a day after opening, once a day until it is closed, to everyone in the channel. */
export const REVIEW_ESCALATION_EVERY_SECONDS = 24 * 3600;

export interface DueReviewReminder {
  readonly reviewId: string;
  /** Unique per review and step: `reminder-3600`, `escalation-2` … (the mark claimed before sending). */
  readonly step: string;
  readonly escalation: boolean;
  readonly dueAt: string;
}

function latestDue(review: Review, after: number, upTo: number): DueReviewReminder | undefined {
  const opened = Date.parse(review.openedAt);
  const escalations = Math.floor((upTo - opened) / (REVIEW_ESCALATION_EVERY_SECONDS * 1000));
  const escalationDue = opened + escalations * REVIEW_ESCALATION_EVERY_SECONDS * 1000;
  if (escalations >= 1 && escalationDue > after) {
    return {
      reviewId: review.reviewId,
      step: `escalation-${escalations}`,
      escalation: true,
      dueAt: new Date(escalationDue).toISOString(),
    };
  }
  const reminders = REVIEW_REMINDER_AFTER_SECONDS.map((seconds) => ({
    seconds,
    due: opened + seconds * 1000,
  }))
    .filter(({ due }) => due > after && due <= upTo)
    .at(-1);
  return reminders === undefined
    ? undefined
    : {
        reviewId: review.reviewId,
        step: `reminder-${reminders.seconds}`,
        escalation: false,
        dueAt: new Date(reminders.due).toISOString(),
      };
}

/**
 * The reminders and escalations of open reviews due in (after, upTo]: at most one per review and
 * run, the latest step due, so a run that was missed sends one message, not a burst.
 */
export function dueReviewReminders(
  reviews: readonly Review[],
  window: { readonly after: Date; readonly upTo: Date },
): DueReviewReminder[] {
  return reviews.flatMap((review) => {
    if (review.status !== ReviewStatus.open) return [];
    const due = latestDue(review, window.after.getTime(), window.upTo.getTime());
    return due === undefined ? [] : [due];
  });
}
