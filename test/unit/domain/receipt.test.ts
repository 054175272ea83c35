import { createHash } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  approvesAction,
  DEFAULT_APPROVAL_VALID_FOR_SECONDS,
  permitsAction,
  RECEIPT_TYPE,
  ReceiptClaims,
  ReceiptError,
  receiptClaimsFor,
  receiptFingerprint,
  verifyReceipt,
} from '../../../lambdas/domain/receipt.ts';
import { aRecord, NOW, requireApproval } from './fixtures.ts';

const DECIDED_AT = '2025-06-01T12:10:00.000Z';
const IAT = Date.parse(DECIDED_AT) / 1000;
const decided = aRecord({
  status: 'APPROVED',
  decision: 'APPROVED',
  approvers: ['alice'],
  decidedAt: DECIDED_AT,
});

let key: CryptoKey;
let jwks: { keys: JWK[] };

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  key = pair.privateKey;
  jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] };
});

function sign(
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
  signingKey: CryptoKey = key,
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', typ: RECEIPT_TYPE, kid: 'k1', ...header } as { alg: string })
    .sign(signingKey);
}

async function problem(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ReceiptError);
  return (error as ReceiptError).code;
}

const at = (seconds: number) => new Date(seconds * 1000);

describe('receipt claims', () => {
  it('are made from a decided request: issued at the decision, valid 1 h unless the policy says', () => {
    expect(receiptClaimsFor(decided)).toEqual({
      iss: 'countersign',
      requestId: 'invoice-bot:req-1',
      agentId: 'invoice-bot',
      actionHash: 'a'.repeat(64),
      decision: 'APPROVED',
      approvers: ['alice'],
      iat: IAT,
      exp: IAT + DEFAULT_APPROVAL_VALID_FOR_SECONDS,
    });
    const short = { ...decided, policy: requireApproval({ approvalValidForSeconds: 300 }) };
    expect(receiptClaimsFor(short).exp).toBe(IAT + 300);
  });

  it('cannot be made for a request nobody decided', () => {
    expect(() => receiptClaimsFor(aRecord())).toThrow(ReceiptError);
  });

  it('refuse a request id that is not the agent’s own, and an expiry before issue', () => {
    const claims = receiptClaimsFor(decided);
    expect(ReceiptClaims.safeParse({ ...claims, requestId: 'report-bot:req-1' }).success).toBe(false);
    expect(ReceiptClaims.safeParse({ ...claims, exp: claims.iat }).success).toBe(false);
  });

  it('say whether the agent may act', () => {
    expect(permitsAction(receiptClaimsFor(decided))).toBe(true);
    expect(permitsAction({ ...receiptClaimsFor(decided), decision: 'AUTO_APPROVED' })).toBe(true);
    // Break-glass runs at once: its receipt lets the agent act, the review comes afterwards.
    expect(permitsAction({ ...receiptClaimsFor(decided), decision: 'BREAK_GLASS' })).toBe(true);
    for (const decision of ['DENIED', 'POLICY_DENIED', 'EXPIRED'] as const) {
      expect(permitsAction({ ...receiptClaimsFor(decided), decision })).toBe(false);
    }
  });

  it('say that Countersign runs an action it executes, which the agent then must not run', () => {
    const executed = receiptClaimsFor({ ...decided, policy: requireApproval({ executor: 'countersign' }) });
    expect(executed.executor).toBe('countersign');
    expect(approvesAction(executed)).toBe(true);
    expect(permitsAction(executed)).toBe(false);
    expect(approvesAction({ ...executed, decision: 'DENIED' })).toBe(false);
    expect(receiptClaimsFor(decided)).not.toHaveProperty('executor');
  });
});

