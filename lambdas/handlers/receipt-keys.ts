/**
 * `GET /api/receipts/jwks.json`, unauthenticated: the public keys decision receipts verify with,
 * built from `kms:GetPublicKey` of the current receipt key and the retired ones (rotation: the newest
 * signs, the older still verify). Public keys only; cacheable for a few minutes.
 */
import middy from '@middy/core';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createKmsClient } from '../adapters/aws-clients.ts';
import { KmsReceiptKeys } from '../adapters/kms/receipt-signer.ts';
import { jsonResponse } from '../http/responses.ts';
import { createLogger, withLambdaContext } from '../middleware/logging.ts';
import { loadEnvironment } from './environment.ts';

const env = loadEnvironment(['receiptKeyId', 'receiptRetiredKeyIds']);
const logger = createLogger();
const keys = new KmsReceiptKeys({
  client: createKmsClient(),
  keyIds: [env.receiptKeyId, ...(env.receiptRetiredKeyIds ?? [])],
});

async function serve(): Promise<APIGatewayProxyStructuredResultV2> {
  try {
    return jsonResponse(200, await keys.jwks(), { 'cache-control': 'public, max-age=300' });
  } catch (error) {
    // Without every key a receipt could fail to verify; answer an error rather than a partial set.
    logger.error('receipt keys unavailable', { error });
    return jsonResponse(503, {
      error: { code: 'KEYS_UNAVAILABLE', message: 'the receipt keys are unavailable' },
    });
  }
}

export const handler = middy(serve).use(withLambdaContext(logger));
