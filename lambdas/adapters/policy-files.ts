/**
 * Reads the policy directory: every `*.cedar` file (sorted by name, so evaluation order and problem
 * reports are stable), the one `*.cedarschema` file and, when the bundle carries it, the prepared
 * form of both (PREPARED_POLICY_FILE, written by `writePreparedPolicyFile` when the bundle is built;
 * the engine checks that it was made of these very files before it trusts it).
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigurationError } from '../domain/errors.ts';
import { loadCedar } from './cedar/cedar-wasm.ts';
import { buildPreparedPolicyFile, type PolicySource } from './cedar/policy-set.ts';

/** The prepared policy set's file name in the policy directory. */
export const PREPARED_POLICY_FILE = 'policy-set.prepared.json';

export interface PolicyFiles {
  readonly policies: PolicySource[];
  readonly schema: string;
  /** PREPARED_POLICY_FILE parsed as JSON, when the directory has one. */
  readonly prepared?: unknown;
}

export async function loadPolicyFiles(dir: string): Promise<PolicyFiles> {
  const names = await listDirectory(dir);
  const schemaNames = names.filter((name) => name.endsWith('.cedarschema'));
  if (schemaNames.length !== 1) {
    throw new ConfigurationError(
      `policy directory ${dir} must hold exactly one *.cedarschema file, found ${schemaNames.length}`,
    );
  }
  const policyNames = names.filter((name) => name.endsWith('.cedar')).sort();
  const policies = await Promise.all(
    policyNames.map(async (name) => ({ id: name, text: await readFile(join(dir, name), 'utf8') })),
  );
  const schema = await readFile(join(dir, schemaNames[0]!), 'utf8');
  if (!names.includes(PREPARED_POLICY_FILE)) {
    return { policies, schema };
  }
  return { policies, schema, prepared: await readPrepared(join(dir, PREPARED_POLICY_FILE)) };
}

/** A prepared file that does not parse is no prepared file: the sources are read instead. */
async function readPrepared(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Writes the directory's PREPARED_POLICY_FILE; throws, writing nothing, when its policies or schema
 * cannot be used (they would deny every request).
 */
export async function writePreparedPolicyFile(dir: string): Promise<void> {
  const [{ policies, schema }] = await Promise.all([loadPolicyFiles(dir), loadCedar()]);
  const { file, problems } = buildPreparedPolicyFile({ policies, schema });
  if (file === undefined) {
    throw new ConfigurationError(`the policies in ${dir} cannot be used:\n  ${problems.join('\n  ')}`);
  }
  await writeFile(join(dir, PREPARED_POLICY_FILE), `${JSON.stringify(file)}\n`);
}

async function listDirectory(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    throw new ConfigurationError(`cannot read the policy directory ${dir}`, { cause: error });
  }
}
