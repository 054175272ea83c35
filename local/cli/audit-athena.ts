/**
 * How the CLI reaches Athena for the archive: the twin's (its URL, the operator key from the data
 * dir, the template's workgroup) unless `--aws` says AWS's (region and credentials from the SDK's
 * default chain, the workgroup named by `--workgroup`). Shared by `audit query`, `audit queries`,
 * `report` and `policy suggest`, so every one of them runs through the same query path.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AthenaClient } from '@aws-sdk/client-athena';
import {
  type QueryProgress,
  type QueryRun,
  runAthenaQuery,
} from '../../lambdas/adapters/athena/athena-query-runner.ts';
import { AUDIT_DATABASE } from '../../lambdas/domain/audit-queries.ts';
import { AwsCredentials, LOCAL_REGION, OPERATOR_CREDENTIALS_FILE } from '../twin/index.ts';
import { UsageError } from './output.ts';
import { twinUrl } from './twin-client.ts';

/** The stack's workgroup (lib/audit-queries.ts `workGroupName` default). */
export const DEFAULT_WORKGROUP = 'countersign';

/** The flags every archive-querying command takes. */
export const ATHENA_OPTIONS = {
  aws: { type: 'boolean', default: false },
  workgroup: { type: 'string' },
  url: { type: 'string' },
  'data-dir': { type: 'string' },
} as const;

export interface AthenaTarget {
  readonly client: AthenaClient;
  readonly workGroup: string;
  /** `twin <url>` or `AWS <region>`: said on stderr so nobody mistakes one for the other. */
  readonly description: string;
}

export async function athenaTarget(values: {
  aws?: boolean;
  workgroup?: string;
  url?: string;
  'data-dir'?: string;
}): Promise<AthenaTarget> {
  const workGroup = values.workgroup ?? DEFAULT_WORKGROUP;
  if (values.aws === true) {
    const client = new AthenaClient({});
    return { client, workGroup, description: `AWS ${await client.config.region()}` };
  }
  const url = twinUrl(values.url);
  const file = join(
    values['data-dir'] ?? process.env.COUNTERSIGN_DATA_DIR ?? '.countersign',
    OPERATOR_CREDENTIALS_FILE,
  );
  let credentials: AwsCredentials;
  try {
    credentials = AwsCredentials.parse(JSON.parse(await readFile(file, 'utf8')));
  } catch (error) {
    throw new UsageError(`no operator key at ${file}: start the twin (npm start) or pass --data-dir`, {
      cause: error,
    });
  }
  return {
    client: new AthenaClient({ endpoint: url, region: LOCAL_REGION, credentials, maxAttempts: 2 }),
    workGroup,
    description: `twin ${url}`,
  };
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(2)} MB`;
}

/** Runs one query with a progress line on stderr (state, elapsed, bytes scanned) while it runs. */
export async function runWithProgress(target: AthenaTarget, sql: string): Promise<QueryRun> {
  const interactive = process.stderr.isTTY === true;
  let last = '';
  const show = (progress: QueryProgress) => {
    const line = `${progress.state} ${(progress.elapsedMs / 1000).toFixed(1)} s, ${megabytes(progress.bytesScanned)} scanned (${progress.executionId})`;
    if (line === last) return;
    last = line;
    process.stderr.write(interactive ? `\r\x1b[2K${line}` : `${line}\n`);
  };
  try {
    return await runAthenaQuery(target.client, {
      sql,
      workGroup: target.workGroup,
      database: AUDIT_DATABASE,
      onProgress: show,
    });
  } finally {
    if (interactive && last !== '') process.stderr.write('\n');
  }
}
