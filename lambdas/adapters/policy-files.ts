/**
 * Reads the policy directory: every `*.cedar` file (sorted by name, so evaluation order and problem
 * reports are stable) and the one `*.cedarschema` file.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigurationError } from '../domain/errors.ts';
import type { PolicySource } from './cedar/policy-set.ts';

export interface PolicyFiles {
  readonly policies: PolicySource[];
  readonly schema: string;
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
  return { policies, schema: await readFile(join(dir, schemaNames[0]!), 'utf8') };
}

async function listDirectory(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    throw new ConfigurationError(`cannot read the policy directory ${dir}`, { cause: error });
  }
}
