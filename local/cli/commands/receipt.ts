/**
 * `countersign receipt verify <jws|-> [--action-hash H] [--agent A] [--require-approved]
 * [--jwks-url U] [--json]`: checks a decision receipt as an agent would before acting — signature
 * under a published key, issuer, expiry, and the action hash / agent when given — and prints its
 * claims. Exit 0 when it holds, 1 when it does not (or the keys cannot be fetched), 2 on bad usage.
 */
import { text as readAll } from 'node:stream/consumers';
import * as z from 'zod';
import {
  permitsAction,
  type ReceiptClaims,
  ReceiptError,
  verifyReceipt,
} from '../../../lambdas/domain/receipt.ts';
import { ExitCode, parseCommandLine, printJson, renderFields, runCommand, UsageError } from '../output.ts';
import { twinUrl } from '../twin-client.ts';

const USAGE =
  'countersign receipt verify <jws|-> [--action-hash <sha256 hex>] [--agent <id>] [--require-approved] [--jwks-url <url>] [--url <twin>] [--json]';

/** The twin's JWKS, unless --jwks-url names another (the HTTP API's `/api/receipts/jwks.json` in AWS). */
export const JWKS_PATH = '/api/receipts/jwks.json';

const Jwks = z.object({ keys: z.array(z.looseObject({ kty: z.string() })) });

async function readJws(argument: string): Promise<string> {
  const text = argument === '-' ? await readAll(process.stdin) : argument;
  const jws = text.trim();
  if (jws === '') throw new UsageError('the receipt is empty');
  return jws;
}

async function fetchJwks(url: string): Promise<z.infer<typeof Jwks>> {
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: 'application/json' } });
  } catch (error) {
    throw new Error(`cannot fetch the receipt keys from ${url}`, { cause: error });
  }
  if (!response.ok) throw new Error(`the receipt keys at ${url} answered HTTP ${response.status}`);
  const jwks = Jwks.safeParse(await response.json().catch(() => undefined));
  if (!jwks.success) throw new Error(`${url} is not a JWKS`);
  return jwks.data;
}

export function renderClaims(claims: ReceiptClaims): string {
  return renderFields([
    ['Request', claims.requestId],
    ['Agent', claims.agentId],
    ['Decision', claims.decision],
    ['Approvers', claims.approvers.length > 0 ? claims.approvers.join(', ') : '-'],
    ['Action hash', claims.actionHash],
    ['Issued', new Date(claims.iat * 1000).toISOString()],
    ['Expires', new Date(claims.exp * 1000).toISOString()],
  ]);
}

export async function run(args: string[]): Promise<number> {
  return runCommand('receipt', USAGE, args, async () => {
    const { values, positionals } = parseCommandLine({
      args,
      allowPositionals: true,
      options: {
        'action-hash': { type: 'string' },
        agent: { type: 'string' },
        'require-approved': { type: 'boolean', default: false },
        'jwks-url': { type: 'string' },
        url: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    const [subcommand, argument, ...extra] = positionals;
    if (subcommand !== 'verify') throw new UsageError('the only subcommand is "verify"');
    if (argument === undefined || extra.length > 0)
      throw new UsageError('exactly one receipt (or "-" for stdin) is required');
    const actionHash = values['action-hash'];
    if (actionHash !== undefined && !/^[a-fA-F0-9]{64}$/.test(actionHash)) {
      throw new UsageError('--action-hash must be a SHA-256 in hex (64 characters)');
    }
    const jws = await readJws(argument);
    const keys = await fetchJwks(values['jwks-url'] ?? `${twinUrl(values.url)}${JWKS_PATH}`);
    let claims: ReceiptClaims;
    try {
      claims = await verifyReceipt(jws, {
        keys,
        ...(actionHash === undefined ? {} : { actionHash }),
        ...(values.agent === undefined ? {} : { agentId: values.agent }),
      });
    } catch (error) {
      if (!(error instanceof ReceiptError)) throw error;
      if (values.json) printJson({ valid: false, code: error.code, message: error.message });
      console.error(`countersign receipt: refused (${error.code}): ${error.message}`);
      return ExitCode.failure;
    }
    const refused = values['require-approved'] && !permitsAction(claims);
    if (values.json) printJson({ valid: !refused, claims });
    else console.log(renderClaims(claims));
    if (refused) {
      console.error(`countersign receipt: the decision is ${claims.decision}: the action may not go ahead`);
      return ExitCode.failure;
    }
    return ExitCode.ok;
  });
}
