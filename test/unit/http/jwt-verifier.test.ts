import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { createJwtVerifier } from '../../../lambdas/adapters/jwt-verifier.ts';
import { AuthenticationError, ConfigurationError, CountersignError } from '../../../lambdas/domain/errors.ts';

const ISSUER = 'https://idp.example.com/pool-1';
const AUDIENCE = 'countersign-api';
const JWKS_URL = 'https://idp.example.com/pool-1/keys';

let privateKey: CryptoKey;
let otherKey: CryptoKey;
let jwks: { keys: unknown[] };

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true });
  privateKey = pair.privateKey;
  otherKey = (await generateKeyPair('ES256')).privateKey;
  jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'key-1', alg: 'ES256', use: 'sig' }] };
});

/** Serves the issuer's metadata and keys; counts calls so discovery caching is observable. */
function fakeIssuer(metadata: unknown = { issuer: ISSUER, jwks_uri: JWKS_URL }) {
  return vi.fn(async (input: string | URL | Request) => {
    const url = String(input instanceof Request ? input.url : input);
    if (url === `${ISSUER}/.well-known/openid-configuration`) return Response.json(metadata);
    if (url === JWKS_URL) return Response.json(jwks);
    return new Response('not found', { status: 404 });
  });
}

interface TokenOptions {
  key?: CryptoKey;
  expiresIn?: string | number;
  issuer?: string;
  audience?: string;
}

async function token(claims: JWTPayload = {}, options: TokenOptions = {}) {
  return new SignJWT({ email: 'carol@example.com', ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: 'key-1' })
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setSubject('carol')
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m')
    .sign(options.key ?? privateKey);
}

describe('createJwtVerifier', () => {
  it('accepts a valid token, discovering the JWKS from the OpenID metadata once', async () => {
    const fetch = fakeIssuer();
    const verifier = createJwtVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch });
    await expect(verifier.verify(await token())).resolves.toEqual({
      subject: 'carol',
      email: 'carol@example.com',
    });
    await verifier.verify(await token());
    const metadataCalls = fetch.mock.calls.filter(([url]) => String(url).endsWith('openid-configuration'));
    expect(metadataCalls).toHaveLength(1);
  });

  it('uses a configured JWKS URL without discovery', async () => {
    const fetch = fakeIssuer();
    const verifier = createJwtVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: JWKS_URL, fetch });
    await expect(verifier.verify(await token())).resolves.toMatchObject({ subject: 'carol' });
    expect(fetch.mock.calls.map(([url]) => String(url))).toEqual([JWKS_URL]);
  });

  it('accepts the audience in client_id, as Cognito access tokens carry it', async () => {
    const verifier = createJwtVerifier({ issuer: ISSUER, audience: 'client-123', fetch: fakeIssuer() });
    await expect(verifier.verify(await token({ client_id: 'client-123' }))).resolves.toMatchObject({
      subject: 'carol',
    });
  });

  it('drops an email the issuer marks unverified', async () => {
    const verifier = createJwtVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: fakeIssuer() });
    await expect(verifier.verify(await token({ email_verified: false }))).resolves.toEqual({
      subject: 'carol',
    });
  });

  it.each([
    ['another audience', () => token({}, { audience: 'someone-else' })],
    ['another issuer', () => token({}, { issuer: 'https://evil.example.com' })],
    ['an expired token', () => token({}, { expiresIn: Math.floor(Date.now() / 1000) - 60 })],
    ['a token signed by another key', () => token({}, { key: otherKey })],
    ['garbage', async () => 'not.a.jwt'],
    [
      'an HS256 token',
      () =>
        new SignJWT({})
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setSubject('carol')
          .setExpirationTime('5m')
          .sign(new TextEncoder().encode('a-shared-secret-that-is-long-enough')),
    ],
    [
      'an unsigned token',
      async () => {
        const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
        const exp = Math.floor(Date.now() / 1000) + 300;
        return `${encode({ alg: 'none' })}.${encode({ iss: ISSUER, aud: AUDIENCE, sub: 'carol', exp })}.`;
      },
    ],
  ])('rejects %s as unauthenticated', async (_name, make) => {
    const verifier = createJwtVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: fakeIssuer() });
    await expect(verifier.verify(await make())).rejects.toBeInstanceOf(AuthenticationError);
  });

  it('refuses metadata that names another issuer, as a server fault rather than a bad token', async () => {
    const fetch = fakeIssuer({ issuer: 'https://other.example.com', jwks_uri: JWKS_URL });
    const verifier = createJwtVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch });
    const failure = verifier.verify(await token());
    await expect(failure).rejects.toBeInstanceOf(CountersignError);
    await expect(failure).rejects.not.toBeInstanceOf(AuthenticationError);
  });

  it('retries discovery after a failure instead of caching it', async () => {
    const working = fakeIssuer();
    const fetch = vi.fn(working);
    fetch.mockResolvedValueOnce(new Response('unavailable', { status: 503 }));
    const verifier = createJwtVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch });
    await expect(verifier.verify(await token())).rejects.toThrow(/HTTP 503/);
    await expect(verifier.verify(await token())).resolves.toMatchObject({ subject: 'carol' });
  });

  it('fails at construction without an issuer or audience', () => {
    expect(() => createJwtVerifier({ issuer: '', audience: AUDIENCE })).toThrow(ConfigurationError);
  });
});