describe('verifyReceipt', () => {
  const claims = () => receiptClaimsFor(decided);

  it('returns the claims of a valid receipt, checking the hash and the agent when asked', async () => {
    const jws = await sign(claims());
    const options = { keys: jwks, now: at(IAT + 60) };
    await expect(verifyReceipt(jws, options)).resolves.toEqual(claims());
    await expect(
      verifyReceipt(`  ${jws}\n`, { ...options, actionHash: 'A'.repeat(64), agentId: 'invoice-bot' }),
    ).resolves.toEqual(claims());
  });

  it('refuses a receipt for another action or another agent', async () => {
    const jws = await sign(claims());
    const options = { keys: jwks, now: at(IAT + 60) };
    expect(await problem(verifyReceipt(jws, { ...options, actionHash: 'b'.repeat(64) }))).toBe(
      'HASH_MISMATCH',
    );
    expect(await problem(verifyReceipt(jws, { ...options, agentId: 'report-bot' }))).toBe('WRONG_AGENT');
  });

  it('refuses an expired receipt, with no leeway', async () => {
    const jws = await sign(claims());
    expect(await problem(verifyReceipt(jws, { keys: jwks, now: at(claims().exp) }))).toBe('EXPIRED');
  });

  it('refuses a forged or altered receipt, an unknown key and another issuer', async () => {
    const jws = await sign(claims());
    const [header, , signature] = jws.split('.');
    const altered = Buffer.from(
      JSON.stringify({ ...claims(), decision: 'APPROVED', approvers: ['mallory'] }),
    ).toString('base64url');
    const options = { keys: jwks, now: at(IAT + 60) };
    expect(await problem(verifyReceipt(`${header}.${altered}.${signature}`, options))).toBe('BAD_SIGNATURE');
    const other = (await generateKeyPair('ES256')).privateKey;
    expect(await problem(verifyReceipt(await sign(claims(), {}, other), options))).toBe('BAD_SIGNATURE');
    expect(await problem(verifyReceipt(await sign(claims(), { kid: 'k2' }), options))).toBe('UNKNOWN_KEY');
    expect(await problem(verifyReceipt(await sign({ ...claims(), iss: 'someone' }), options))).toBe(
      'WRONG_ISSUER',
    );
  });

  it('refuses other kinds of token, other algorithms and malformed claims', async () => {
    const options = { keys: jwks, now: at(IAT + 60) };
    expect(await problem(verifyReceipt(await sign(claims(), { typ: 'JWT' }), options))).toBe('MALFORMED');
    expect(await problem(verifyReceipt('not.a.jws', options))).toBe('MALFORMED');
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims())).toString('base64url')}.`;
    expect(await problem(verifyReceipt(unsigned, options))).toBe('MALFORMED');
    const { iat: _iat, ...withoutIat } = claims();
    expect(await problem(verifyReceipt(await sign(withoutIat), options))).toBe('MALFORMED');
    expect(await problem(verifyReceipt(await sign({ ...claims(), approvers: 'alice' }), options))).toBe(
      'MALFORMED',
    );
  });

  it('takes a key resolver as well as a JWKS document', async () => {
    const jws = await sign(claims());
    const resolver = async () => (await import('jose')).importJWK(jwks.keys[0]!, 'ES256');
    await expect(verifyReceipt(jws, { keys: resolver, now: at(IAT + 60) })).resolves.toMatchObject({
      requestId: 'invoice-bot:req-1',
    });
    await expect(verifyReceipt(jws, { keys: jwks })).rejects.toMatchObject({ code: 'EXPIRED' });
    expect(NOW.getTime()).toBeLessThan(Date.now());
  });
});

describe('receipt fingerprint', () => {
  it('names the signing key and hashes the receipt, without keeping it', async () => {
    const jws = await sign(receiptClaimsFor(decided));
    expect(receiptFingerprint(jws)).toEqual({
      keyId: 'k1',
      sha256: createHash('sha256').update(jws).digest('hex'),
    });
  });

  it('refuses what is not a JWS, or names no key', async () => {
    expect(() => receiptFingerprint('not a jws')).toThrow(ReceiptError);
    const keyless = await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).sign(key);
    expect(() => receiptFingerprint(keyless)).toThrow(/names no signing key/);
  });
});
