/**
 * The twin's stand-in for the Bot Framework token issuer: an RS256 key pair kept in the data dir,
 * OpenID metadata and a JWKS served on the twin, and a minter of channel tokens. The bot endpoint
 * validates these with exactly the code it uses against login.botframework.com; only the metadata
 * URL differs.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK, type JWTPayload, SignJWT } from 'jose';
import { BOT_FRAMEWORK } from '../../../lambdas/adapters/teams/bot-framework-auth.ts';

export const BOT_ISSUER_PATHS = {
  metadata: '/local/botframework/v1/.well-known/openidconfiguration',
  keys: '/local/botframework/v1/.well-known/keys',
} as const;

const KEY_FILE = 'bot-issuer-key.json';

interface StoredKey {
  readonly kid: string;
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
}

export interface ChannelTokenClaims {
  readonly appId: string;
  readonly serviceUrl: string;
  /** Seconds from now until expiry. @default 300 */
  readonly expiresInSeconds?: number;
  /** Extra or overriding claims (tests forge bad tokens with these). */
  readonly overrides?: JWTPayload;
}

export interface BotIssuer {
  /** `{origin}/local/botframework/v1/.well-known/openidconfiguration` — give it to the bot endpoint. */
  metadataUrl(origin: string): string;
  /** The OpenID metadata document as served at `metadataUrl(origin)`. */
  metadata(origin: string): Record<string, unknown>;
  /** The JWK set, each key endorsed for `msteams`. */
  keys(): { keys: Array<Record<string, unknown>> };
  /** Serves the metadata and the JWKS; returns false for any other path. */
  handle(request: IncomingMessage, response: ServerResponse, origin: string): boolean;
  /** A connector → bot token as Teams would send it, signed with the twin's key. */
  mintChannelToken(claims: ChannelTokenClaims): Promise<string>;
}

async function loadOrCreateKey(dataDir: string): Promise<StoredKey> {
  const file = join(dataDir, KEY_FILE);
  try {
    return JSON.parse(await readFile(file, 'utf8')) as StoredKey;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomUUID();
  const stored: StoredKey = {
    kid,
    privateJwk: await exportJWK(privateKey),
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
  };
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, JSON.stringify(stored), { mode: 0o600, flag: 'wx' }).catch(async (error) => {
    // Another process created it first: use theirs so every token verifies against one key.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  });
  return JSON.parse(await readFile(file, 'utf8')) as StoredKey;
}

function sendJson(response: ServerResponse, body: unknown): void {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

export async function createBotIssuer(dataDir: string): Promise<BotIssuer> {
  const stored = await loadOrCreateKey(dataDir);
  const signingKey = await importJWK(stored.privateJwk, 'RS256');
  const metadata = (origin: string) => ({
    issuer: BOT_FRAMEWORK.issuer,
    authorization_endpoint: `${origin}/local/botframework/invalid`,
    jwks_uri: `${origin}${BOT_ISSUER_PATHS.keys}`,
    id_token_signing_alg_values_supported: ['RS256'],
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
  });
  const keys = () => ({ keys: [{ ...stored.publicJwk, endorsements: ['msteams'] }] });
  return {
    metadataUrl: (origin) => `${origin}${BOT_ISSUER_PATHS.metadata}`,
    metadata,
    keys,
    handle(request, response, origin) {
      const path = new URL(request.url ?? '/', origin).pathname;
      if (request.method !== 'GET') return false;
      if (path === BOT_ISSUER_PATHS.metadata) {
        sendJson(response, metadata(origin));
        return true;
      }
      if (path === BOT_ISSUER_PATHS.keys) {
        sendJson(response, keys());
        return true;
      }
      return false;
    },
    mintChannelToken({ appId, serviceUrl, expiresInSeconds = 300, overrides = {} }) {
      const issuedAt = Math.floor(Date.now() / 1000);
      const payload: JWTPayload = {
        serviceurl: serviceUrl,
        iss: BOT_FRAMEWORK.issuer,
        aud: appId,
        iat: issuedAt,
        nbf: issuedAt,
        exp: issuedAt + expiresInSeconds,
        jti: randomUUID(),
        ...overrides,
      };
      return new SignJWT(payload)
        .setProtectedHeader({ alg: 'RS256', kid: stored.kid, typ: 'JWT' })
        .sign(signingKey);
    },
  };
}
