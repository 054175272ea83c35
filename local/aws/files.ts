/**
 * Small file helpers for the data dir. Every state file is written to a temporary sibling and
 * renamed into place, so a crash mid-write leaves the previous version, never half a file.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * A sibling of `path` for a write to go to before it is renamed into place: random, so no two
 * writes (of this process or another, or one a crash left behind) share one. A UUID comes from
 * Node's pool of random bytes, refilled in bulk, not from a call into the system's generator.
 */
export function temporaryPathFor(path: string): string {
  return `${path}.${randomUUID()}.tmp`;
}

/**
 * Writes the temporary file, making its directory only when it is missing: checkpoints and state
 * files are written often to directories that exist, and a mkdir before each write cost a system
 * call every time.
 */
async function writeFileMakingDirectory(
  path: string,
  data: string,
  options: { readonly mode?: number } = {},
): Promise<void> {
  try {
    await writeFile(path, data, options);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, data, options);
  }
}

export async function writeJsonFileAtomic(path: string, value: unknown, mode = 0o644): Promise<void> {
  const temporary = temporaryPathFor(path);
  await writeFileMakingDirectory(temporary, `${JSON.stringify(value, null, 2)}\n`, { mode });
  await rename(temporary, path);
}

/** The parsed file, or undefined when it does not exist. */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return JSON.parse(text);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function createExclusive(path: string): Promise<boolean> {
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

/** The pid in a lock file, when the file exists and names a live process. */
export async function pidLockOwner(path: string): Promise<number | undefined> {
  const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

/**
 * Takes a lock file holding this process's pid. A lock whose process is gone is stale and taken
 * over; false when a live process holds it.
 */
export async function tryPidLock(
  path: string,
  onStale: (pid: string) => void = () => undefined,
): Promise<boolean> {
  if (await createExclusive(path)) return true;
  if ((await pidLockOwner(path)) !== undefined) return false;
  onStale((await readFile(path, 'utf8').catch(() => '')).trim() || '?');
  await rm(path, { force: true });
  return createExclusive(path);
}

export async function releasePidLock(path: string): Promise<void> {
  await rm(path, { force: true });
}
