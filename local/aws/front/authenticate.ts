/**
 * Who signed a request: its SigV4 signature verified against the key it names, the caller that key
 * belongs to, and for a temporary key (a role session) the session token it was issued with,
 * still valid. The one check every signed entry of the twin makes: the AWS front for service calls,
 * the HTTP API's IAM authorizer for `execute-api`.
 */
import { timingSafeEqual } from 'node:crypto';
import type { KeyRing } from './credentials.ts';
import type { AwsCaller, AwsSignature } from './service.ts';
import { type SignedRequestHead, SigV4Error, SigV4Failure, verifySigV4 } from './sigv4.ts';

export const SECURITY_TOKEN_HEADER = 'x-amz-security-token';

export interface AuthenticateOptions {
  /** The signing name the credential scope must name. */
  readonly service: string;
  readonly uriEscapePath: boolean;
  readonly body: Buffer | undefined;
  /** @default new Date() */
  readonly now?: Date;
}

function sameToken(given: string, expected: string): boolean {
  const left = Buffer.from(given);
  const right = Buffer.from(expected);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Verifies the signature and the key's session token; throws SigV4Error saying which check failed. */
export async function authenticate(
  head: SignedRequestHead,
  keys: KeyRing,
  options: AuthenticateOptions,
): Promise<{ readonly signature: AwsSignature; readonly caller: AwsCaller }> {
  const now = options.now ?? new Date();
  const signature = await verifySigV4(head, {
    ...options,
    lookupSecret: (accessKeyId) => keys.secretOf(accessKeyId, now),
  });
  const caller = keys.callerOf(signature.accessKeyId, now)!;
  const expected = keys.sessionTokenOf(signature.accessKeyId, now);
  const given = head.headers[SECURITY_TOKEN_HEADER];
  if (expected === undefined ? given !== undefined : given === undefined || !sameToken(given, expected)) {
    throw new SigV4Error(SigV4Failure.unknownKey, 'The security token included in the request is invalid.');
  }
  return { signature, caller };
}
