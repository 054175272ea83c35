/**
 * One twin per data dir: `<dataDir>/twin.lock` holds the owner's pid. A lock whose process is gone
 * is stale and taken over; a live one refuses the second instance with a message that says what to do.
 */
import { join } from 'node:path';
import { ConfigurationError } from '../../lambdas/domain/errors.ts';
import { pidLockOwner, releasePidLock, tryPidLock } from '../aws/files.ts';

export const LOCK_FILE = 'twin.lock';

export class DataDirLockedError extends ConfigurationError {}

export interface DataDirLock {
  release(): Promise<void>;
}

export async function acquireDataDirLock(dataDir: string, log: (line: string) => void): Promise<DataDirLock> {
  const path = join(dataDir, LOCK_FILE);
  if (await tryPidLock(path, (pid) => log(`taking over the stale lock of pid ${pid} on ${dataDir}`))) {
    return { release: () => releasePidLock(path) };
  }
  const owner = await pidLockOwner(path);
  throw new DataDirLockedError(
    owner === undefined
      ? `could not lock ${dataDir}: another process keeps taking the lock`
      : `another twin (pid ${owner}) is already running on ${dataDir}: stop it first, or start this one with another --data-dir`,
  );
}
