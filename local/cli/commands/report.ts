/**
 * `countersign report --from <date> --to <date> [--format html|md|csv] [--out file]`: the evidence
 * report for a period (./report/evidence.ts says what is in it), built from the audit archive through
 * the Athena query path (the twin's by default, AWS's with `--aws`), one self-contained file on
 * stdout or at `--out`. Exit 0 when written (the report itself says whether the archive verifies and
 * which receipts do not), 1 when the archive cannot be queried, 2 on bad usage.
 */
import { writeFile } from 'node:fs/promises';
import type { JSONWebKeySet } from 'jose';
import * as z from 'zod';
import { readLocalConfig } from '../../product/config.ts';
import { ATHENA_OPTIONS, athenaTarget, runWithProgress } from '../audit-athena.ts';
import { ExitCode, parseCommandLine, runCommand, UsageError } from '../output.ts';
import { type EvidenceDeps, gatherEvidence } from '../report/evidence.ts';
import { REPORT_FORMATS, type ReportFormat, renderReport } from '../report/render.ts';
import { readerIdentity, TwinClient, twinUrl } from '../twin-client.ts';
import { parseRangeBound, verifyArchiveRange } from './audit.ts';
import { JWKS_PATH } from './receipt.ts';

const USAGE = [
  'countersign report --from <date> --to <date> [--format html|md|csv] [--out <file>] [--as <auditor>]',
  '       [--url <twin>] [--data-dir <dir>] | [--aws --workgroup <name> --bucket <archive> --public-key <file>|--jwks-url <url> --receipts-jwks-url <url>]',
  '',
  '  --from, --to   ISO 8601 dates or times (UTC); a date alone is a whole day (--to inclusive)',
].join('\n');

const RequestReceipt = z.object({ request: z.object({ receipt: z.string().optional() }) });

async function fetchReceiptKeys(url: string): Promise<JSONWebKeySet | undefined> {
  try {
    const response = await fetch(url, { headers: { accept: 'application/json' } });
    if (!response.ok) return undefined;
    return z
      .object({ keys: z.array(z.looseObject({ kty: z.string() })) })
      .parse(await response.json()) as JSONWebKeySet;
  } catch {
    return undefined;
  }
}

/** Receipts live on the request (REST API): the twin's, read as the auditor. */
function twinReceipts(url: string, as: string | undefined): EvidenceDeps['receiptOf'] {
  const client = new TwinClient(url);
  let reader: Promise<string> | undefined;
  return async (requestId) => {
    reader ??= readLocalConfig().then((config) => readerIdentity(as, config));
    const body = RequestReceipt.parse(
      await client.api('GET', `/api/requests/${encodeURIComponent(requestId)}`, await reader),
    );
    return body.request.receipt === undefined
      ? { unavailable: 'the request holds no receipt' }
      : { jws: body.request.receipt };
  };
}

export async function run(args: string[]): Promise<number> {
  return runCommand('report', USAGE, args, async () => {
    const { values, positionals } = parseCommandLine({
      args,
      allowPositionals: true,
      options: {
        ...ATHENA_OPTIONS,
        from: { type: 'string' },
        to: { type: 'string' },
        format: { type: 'string', default: 'html' },
        out: { type: 'string' },
        as: { type: 'string' },
        bucket: { type: 'string' },
        'public-key': { type: 'string' },
        'jwks-url': { type: 'string' },
        'receipts-jwks-url': { type: 'string' },
      },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    if (values.from === undefined || values.to === undefined)
      throw new UsageError('--from and --to are required');
    const period = {
      from: parseRangeBound('--from', values.from, false),
      to: parseRangeBound('--to', values.to, true),
    };
    if (period.from >= period.to) throw new UsageError('--from must be before --to');
    const format = values.format as ReportFormat;
    if (!REPORT_FORMATS.includes(format))
      throw new UsageError(`--format must be one of ${REPORT_FORMATS.join(', ')}`);
    if (values.aws && values.bucket === undefined)
      throw new UsageError('--aws needs the archive bucket (--bucket) and its digest key');

    const target = await athenaTarget(values);
    const url = values.aws ? undefined : twinUrl(values.url);
    const receiptsJwksUrl =
      values['receipts-jwks-url'] ?? (url === undefined ? undefined : `${url}${JWKS_PATH}`);
    const verifyValues = values.aws ? { ...values, url: undefined } : values;
    try {
      const report = await gatherEvidence(
        {
          query: (sql) => runWithProgress(target, sql),
          receiptOf:
            url === undefined
              ? async () => ({
                  unavailable:
                    'receipts are read from the twin only; verify them with countersign receipt verify',
                })
              : twinReceipts(url, values.as),
          receiptKeys: receiptsJwksUrl === undefined ? undefined : await fetchReceiptKeys(receiptsJwksUrl),
          verifyArchive: () => verifyArchiveRange(verifyValues, { from: period.from }),
        },
        period,
      );
      const rendered = renderReport(report, format);
      if (values.out === undefined) process.stdout.write(rendered);
      else {
        await writeFile(values.out, rendered, 'utf8');
        console.error(
          `wrote ${values.out}: ${report.decisions.length} decision(s), archive ${report.verification.holds ? 'holds' : 'DOES NOT VERIFY'}`,
        );
      }
      return ExitCode.ok;
    } finally {
      target.client.destroy();
    }
  });
}
