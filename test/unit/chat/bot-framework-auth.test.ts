import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { base64url, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BOT_FRAMEWORK,
  type BotFrameworkAuthenticator,
  createBotFrameworkAuthenticator,
} from '../../../lambdas/adapters/teams/bot-framework-auth.ts';
import { AuthenticationError, ConfigurationError } from '../../../lambdas/domain/errors.ts';
import { type BotIssuer, createBotIssuer } from '../../../local/product/chat/bot-issuer.ts';

const appId = '00000000-0000-4000-8000-c0ffee000001';
const serviceUrl = 'https://smba.trafficmanager.net/emea/';
const activity = { serviceUrl, channelId: 'msteams' };

let server: Server;
let origin: string;
let issuer: BotIssuer;
let dataDir: string;
const requests: string[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'cs-bot-issuer-'));
  issuer = await createBotIssuer(dataDir);
  server = createServer((request, response) => {
    requests.push(request.url ?? '');
    if (!issuer.handle(request, response, origin)) {
      response.writeHead(404);
      response.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dataDir, { recursive: true, force: true });
});

function authenticator(overrides: Partial<Parameters<typeof createBotFrameworkAuthenticator>[0]> = {}) {
  return createBotFrameworkAuthenticator({
    appId,
    openIdMetadataUrl: issuer.metadataUrl(origin),
    ...overrides,
  });
}

async function refuses(auth: BotFrameworkAuthenticator, header: string | undefined, target = activity) {
  await expect(auth.authenticate(header, target)).rejects.toBeInstanceOf(AuthenticationError);
}

