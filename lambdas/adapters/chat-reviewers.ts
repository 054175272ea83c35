/**
 * Binding chat identities to directory identities, and telling a reviewer in plain words why a
 * vote did not count. Shared by the Slack and Teams endpoints so both refuse the same way.
 * Unknown or unmapped people are refused (never guessed) and the refusal is audited.
 */

import { createHash } from 'node:crypto';
import { AuditKind } from '../domain/audit-record.ts';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  StepUpRequiredError,
  ValidationError,
} from '../domain/errors.ts';
import type { Principal } from '../domain/schemas.ts';
import type { Directory, RequestStore } from '../ports/index.ts';

export const UNBOUND_IDENTITY_CODE = 'UNKNOWN_IDENTITY';
export const UNBOUND_IDENTITY_MESSAGE =
  'Your chat account is not linked to a Countersign identity, so your vote was not recorded. Ask an administrator to add you to the directory.';
export const UNBOUND_REVIEWER_MESSAGE =
  'Your chat account is not linked to a Countersign identity, so the review was not closed. Ask an administrator to add you to the directory.';
export const REVIEW_GONE_MESSAGE = 'This review no longer exists.';

/** Slack: the configured Slack user id first, then the Slack profile's email (users.info). */
export async function resolveSlackReviewer(
  directory: Directory,
  lookupEmail: (slackUserId: string) => Promise<string | undefined>,
  slackUserId: string,
): Promise<Principal | undefined> {
  const direct = await directory.resolve({ kind: 'slack', value: slackUserId });
  if (direct !== undefined) return direct;
  const email = await lookupEmail(slackUserId);
  return email === undefined ? undefined : directory.resolve({ kind: 'email', value: email });
}

/** Teams: the sender's Entra ID (AAD) object id. */
export async function resolveTeamsReviewer(
  directory: Directory,
  aadObjectId: string | undefined,
): Promise<Principal | undefined> {
  return aadObjectId === undefined ? undefined : directory.resolve({ kind: 'teams', value: aadObjectId });
}

/** What a chat platform's account ids look like; anything else came from whoever forged the click. */
const CHAT_ACCOUNT_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * The chat account as the trail names it: the id when it looks like one, otherwise a digest of it, so a
 * hostile id (control characters, any length) is still recorded as one stable actor and key.
 */
function chatAccount(chatUserId: string): string {
  if (CHAT_ACCOUNT_ID.test(chatUserId)) return chatUserId;
  return `sha256:${createHash('sha256').update(chatUserId, 'utf8').digest('hex').slice(0, 32)}`;
}

/**
 * Audits a vote a chat endpoint refused before it reached castVote (an account bound to nobody, an
 * approval of a review the message could not show in full). One record per chat account and reason:
 * repeated attempts are the same fact, so nobody can grow a request's trail by clicking.
 */
export async function recordChatRefusal(
  store: Pick<RequestStore, 'appendAudit'>,
  input: {
    readonly requestId: string;
    readonly channel: 'slack' | 'teams';
    readonly chatUserId: string;
    readonly code: string;
    readonly reason: string;
    readonly vote?: 'approve' | 'deny';
    readonly at: Date;
  },
): Promise<void> {
  const actor = `${input.channel}:${chatAccount(input.chatUserId)}`;
  await store.appendAudit({
    requestId: input.requestId,
    kind: AuditKind.refused,
    key: `${AuditKind.refused}#${actor}#${input.code}`,
    at: input.at.toISOString(),
    actor,
    data: {
      channel: input.channel,
      code: input.code,
      reason: input.reason,
      ...(input.vote === undefined ? {} : { vote: input.vote }),
    },
  });
}

export interface ReviewerRefusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

/** What to tell a reviewer when castVote refuses; undefined for errors that are ours, not theirs. */
export function refusalFor(error: unknown): ReviewerRefusal | undefined {
  if (error instanceof ForbiddenError) return { status: 403, code: error.code, message: error.message };
  if (error instanceof ConflictError) return { status: 409, code: error.code, message: error.message };
  if (error instanceof NotFoundError)
    return { status: 404, code: 'NOT_FOUND', message: 'This request no longer exists.' };
  if (error instanceof StepUpRequiredError) return { status: 400, code: error.code, message: error.message };
  if (error instanceof ValidationError) {
    return { status: 400, code: 'BAD_REQUEST', message: error.issues.join('; ') || error.message };
  }
  return undefined;
}
