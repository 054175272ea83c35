/** The real-format CloudTrail events of test/fixtures/cloudtrail, read fresh (tests may change them). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const DIRECTORY = join(import.meta.dirname, '..', '..', 'fixtures', 'cloudtrail');

export const CLOUDTRAIL_FIXTURES = [
  'iam-AttachRolePolicy',
  'iam-CreateAccessKey',
  'iam-CreateAccessKey-root',
  'kms-DisableKey',
  'kms-ScheduleKeyDeletion',
  's3-DeleteBucketPublicAccessBlock-denied',
  's3-PutBucketPolicy',
] as const;
export type CloudTrailFixture = (typeof CLOUDTRAIL_FIXTURES)[number];

// biome-ignore lint/suspicious/noExplicitAny: tests reshape the recorded events freely
export function cloudTrailEvent(name: CloudTrailFixture): any {
  return JSON.parse(readFileSync(join(DIRECTORY, `${name}.eventbridge.json`), 'utf8'));
}

/** The documented userIdentity of each type (CloudTrail UG), by type. */
export function userIdentityVariants(): Record<string, { userIdentity: Record<string, unknown> }> {
  return JSON.parse(readFileSync(join(DIRECTORY, 'userIdentity-variants.json'), 'utf8'));
}
