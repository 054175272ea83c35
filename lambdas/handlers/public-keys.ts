/**
 * The public keys anyone needs to check what Countersign signs, served unauthenticated from
 * `kms:GetPublicKey` (public halves only; cacheable for a few minutes):
 * - `GET /api/receipts/jwks.json`: the receipt keys, current and retired (rotation: the newest
 *   signs, the older still verify receipts they signed);
 * - `GET /api/audit/jwks.json`: the audit digest key, which `countersign audit verify` checks the
 *   archive's digests with.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createKmsClient } from '../adapters/aws-clients.ts';
import { KmsReceiptKeys } from '../adapters/kms/receipt-signer.ts';
import { jsonResponse } from '../http/responses.ts';
import { createLogger, withLambdaContext } from '../middleware/logging.ts';
import { loadEnvironment } from './environment.ts';

/** The route of the audit digest keys; every other route this function serves is the receipt keys'. */
export const AUDIT_KEYS_PATH = '/api/audit/jwks.json';

const env = loadEnvironment(['receiptKeyId', 'receiptRetiredKeyIds', 'auditDigestKeyId']);
const logger = createLogger();
const client = createKmsClient();
const receiptKeys = new KmsReceiptKeys({
  client,
  keyIds: [env.receiptKeyId, ...(env.receiptRetiredKeyIds ?? [])],
});
const auditKeys = new KmsReceiptKeys({ client, keyIds: [env.auditDigestKeyId] });

async function serve(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const keys = event.rawPath === AUDIT_KEYS_PATH ? auditKeys : receiptKeys;
  try {
    return jsonResponse(200, await keys.jwks(), { 'cache-control': 'public, max-age=300' });
  } catch (error) {
    // Without every key a signature could fail to verify; answer an error rather than a partial set.
    logger.error('public keys unavailable', { error, path: event.rawPath });
    return jsonResponse(503, {
      error: { code: 'KEYS_UNAVAILABLE', message: 'the public keys are unavailable' },
    });
  }
}

export const handler = middy(serve).use(withLambdaContext(logger));
