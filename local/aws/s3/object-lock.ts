/**
 * Object Lock as the S3 user guide defines it. A version under COMPLIANCE retention cannot be
 * deleted, and its retention can only be extended, never shortened, removed or switched to
 * GOVERNANCE, by anyone. Under GOVERNANCE the same holds unless the request carries
 * `x-amz-bypass-governance-retention: true`; extending it, or making it COMPLIANCE no shorter, needs
 * no bypass. A legal hold blocks deletion whatever the retention. Expired retention protects nothing.
 */
import { objectLockProtected, S3Error } from './errors.ts';
import { type DefaultRetention, ObjectLockMode, type Retention, type VersionRecord } from './model.ts';

function isActive(retention: Retention | undefined, now: Date): retention is Retention {
  return retention !== undefined && Date.parse(retention.retainUntil) > now.getTime();
}

/** Throws AccessDenied when `next` (undefined: removed) would weaken the version's retention. */
export function checkRetentionChange(
  current: Retention | undefined,
  next: Retention | undefined,
  bypassGovernance: boolean,
  now: Date,
): void {
  if (!isActive(current, now)) return;
  const weakens =
    next === undefined ||
    Date.parse(next.retainUntil) < Date.parse(current.retainUntil) ||
    (current.mode === ObjectLockMode.compliance && next.mode !== ObjectLockMode.compliance);
  if (!weakens) return;
  if (current.mode === ObjectLockMode.governance && bypassGovernance) return;
  throw objectLockProtected();
}

/** Throws AccessDenied when the version may not be deleted for good. */
export function checkVersionDeletion(version: VersionRecord, bypassGovernance: boolean, now: Date): void {
  if (version.kind !== 'object') return;
  if (version.legalHold === true) throw objectLockProtected();
  if (!isActive(version.retention, now)) return;
  if (version.retention.mode === ObjectLockMode.governance && bypassGovernance) return;
  throw objectLockProtected();
}

/** The retention a new version gets from the bucket's default rule. */
export function defaultRetentionFrom(rule: DefaultRetention | undefined, now: Date): Retention | undefined {
  if (rule === undefined) return undefined;
  const until = new Date(now.getTime());
  if ('days' in rule) until.setUTCDate(until.getUTCDate() + rule.days);
  else until.setUTCFullYear(until.getUTCFullYear() + rule.years);
  return { mode: rule.mode, retainUntil: until.toISOString() };
}

/** A retain-until date as S3 accepts it: ISO 8601, in the future. */
export function parseRetainUntil(text: string, now: Date): string {
  const time = Date.parse(text);
  if (Number.isNaN(time) || !/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    throw new S3Error('InvalidArgument', 'The retain until date must be provided in ISO 8601 format');
  }
  if (time <= now.getTime()) {
    throw new S3Error('InvalidArgument', 'The retain until date must be in the future!');
  }
  return new Date(time).toISOString();
}

export function parseLockMode(text: string): ObjectLockMode {
  if (text === ObjectLockMode.governance || text === ObjectLockMode.compliance) return text;
  throw new S3Error('InvalidArgument', 'Unknown wormMode directive.');
}
