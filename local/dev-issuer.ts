/**
 * The twin's dev JWT issuer: what a real identity provider is to the deployed REST API. It signs
 * short-lived ES256 tokens for the users of countersign.local.json, and publishes its OpenID
 * metadata and JWKS so the API handler verifies them exactly as it verifies a real issuer's.
 * The signing key is generated once per data dir and kept there, so tokens survive a restart.
 * These routes exist only in the twin.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { z } from 'zod';
import { describeIssues, PrincipalType } from '../lambdas/domain/schemas.ts';
import { ENV } from '../lambdas/handlers/environment-names.ts';
import type { Clock, Directory } from '../lambdas/ports/index.ts';

export const DEV_ISSUER_PATH = '/local';
/** The audience the twin's API handler is configured with and the dev issuer's tokens carry. */
export const DEV_AUDIENCE = 'countersign-twin';
export const TOKEN_LIFETIME_SECONDS = 3600;
const ALGORITHM = 'ES256';
const MAX_BODY_BYTES = 16 * 1024;

export const TokenRequest = z.strictObject({ user: z.string().min(1).max(128) });

export interface DevIssuerOptions {
  readonly dataDir: string;
  /** The twin's directory: only its users get tokens. */
  readonly directory: Directory;
  /** The twin's base URL (e.g. http://127.0.0.1:4710); known only once the server listens. */
  readonly baseUrl: () => string;
  readonly clock?: Clock;
}

export interface DevIssuer {
  /** The `iss` of every token, `<baseUrl>/local`. */
  issuer(): string;
  /** The JWT_* variables the REST API handler needs to trust this issuer. */
  environment(): Record<string, string>;
  /** Signs a token for a directory user; undefined when there is no such user. */
  issueToken(userId: string): Promise<string | undefined>;
  /** Serves the issuer's routes; false when the request is not one of them. */
  handle(request: IncomingMessage, response: ServerResponse): Promise<boolean>;
}

const StoredKey = z.object({
  kty: z.literal('EC'),
  crv: z.literal('P-256'),
  x: z.string(),
  y: z.string(),
  d: z.string(),
  kid: z.string(),
});
type StoredKey = z.infer<typeof StoredKey>;

async function generateKey(): Promise<StoredKey> {
  const { privateKey } = await generateKeyPair(ALGORITHM, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint({ kty: jwk.kty!, crv: jwk.crv!, x: jwk.x!, y: jwk.y! });
  return StoredKey.parse({ ...jwk, kid });
}

/** Loads the data dir's signing key, creating it on first use (never overwriting one that exists). */
export async function loadOrCreateSigningKey(dataDir: string): Promise<StoredKey> {
  const directory = join(dataDir, 'dev-issuer');
  const file = join(directory, 'signing-key.jwk.json');
  await mkdir(directory, { recursive: true });
  try {
    return StoredKey.parse(JSON.parse(await readFile(file, 'utf8')));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const key = await generateKey();
  try {
    await writeFile(file, JSON.stringify(key), { flag: 'wx', mode: 0o600 });
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return StoredKey.parse(JSON.parse(await readFile(file, 'utf8')));
  }
}

function publicJwk({ d: _private, ...key }: StoredKey): JWK {
  return { ...key, alg: ALGORITHM, use: 'sig' };
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  response.end(JSON.stringify(body));
}

function sendError(response: ServerResponse, status: number, code: string, message: string): void {
  sendJson(response, status, { error: { code, message } });
}

async function readBody(request: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function createDevIssuer(options: DevIssuerOptions): Promise<DevIssuer> {
  const stored = await loadOrCreateSigningKey(options.dataDir);
  const signingKey = await importJWK(stored, ALGORITHM);
  const jwks = { keys: [publicJwk(stored)] };
  const now = () => (options.clock?.now() ?? new Date()).getTime();
  const issuer = () => `${options.baseUrl().replace(/\/+$/, '')}${DEV_ISSUER_PATH}`;

  const issueToken = async (userId: string): Promise<string | undefined> => {
    const principal = await options.directory.resolve({ kind: 'id', value: userId });
    if (principal === undefined || principal.type !== PrincipalType.user) return undefined;
    const issuedAt = Math.floor(now() / 1000);
    return new SignJWT(principal.email === undefined ? {} : { email: principal.email })
      .setProtectedHeader({ alg: ALGORITHM, kid: stored.kid, typ: 'JWT' })
      .setIssuer(issuer())
      .setAudience(DEV_AUDIENCE)
      .setSubject(principal.id)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + TOKEN_LIFETIME_SECONDS)
      .setJti(randomUUID())
      .sign(signingKey);
  };

  const serveToken = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const text = await readBody(request);
    if (text === undefined) return sendError(response, 413, 'TOO_LARGE', 'the body is too large');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return sendError(response, 400, 'INVALID_REQUEST', 'expected a JSON body like {"user":"alice"}');
    }
    const parsed = TokenRequest.safeParse(body);
    if (!parsed.success) {
      return sendError(response, 400, 'INVALID_REQUEST', describeIssues(parsed.error).join('; '));
    }
    const token = await issueToken(parsed.data.user);
    if (token === undefined) {
      return sendError(
        response,
        404,
        'UNKNOWN_USER',
        `"${parsed.data.user}" is not a user in countersign.local.json`,
      );
    }
    sendJson(response, 200, { token, tokenType: 'Bearer', expiresIn: TOKEN_LIFETIME_SECONDS });
  };

  const routes: Record<string, (request: IncomingMessage, response: ServerResponse) => Promise<void>> = {
    [`GET ${DEV_ISSUER_PATH}/.well-known/openid-configuration`]: async (_request, response) =>
      sendJson(response, 200, {
        issuer: issuer(),
        jwks_uri: `${issuer()}/jwks.json`,
        token_endpoint: `${issuer()}/token`,
        response_types_supported: ['token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: [ALGORITHM],
      }),
    [`GET ${DEV_ISSUER_PATH}/jwks.json`]: async (_request, response) => sendJson(response, 200, jwks),
    [`POST ${DEV_ISSUER_PATH}/token`]: serveToken,
  };

  return {
    issuer,
    environment: () => ({
      [ENV.jwtIssuer]: issuer(),
      [ENV.jwtAudience]: DEV_AUDIENCE,
      [ENV.jwtJwksUrl]: `${issuer()}/jwks.json`,
    }),
    issueToken,
    async handle(request, response) {
      const path = new URL(request.url ?? '/', 'http://twin').pathname;
      const route = routes[`${request.method ?? 'GET'} ${path}`];
      if (route === undefined) return false;
      await route(request, response);
      return true;
    },
  };
}
