/**
 * `countersign audit verify`: checks the audit archive with nothing but read access to the bucket
 * and the digest signing key's public half (lambdas/services/verify-audit-archive.ts says what is
 * checked). Exit 0 when everything holds, 1 when anything does not (or the archive cannot be read),
 * 2 on bad usage.
 * - the twin (default): the bucket is the one the twin's stack names (`GET /local/audit`), the key is
 *   its JWKS (`/api/audit/jwks.json`), and the S3 calls are signed with the data dir's operator key
 *   unless AWS credentials are in the environment;
 * - AWS: `--bucket` and the public key (`--public-key <PEM or JWKS file>` or `--jwks-url`), the
 *   Region and credentials from the SDK's standard chain (AWS_REGION, AWS_PROFILE …).
 *
 * `countersign audit flush` (twin): archives every audit record written so far and writes a digest
 * now, rather than at the next scheduled run.
 */
import { createPublicKey, type KeyObject, type JsonWebKey as NodeJwk } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { calculateJwkThumbprint, type JWK } from 'jose';
import * as z from 'zod';
import { S3AuditArchive } from '../../../lambdas/adapters/s3/s3-audit-archive.ts';
import {
  type VerifyAuditArchiveReport,
  verifyAuditArchive,
} from '../../../lambdas/services/verify-audit-archive.ts';
import { AUDIT_FLUSH_PATH, AUDIT_PATH } from '../../product/audit.ts';
import { AwsCredentials, LOCAL_REGION, OPERATOR_CREDENTIALS_FILE } from '../../twin/index.ts';
import {
  ApiError,
  ExitCode,
  parseCommandLine,
  printJson,
  renderFields,
  runCommand,
  UsageError,
} from '../output.ts';
import { twinUrl } from '../twin-client.ts';

const USAGE = [
  'countersign audit verify [--from <date>] [--to <date>] [--url <twin>] [--bucket <name>] [--public-key <pem|jwks file>] [--jwks-url <url>] [--region <region>] [--data-dir .countersign] [--json]',
  'countersign audit flush [--url <twin>] [--json]',
  'countersign audit query "<sql>" [--format table|csv|json] [--aws] [--workgroup <name>] [--url <twin>] [--data-dir <dir>]',
  'countersign audit queries [run <name> [--format table|csv|json]] [--aws] [--workgroup <name>]',
  '',
  '  --from, --to   ISO 8601 dates or times (UTC); a date alone is a whole day: --from its start, --to its end',
  '  --bucket       verify an archive in AWS (Region and credentials from the SDK chain) rather than the twin',
].join('\n');

/** The digest key's JWKS on the twin's HTTP API (in AWS: on the stack's API, for --jwks-url). */
export const AUDIT_JWKS_PATH = '/api/audit/jwks.json';

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

/** `--from`/`--to`: a date is its whole day (the end of `--to`'s day is exclusive midnight after it). */
export function parseRangeBound(flag: string, value: string, end: boolean): Date {
  const dateOnly = DATE_ONLY.test(value);
  const parsed = Date.parse(dateOnly ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(parsed) || !/^\d{4}-\d{2}-\d{2}/.test(value)) {
    throw new UsageError(
      `${flag} must be an ISO 8601 date or time (e.g. 2025-06-01 or 2025-06-01T12:00:00Z), not "${value}"`,
    );
  }
  return new Date(dateOnly && end ? parsed + DAY_MS : parsed);
}

const Jwks = z.object({ keys: z.array(z.looseObject({ kty: z.string(), kid: z.string().optional() })) });

/** The public keys by RFC 7638 thumbprint (what a digest names), from a JWKS. */
export async function keysOfJwks(jwks: unknown, source: string): Promise<Map<string, KeyObject>> {
  const parsed = Jwks.safeParse(jwks);
  if (!parsed.success) throw new Error(`${source} is not a JWKS`);
  const keys = new Map<string, KeyObject>();
  for (const jwk of parsed.data.keys) {
    // The thumbprint is computed, never taken from `kid`: a digest names the key it was signed with.
    const { kid: _kid, ...material } = jwk;
    keys.set(
      await calculateJwkThumbprint(material as JWK),
      createPublicKey({ key: material as NodeJwk, format: 'jwk' }),
    );
  }
  if (keys.size === 0) throw new Error(`${source} holds no keys`);
  return keys;
}

