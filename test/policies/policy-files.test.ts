import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPolicyFiles } from '../../lambdas/adapters/policy-files.ts';
import { ConfigurationError } from '../../lambdas/domain/errors.ts';

let root: string;

async function directory(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir);
  await Promise.all(Object.entries(files).map(([file, text]) => writeFile(join(dir, file), text)));
  return dir;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'countersign-policy-files-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('loadPolicyFiles', () => {
  it('reads every *.cedar file sorted by name, named by its file, and the schema', async () => {
    const dir = await directory('ok', {
      'b.cedar': 'b',
      'a.cedar': 'a',
      'schema.cedarschema': 'entity A;',
      'README.md': 'not a policy',
    });
    expect(await loadPolicyFiles(dir)).toEqual({
      policies: [
        { id: 'a.cedar', text: 'a' },
        { id: 'b.cedar', text: 'b' },
      ],
      schema: 'entity A;',
    });
  });

  it.each([
    ['no schema', {}, 0],
    ['two schemas', { 'a.cedarschema': '', 'b.cedarschema': '' }, 2],
  ])('refuses a directory with %s', async (name, files, found) => {
    const dir = await directory(name.replace(' ', '-'), files);
    await expect(loadPolicyFiles(dir)).rejects.toThrow(
      new ConfigurationError(
        `policy directory ${dir} must hold exactly one *.cedarschema file, found ${found}`,
      ),
    );
  });

  it('refuses a directory it cannot read, keeping the cause', async () => {
    const error = await loadPolicyFiles(join(root, 'missing')).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).cause).toMatchObject({ code: 'ENOENT' });
  });
});
