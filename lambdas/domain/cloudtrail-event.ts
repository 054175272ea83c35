/**
 * A CloudTrail record as EventBridge delivers it (`AWS API Call via CloudTrail` on the default
 * bus), read as loosely as CloudTrail writes it: `requestParameters` and `responseElements` may be
 * null, identities vary by type (an AWS service has no ARN), dates inside parameters are not ISO.
 * Only what reconciliation relies on is required. Pure.
 */
import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import { CLOUDTRAIL_API_CALL } from './privileged-actions.ts';
import { EventId } from './schemas.ts';
import * as z from './zod.ts';

// CommonJS with an ES-module typing: the default import is the function at run time.
const canonicalize = canonicalizeModule as unknown as typeof canonicalizeModule.default;

const SessionIssuer = z.looseObject({ type: z.optional(z.string()), arn: z.optional(z.string()) });

export const UserIdentity = z.looseObject({
  type: z.string().check(z.minLength(1)),
  principalId: z.optional(z.string()),
  arn: z.optional(z.string()),
  accountId: z.optional(z.string()),
  accessKeyId: z.optional(z.string()),
  userName: z.optional(z.string()),
  invokedBy: z.optional(z.string()),
  sessionContext: z.optional(z.looseObject({ sessionIssuer: z.optional(SessionIssuer) })),
});
export type UserIdentity = z.infer<typeof UserIdentity>;

const Parameters = z.record(z.string(), z.unknown());

export const CloudTrailRecord = z.looseObject({
  eventVersion: z.string().check(z.minLength(1)),
  userIdentity: UserIdentity,
  eventTime: z.iso.datetime({ offset: true }),
  eventSource: z
    .string()
    .check(z.regex(/^[a-z0-9.-]+\.amazonaws\.com$/, 'a service host such as s3.amazonaws.com')),
  eventName: z.string().check(z.regex(/^[A-Za-z][A-Za-z0-9]{0,127}$/, 'an API operation name')),
  awsRegion: z.string().check(z.minLength(1)),
  sourceIPAddress: z.optional(z.string()),
  userAgent: z.optional(z.string()),
  requestParameters: z.nullish(Parameters),
  responseElements: z.optional(z.unknown()),
  requestID: z.optional(z.string()),
  eventID: EventId,
  readOnly: z.optional(z.boolean()),
  resources: z.optional(
    z.array(z.looseObject({ ARN: z.optional(z.string()), type: z.optional(z.string()) })),
  ),
  eventType: z.optional(z.string()),
  recipientAccountId: z.optional(z.string()),
  errorCode: z.optional(z.string()),
  errorMessage: z.optional(z.string()),
});
export type CloudTrailRecord = z.infer<typeof CloudTrailRecord>;

export const CloudTrailEvent = z.looseObject({
  version: z.string(),
  id: z.string().check(z.minLength(1)),
  'detail-type': z.literal(CLOUDTRAIL_API_CALL),
  source: z.string().check(z.startsWith('aws.')),
  account: z.string(),
  time: z.string(),
  region: z.string(),
  resources: z.array(z.string()),
  detail: CloudTrailRecord,
});
export type CloudTrailEvent = z.infer<typeof CloudTrailEvent>;

/** Identity types whose calls are made in a session someone else issued: the issuer is the principal. */
const SESSION_TYPES = new Set(['AssumedRole', 'FederatedUser']);

/**
 * Who made the call, as an agent's `principalArn` names it: the user or role ARN; for an assumed
 * role (and a federated user) the session's issuer, since the session ARN changes per session.
 * Identities without an ARN are named by what CloudTrail gives them (an AWS service by its host).
 */
export function principalOf(identity: UserIdentity): string {
  const issuer = identity.sessionContext?.sessionIssuer?.arn;
  if (SESSION_TYPES.has(identity.type) && issuer !== undefined && issuer !== '') return issuer;
  return identity.arn ?? identity.invokedBy ?? `${identity.type}:${identity.principalId ?? 'unknown'}`;
}

/** `s3.amazonaws.com` + `PutBucketPolicy` → `s3:PutBucketPolicy`. */
export function actionOf(record: Pick<CloudTrailRecord, 'eventSource' | 'eventName'>): string {
  return `${record.eventSource.replace(/\.amazonaws\.com$/, '')}:${record.eventName}`;
}

/**
 * A fingerprint of the record's content (RFC 8785 canonical JSON, SHA-256): a redelivery has the
 * same one; another record claiming the same eventID does not.
 */
export function recordFingerprint(record: CloudTrailRecord): string {
  return createHash('sha256')
    .update(canonicalize(record) as string, 'utf8')
    .digest('hex');
}

/** The call's time in whole seconds, CloudTrail's precision (it writes `2024-05-14T13:05:09Z`). */
export function eventSecond(record: Pick<CloudTrailRecord, 'eventTime'>): number {
  return Math.floor(Date.parse(record.eventTime) / 1000);
}
