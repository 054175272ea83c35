/**
 * A copy of the twin's directory (countersign.local.json) with `count` more reviewers in the
 * platform group, each with a Slack user id and a Teams AAD object id, so many people can vote at
 * once through every channel.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type LocalDirectory, localDirectory } from './doors.ts';

export interface Reviewer {
  readonly id: string;
  readonly slackUserId: string;
  readonly teamsAadObjectId: string;
}

export async function directoryWithReviewers(
  dir: string,
  count: number,
): Promise<{ path: string; directory: LocalDirectory; reviewers: Reviewer[] }> {
  const base = await localDirectory();
  const reviewers = Array.from({ length: count }, (_, index) => {
    const n = String(index).padStart(2, '0');
    return {
      id: `reviewer-${n}`,
      displayName: `Reviewer ${n}`,
      email: `reviewer-${n}@example.com`,
      groups: ['platform'],
      slackUserId: `U0REV00${n}`,
      teamsAadObjectId: `6f1c2a4e-9999-4a8b-9c01-0000000000${n}`,
    };
  });
  const directory = { ...base, users: [...base.users, ...reviewers] } as LocalDirectory;
  const path = join(dir, 'countersign.local.json');
  await writeFile(path, `${JSON.stringify(directory, null, 2)}\n`);
  return { path, directory, reviewers };
}