/** A PEM public key (SPKI, as `aws kms get-public-key` gives it once PEM-wrapped) or a JWKS file. */
export async function keysOfFile(path: string): Promise<Map<string, KeyObject>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read --public-key ${path}: ${(error as Error).message}`, { cause: error });
  }
  if (text.trimStart().startsWith('{')) return keysOfJwks(JSON.parse(text), path);
  let key: KeyObject;
  try {
    key = createPublicKey(text);
  } catch (error) {
    throw new UsageError(`--public-key ${path} is neither a PEM public key nor a JWKS`, { cause: error });
  }
  return keysOfJwks({ keys: [key.export({ format: 'jwk' })] }, path);
}

async function fetchJson(url: string, init?: RequestInit): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, headers: { accept: 'application/json' } });
  } catch (error) {
    throw new ApiError(0, 'UNREACHABLE', `cannot reach ${url}`, { cause: error });
  }
  const body = (await response.json().catch(() => undefined)) as {
    error?: { code?: string; message?: string };
  };
  if (!response.ok) {
    throw new ApiError(
      response.status,
      body?.error?.code ?? `HTTP_${response.status}`,
      body?.error?.message ?? `${url} answered HTTP ${response.status}`,
    );
  }
  return body;
}

/** The twin's S3: signed with the environment's AWS credentials, else the data dir's operator key. */
async function twinS3Client(url: string, dataDir: string): Promise<S3Client> {
  const fromEnvironment = process.env.AWS_ACCESS_KEY_ID !== undefined;
  let credentials: AwsCredentials | undefined;
  if (!fromEnvironment) {
    const path = join(resolve(dataDir), OPERATOR_CREDENTIALS_FILE);
    try {
      credentials = AwsCredentials.parse(JSON.parse(await readFile(path, 'utf8')));
    } catch (error) {
      throw new UsageError(
        `no AWS credentials in the environment and no operator key at ${path} (--data-dir names the twin's data dir)`,
        { cause: error },
      );
    }
  }
  return new S3Client({
    endpoint: url,
    region: LOCAL_REGION,
    forcePathStyle: true,
    ...(credentials === undefined ? {} : { credentials }),
  });
}

export function renderReport(report: VerifyAuditArchiveReport): string {
  const megabytes = (report.bytes / 1_000_000).toFixed(2);
  return renderFields([
    ['Bucket', report.bucket],
    [
      'Digests',
      `${report.digests}${report.firstDigest === undefined ? '' : ` (${report.firstDigest} … ${report.lastDigest})`}`,
    ],
    ['Objects', `${report.objects} digested, ${report.pendingObjects} not digested yet`],
    [
      'Records',
      `${report.records} of ${report.requests} requests${report.duplicateRecords > 0 ? ` (${report.duplicateRecords} identical copies)` : ''}`,
    ],
    [
      'Read',
      `${megabytes} MB in ${report.seconds.toFixed(2)} s (${report.megabytesPerSecond.toFixed(1)} MB/s)`,
    ],
    ['Result', report.problems.length === 0 ? 'the archive holds' : `${report.problems.length} problem(s)`],
  ]);
}

/**
 * Verifies the archive the flags name (the twin's by default; AWS's with `--bucket`) over `range`:
 * `audit verify`, and the evidence report's verification.
 */
