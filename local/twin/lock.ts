/**
 * One twin per data dir: `<dataDir>/twin.lock` holds the owner's pid. A lock whose process is gone
 * is stale and taken over; a live one refuses the second instance with a message that says what to do.
 */
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigurationError } from '../../lambdas/domain/errors.ts';

export const LOCK_FILE = 'twin.lock';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class DataDirLockedError extends ConfigurationError {}

export interface DataDirLock {
  release(): Promise<void>;
}

async function create(path: string): Promise<boolean> {
  try {
    const handle = await open(path, 'wx');
    await handle.writeFile(`${process.pid}\n`);
    await handle.close();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

export async function acquireDataDirLock(dataDir: string, log: (line: string) => void): Promise<DataDirLock> {
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    if (await create(path)) {
      return { release: () => rm(path, { force: true }) };
    }
    const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
      throw new DataDirLockedError(
        `another twin (pid ${pid}) is already running on ${dataDir}: stop it first, or start this one with another --data-dir`,
      );
    }
    log(`taking over the stale lock of pid ${Number.isInteger(pid) ? pid : '?'} on ${dataDir}`);
    await rm(path, { force: true });
  }
  throw new DataDirLockedError(`could not lock ${dataDir}: another process keeps taking the lock`);
}
