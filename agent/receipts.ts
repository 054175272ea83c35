/**
 * Checking a decision receipt before acting: the domain's one verifier (lambdas/domain/receipt.ts,
 * jose only), given the public keys as a JWKS document or the URL that serves them
 * (`GET /api/receipts/jwks.json`, fetched once and cached per URL by jose).
 */
import { createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { type ReceiptClaims, verifyReceipt as verifyWithKeys } from '../lambdas/domain/receipt.ts';

export type VerifyReceiptOptions = (
  | { readonly jwks: JSONWebKeySet; readonly jwksUrl?: never }
  | { readonly jwksUrl: string | URL; readonly jwks?: never }
) & {
  /** The hash of exactly the action about to run: a receipt for anything else is refused. */
  readonly actionHash?: string;
  /** The agent that will act: a receipt issued to another agent is refused. */
  readonly agentId?: string;
  /** @default new Date() */
  readonly now?: Date;
};

const remoteKeySets = new Map<string, JWTVerifyGetKey>();

/** The keys at a JWKS URL, one cached set per URL (jose refetches on an unknown `kid`). */
export function remoteKeys(url: string | URL): JWTVerifyGetKey {
  const key = String(url);
  let keys = remoteKeySets.get(key);
  if (keys === undefined) {
    keys = createRemoteJWKSet(new URL(key));
    remoteKeySets.set(key, keys);
  }
  return keys;
}

/**
 * Verifies a receipt (ES256 under a published key, type, issuer, expiry, and the action hash and
 * agent when given) and returns its claims; throws ReceiptError with the failed check's code.
 * Whether the agent may act is `permitsAction(claims)`.
 */
export function verifyReceipt(jws: string, options: VerifyReceiptOptions): Promise<ReceiptClaims> {
  const keys = options.jwks ?? remoteKeys(options.jwksUrl!);
  return verifyWithKeys(jws, {
    keys,
    ...(options.actionHash === undefined ? {} : { actionHash: options.actionHash }),
    ...(options.agentId === undefined ? {} : { agentId: options.agentId }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
}