export async function verifyArchiveRange(
  values: Record<string, string | boolean | undefined>,
  range: { readonly from?: Date; readonly to?: Date },
): Promise<VerifyAuditArchiveReport> {
  const bucketFlag = values.bucket as string | undefined;
  const publicKeyFile = values['public-key'] as string | undefined;
  const jwksUrl = values['jwks-url'] as string | undefined;
  if (publicKeyFile !== undefined && jwksUrl !== undefined) {
    throw new UsageError('give the public key once: --public-key or --jwks-url');
  }
  const inAws = bucketFlag !== undefined && values.url === undefined;
  if (inAws && publicKeyFile === undefined && jwksUrl === undefined) {
    throw new UsageError('--bucket (AWS) needs the digest key: --public-key <file> or --jwks-url <url>');
  }
  const url = inAws ? undefined : twinUrl(values.url as string | undefined);
  const bucket =
    bucketFlag ?? z.object({ bucket: z.string() }).parse(await fetchJson(`${url}${AUDIT_PATH}`)).bucket;
  const publicKeys =
    publicKeyFile !== undefined
      ? await keysOfFile(publicKeyFile)
      : await keysOfJwks(await fetchJson(jwksUrl ?? `${url}${AUDIT_JWKS_PATH}`), jwksUrl ?? 'the twin');
  const client =
    url === undefined
      ? new S3Client({
          forcePathStyle: true,
          ...(typeof values.region === 'string' ? { region: values.region } : {}),
        })
      : await twinS3Client(url, (values['data-dir'] as string | undefined) ?? '.countersign');
  try {
    return await verifyAuditArchive(
      { archive: new S3AuditArchive({ client, bucket }), publicKeys },
      { bucket, ...range },
    );
  } finally {
    client.destroy();
  }
}

async function verify(values: Record<string, string | boolean | undefined>): Promise<number> {
  const from = typeof values.from === 'string' ? parseRangeBound('--from', values.from, false) : undefined;
  const to = typeof values.to === 'string' ? parseRangeBound('--to', values.to, true) : undefined;
  if (from !== undefined && to !== undefined && from >= to)
    throw new UsageError('--from must be before --to');
  const report = await verifyArchiveRange(values, {
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
  });
  if (values.json) printJson(report);
  else {
    console.log(renderReport(report));
    for (const { key, problem } of report.problems) console.log(`PROBLEM  ${key}: ${problem}`);
    for (const { key, problem } of report.warnings) console.log(`warning  ${key}: ${problem}`);
  }
  return report.problems.length === 0 ? ExitCode.ok : ExitCode.failure;
}

async function flush(values: Record<string, string | boolean | undefined>): Promise<number> {
  const url = twinUrl(values.url as string | undefined);
  const result = z
    .object({
      bucket: z.string(),
      digest: z.object({ key: z.string(), sequence: z.number(), objects: z.number(), written: z.boolean() }),
    })
    .parse(await fetchJson(`${url}${AUDIT_FLUSH_PATH}`, { method: 'POST' }));
  if (values.json) printJson(result);
  else {
    console.log(
      `archived the audit records of ${url} to ${result.bucket}; digest ${result.digest.key} names ${result.digest.objects} new object(s)`,
    );
  }
  return ExitCode.ok;
}

/** SQL over the archive through Athena: ./audit-query.ts. */
const QUERY_SUBCOMMANDS = new Set(['query', 'queries']);

export async function run(args: string[]): Promise<number> {
  if (QUERY_SUBCOMMANDS.has(args[0] ?? '')) return (await import('./audit-query.ts')).run(args);
  return runCommand('audit', USAGE, args, async () => {
    const { values, positionals } = parseCommandLine({
      args,
      allowPositionals: true,
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        url: { type: 'string' },
        bucket: { type: 'string' },
        'public-key': { type: 'string' },
        'jwks-url': { type: 'string' },
        region: { type: 'string' },
        'data-dir': { type: 'string', default: '.countersign' },
        json: { type: 'boolean', default: false },
      },
    });
    const [subcommand, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    if (subcommand === 'verify') return verify(values);
    if (subcommand === 'flush') {
      const misplaced = ['from', 'to', 'bucket', 'public-key', 'jwks-url', 'region'].find(
        (name) => values[name as keyof typeof values] !== undefined,
      );
      if (misplaced !== undefined) throw new UsageError(`--${misplaced} is for "audit verify"`);
      return flush(values);
    }
    throw new UsageError('the subcommands are "verify", "flush", "query" and "queries"');
  });
}
