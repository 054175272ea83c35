/**
 * The twin's dev JWT issuer: what a real identity provider is to the deployed REST API. It signs
 * short-lived ES256 tokens for the users of countersign.local.json, and publishes its OpenID
 * metadata and JWKS so the API handler verifies them exactly as it verifies a real issuer's.
 * The signing key is generated once per data dir and kept there, so tokens survive a restart.
 * These routes exist only in the twin.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  jwtVerify,
  SignJWT,
} from 'jose';
import * as z from 'zod';
import { describeIssues, PrincipalType } from '../../lambdas/domain/schemas.ts';
import { ENV } from '../../lambdas/handlers/environment-names.ts';
import type { Clock, Directory } from '../../lambdas/ports/index.ts';
import {
  type JwtAuthorizerContext,
  jsonResponse,
  type TwinContext,
  type TwinExtension,
  type TwinRequest,
  type TwinResponse,
  type TwinRoute,
} from '../twin/index.ts';

export const DEV_ISSUER_PATH = '/local';
/** The audience the twin's API handler is configured with and the dev issuer's tokens carry. */
export const DEV_AUDIENCE = 'countersign-twin';
export const TOKEN_LIFETIME_SECONDS = 3600;
const ALGORITHM = 'ES256';

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
  /** Verifies one of its own tokens, as the HTTP API's JWT authorizer would; undefined when invalid. */
  verifyToken(token: string): Promise<JwtAuthorizerContext | undefined>;
  /** `/local/.well-known/openid-configuration`, `/local/jwks.json` and `POST /local/token`. */
  readonly routes: readonly TwinRoute[];
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

function errorResponse(status: number, code: string, message: string): TwinResponse {
  return jsonResponse(status, { error: { code, message } }, NO_STORE);
}

const NO_STORE = { 'cache-control': 'no-store' };

export async function createDevIssuer(options: DevIssuerOptions): Promise<DevIssuer> {
  const stored = await loadOrCreateSigningKey(options.dataDir);
  const signingKey = await importJWK(stored, ALGORITHM);
  const verificationKey = await importJWK(publicJwk(stored), ALGORITHM);
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

  const serveToken = async (request: TwinRequest): Promise<TwinResponse> => {
    let body: unknown;
    try {
      body = JSON.parse(request.body.toString('utf8'));
    } catch {
      return errorResponse(400, 'INVALID_REQUEST', 'expected a JSON body like {"user":"alice"}');
    }
    const parsed = TokenRequest.safeParse(body);
    if (!parsed.success) {
      return errorResponse(400, 'INVALID_REQUEST', describeIssues(parsed.error).join('; '));
    }
    const known = await options.directory.resolve({ kind: 'id', value: parsed.data.user });
    if (known !== undefined && known.type !== PrincipalType.user) {
      return errorResponse(
        403,
        'NOT_A_HUMAN',
        `"${parsed.data.user}" is an agent: only people sign in to review, and agents can never vote`,
      );
    }
    const token = await issueToken(parsed.data.user);
    if (token === undefined) {
      return errorResponse(
        404,
        'UNKNOWN_USER',
        `"${parsed.data.user}" is not a user in countersign.local.json`,
      );
    }
    return jsonResponse(200, { token, tokenType: 'Bearer', expiresIn: TOKEN_LIFETIME_SECONDS }, NO_STORE);
  };

  const verifyToken = async (token: string): Promise<JwtAuthorizerContext | undefined> => {
    try {
      const { payload } = await jwtVerify(token, verificationKey, {
        issuer: issuer(),
        audience: DEV_AUDIENCE,
        algorithms: [ALGORITHM],
        requiredClaims: ['exp', 'sub'],
      });
      const claims: JwtAuthorizerContext['claims'] = {};
      for (const [name, value] of Object.entries(payload)) {
        if (['string', 'number', 'boolean'].includes(typeof value))
          claims[name] = value as string | number | boolean;
        else if (Array.isArray(value)) claims[name] = value.map(String);
      }
      return { claims, scopes: [] };
    } catch {
      return undefined;
    }
  };

  return {
    issuer,
    environment: () => ({
      [ENV.jwtIssuer]: issuer(),
      [ENV.jwtAudience]: DEV_AUDIENCE,
      [ENV.jwtJwksUrl]: `${issuer()}/jwks.json`,
    }),
    issueToken,
    verifyToken,
    routes: [
      {
        method: 'GET',
        path: `${DEV_ISSUER_PATH}/.well-known/openid-configuration`,
        handle: async () =>
          jsonResponse(200, {
            issuer: issuer(),
            jwks_uri: `${issuer()}/jwks.json`,
            token_endpoint: `${issuer()}/token`,
            response_types_supported: ['token'],
            subject_types_supported: ['public'],
            id_token_signing_alg_values_supported: [ALGORITHM],
          }),
      },
      { method: 'GET', path: `${DEV_ISSUER_PATH}/jwks.json`, handle: async () => jsonResponse(200, jwks) },
      { method: 'POST', path: `${DEV_ISSUER_PATH}/token`, handle: serveToken },
    ],
  };
}

/**
 * The dev issuer as a twin extension: its routes, the JWT authorizer of the template's JWT routes
 * (standing in for the HTTP API's) and the JWT_* environment that makes the api handler trust it.
 */
export async function devIssuerExtension(
  twin: Pick<TwinContext, 'url' | 'dataDir'>,
  directory: Directory,
): Promise<TwinExtension & { readonly issuer: DevIssuer }> {
  const devIssuer = await createDevIssuer({ dataDir: twin.dataDir, directory, baseUrl: () => twin.url });
  return {
    issuer: devIssuer,
    routes: devIssuer.routes,
    jwtAuthorizer: (token) => devIssuer.verifyToken(token),
    environment: devIssuer.environment(),
  };
}