describe('Bot Framework JWT validation', () => {
  it('accepts a channel token from the issuer and returns its claims', async () => {
    const token = await issuer.mintChannelToken({ appId, serviceUrl });
    const claims = await authenticator().authenticate(`Bearer ${token}`, activity);
    expect(claims).toMatchObject({ iss: BOT_FRAMEWORK.issuer, aud: appId, serviceurl: serviceUrl });
  });

  it('keeps the same key across issuers on one data dir', async () => {
    const again = await createBotIssuer(dataDir);
    const token = await again.mintChannelToken({ appId, serviceUrl });
    await expect(authenticator().authenticate(`Bearer ${token}`, activity)).resolves.toBeDefined();
  });

  it('refuses a wrong issuer', async () => {
    const token = await issuer.mintChannelToken({
      appId,
      serviceUrl,
      overrides: { iss: 'https://evil.example' },
    });
    await refuses(authenticator(), `Bearer ${token}`);
  });

  it('refuses a wrong audience', async () => {
    const token = await issuer.mintChannelToken({ appId: 'someone-else', serviceUrl });
    await refuses(authenticator(), `Bearer ${token}`);
  });

  it('refuses an expired token beyond the 5 minute skew, accepts one within it', async () => {
    const now = Math.floor(Date.now() / 1000);
    const longExpired = await issuer.mintChannelToken({ appId, serviceUrl, overrides: { exp: now - 301 } });
    await refuses(authenticator(), `Bearer ${longExpired}`);
    const justExpired = await issuer.mintChannelToken({ appId, serviceUrl, overrides: { exp: now - 200 } });
    await expect(authenticator().authenticate(`Bearer ${justExpired}`, activity)).resolves.toBeDefined();
  });

  it('refuses a token not yet valid beyond the skew', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await issuer.mintChannelToken({ appId, serviceUrl, overrides: { nbf: now + 600 } });
    await refuses(authenticator(), `Bearer ${token}`);
  });

  it('refuses a token without expiry', async () => {
    const token = await issuer.mintChannelToken({ appId, serviceUrl, overrides: { exp: undefined } });
    await refuses(authenticator(), `Bearer ${token}`);
  });

  it('refuses alg none', async () => {
    const valid = await issuer.mintChannelToken({ appId, serviceUrl });
    const [header, payload] = valid.split('.');
    const decodedHeader = JSON.parse(new TextDecoder().decode(base64url.decode(header!))) as { kid: string };
    const none = base64url.encode(JSON.stringify({ alg: 'none', kid: decodedHeader.kid, typ: 'JWT' }));
    await refuses(authenticator(), `Bearer ${none}.${payload}.`);
  });

  it('refuses HS256 signed with the public key material (algorithm confusion)', async () => {
    const token = await new SignJWT({ serviceurl: serviceUrl })
      .setProtectedHeader({ alg: 'HS256', kid: 'any' })
      .setIssuer(BOT_FRAMEWORK.issuer)
      .setAudience(appId)
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('x'.repeat(32)));
    await refuses(authenticator(), `Bearer ${token}`);
  });

  it('refuses a token signed by an unknown key, refreshing the keys at most once per interval', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const forge = (kid: string) =>
      new SignJWT({ serviceurl: serviceUrl })
        .setProtectedHeader({ alg: 'RS256', kid })
        .setIssuer(BOT_FRAMEWORK.issuer)
        .setAudience(appId)
        .setExpirationTime('5m')
        .sign(privateKey);
    const auth = authenticator();
    const keyFetches = () => requests.filter((url) => url.endsWith('/keys')).length;
    const before = keyFetches();
    await refuses(auth, `Bearer ${await forge('unknown-1')}`);
    await refuses(auth, `Bearer ${await forge('unknown-2')}`);
    // First use fetches the keys; the unknown kids inside the interval do not fetch again.
    expect(keyFetches() - before).toBe(1);
  });

  it('refreshes on an unknown kid once the interval has passed', async () => {
    let clock = Date.now();
    const auth = authenticator({ now: () => new Date(clock), minRefreshIntervalSeconds: 60 });
    const keyFetches = () => requests.filter((url) => url.endsWith('/keys')).length;
    const before = keyFetches();
    const valid = await issuer.mintChannelToken({ appId, serviceUrl });
    await auth.authenticate(`Bearer ${valid}`, activity);
    const [, payload, signature] = valid.split('.');
    const otherKid = base64url.encode(JSON.stringify({ alg: 'RS256', kid: 'rolled-over' }));
    clock += 61_000;
    await refuses(auth, `Bearer ${otherKid}.${payload}.${signature}`);
    expect(keyFetches() - before).toBe(2);
  });

  it('refuses a tampered payload', async () => {
    const token = await issuer.mintChannelToken({ appId, serviceUrl });
    const [header, , signature] = token.split('.');
    const payload = base64url.encode(
      JSON.stringify({ iss: BOT_FRAMEWORK.issuer, aud: appId, serviceurl: serviceUrl, exp: 9_999_999_999 }),
    );
    await refuses(authenticator(), `Bearer ${header}.${payload}.${signature}`);
  });

  it('refuses a serviceUrl that differs from the activity, or a missing one', async () => {
    const token = await issuer.mintChannelToken({ appId, serviceUrl });
    await refuses(authenticator(), `Bearer ${token}`, { ...activity, serviceUrl: 'https://evil.example/' });
    await refuses(authenticator(), `Bearer ${token}`, {
      channelId: 'msteams',
      serviceUrl: undefined as never,
    });
  });

  it('refuses a key not endorsed for the channel unless endorsement is not required', async () => {
    const token = await issuer.mintChannelToken({ appId, serviceUrl });
    await refuses(authenticator(), `Bearer ${token}`, { ...activity, channelId: 'webchat' });
    await expect(
      authenticator({ requireEndorsement: false }).authenticate(`Bearer ${token}`, {
        ...activity,
        channelId: 'webchat',
      }),
    ).resolves.toBeDefined();
  });

  it('refuses missing, non-Bearer and malformed headers', async () => {
    const token = await issuer.mintChannelToken({ appId, serviceUrl });
    await refuses(authenticator(), undefined);
    await refuses(authenticator(), `Basic ${token}`);
    await refuses(authenticator(), 'Bearer not-a-jwt');
    await refuses(authenticator(), 'Bearer e30.e30.');
  });

  it('fails closed when the metadata cannot be fetched', async () => {
    const token = await issuer.mintChannelToken({ appId, serviceUrl });
    await refuses(authenticator({ openIdMetadataUrl: `${origin}/missing` }), `Bearer ${token}`);
  });

  it('refuses to start without an app id', () => {
    expect(() => authenticator({ appId: '' })).toThrow(ConfigurationError);
  });
});
