import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readJsonFile, writeJsonFileAtomic } from '../../../../local/aws/files.ts';

let directory: string;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'files-'));
});

afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('writeJsonFileAtomic', () => {
  it('makes the directories a file goes to, also when they are removed between two writes', async () => {
    const path = join(directory, 'a', 'b', 'state.json');
    await writeJsonFileAtomic(path, { n: 1 });
    await rm(join(directory, 'a'), { recursive: true });
    await writeJsonFileAtomic(path, { n: 2 }, 0o600);
    expect(await readJsonFile(path)).toEqual({ n: 2 });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(join(directory, 'a', 'b'))).toEqual(['state.json']);
  });

  it('leaves the last complete version under concurrent writes, and no temporary file', async () => {
    const path = join(directory, 'state.json');
    await Promise.all(Array.from({ length: 20 }, (_, n) => writeJsonFileAtomic(path, { n })));
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ n: expect.any(Number) });
    expect(await readdir(directory)).toEqual(['state.json']);
  });

  it('fails as the file system does when the path is not writable, writing nothing', async () => {
    const blocker = join(directory, 'file');
    await writeJsonFileAtomic(blocker, {});
    await expect(writeJsonFileAtomic(join(blocker, 'state.json'), {})).rejects.toMatchObject({
      code: 'ENOTDIR',
    });
    expect(await readdir(directory)).toEqual(['file']);
  });
});
