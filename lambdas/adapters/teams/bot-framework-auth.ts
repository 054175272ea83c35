/**
 * Inbound Bot Framework authentication (connector → bot), as the Bot Connector documentation and
 * the botframework-connector SDK do it: Bearer JWT signed with a key from the OpenID metadata's
 * JWKS, issuer `https://api.botframework.com`, audience = our app id, 5 minutes of clock skew,
 * RS256/384/512 only, the `serviceurl` claim equal to the activity's `serviceUrl`, and (when
 * asked) the signing key endorsed for the activity's channel. Any failure is an AuthenticationError.
 */
import { decodeProtectedHeader, importJWK, type JWK, type JWTPayload, jwtVerify } from 'jose';
import { AuthenticationError, ConfigurationError } from '../../domain/errors.ts';
import * as z from '../../domain/zod.ts';

export const BOT_FRAMEWORK = {
  openIdMetadataUrl: 'https://login.botframework.com/v1/.well-known/openidconfiguration',
  issuer: 'https://api.botframework.com',
  tokenUrl: 'https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token',
  tokenScope: 'https://api.botframework.com/.default',
} as const;

const ALLOWED_ALGORITHMS = ['RS256', 'RS384', 'RS512'] as const;
type AllowedAlgorithm = (typeof ALLOWED_ALGORITHMS)[number];
const CLOCK_SKEW_SECONDS = 300;
/** The documentation asks to refresh the keys at least daily. */
const KEYS_MAX_AGE_MS = 24 * 60 * 60 * 1000;

const OpenIdMetadata = z.object({ issuer: z.string(), jwks_uri: z.url() });
const BotJwk = z.looseObject({
  kty: z.literal('RSA'),
  kid: z.string().check(z.minLength(1)),
  n: z.string().check(z.minLength(1)),
  e: z.string().check(z.minLength(1)),
  endorsements: z.optional(z.array(z.string())),
});
type BotJwk = z.infer<typeof BotJwk>;
const JwkSet = z.object({ keys: z.array(z.unknown()) });

export interface BotFrameworkAuthOptions {
  /** The bot's Microsoft App ID: the expected audience. */
  readonly appId: string;
  /** @default BOT_FRAMEWORK.openIdMetadataUrl (the twin points this at its own issuer) */
  readonly openIdMetadataUrl?: string;
  /** Refuse a refresh on an unknown `kid` within this many seconds of the last one. @default 60 */
  readonly minRefreshIntervalSeconds?: number;
  /** Require the signing key to be endorsed for the activity's channelId. @default true */
  readonly requireEndorsement?: boolean;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

export interface InboundActivityRef {
  readonly serviceUrl?: unknown;
  readonly channelId?: unknown;
}

export interface BotFrameworkAuthenticator {
  /** Resolves to the verified claims; throws AuthenticationError on any failure. */
  authenticate(authorization: string | undefined, activity: InboundActivityRef): Promise<JWTPayload>;
}

interface KeyCache {
  readonly keys: ReadonlyMap<string, BotJwk>;
  readonly fetchedAt: number;
}

export function createBotFrameworkAuthenticator(options: BotFrameworkAuthOptions): BotFrameworkAuthenticator {
  if (options.appId.length === 0) throw new ConfigurationError('the Teams app id is empty');
  const metadataUrl = options.openIdMetadataUrl ?? BOT_FRAMEWORK.openIdMetadataUrl;
  const minRefreshMs = (options.minRefreshIntervalSeconds ?? 60) * 1000;
  const requireEndorsement = options.requireEndorsement ?? true;
  const now = options.now ?? (() => new Date());
  const fetchFn = options.fetch ?? globalThis.fetch;
  let cache: KeyCache | undefined;
  let inflight: Promise<KeyCache> | undefined;

  async function getJson(url: string): Promise<unknown> {
    const response = await fetchFn(url, { headers: { accept: 'application/json' } });
    if (!response.ok) throw new AuthenticationError(`fetching ${url} failed with HTTP ${response.status}`);
    return response.json();
  }

  async function fetchKeys(): Promise<KeyCache> {
    const metadata = OpenIdMetadata.parse(await getJson(metadataUrl));
    const set = JwkSet.parse(await getJson(metadata.jwks_uri));
    const keys = new Map<string, BotJwk>();
    for (const candidate of set.keys) {
      const parsed = BotJwk.safeParse(candidate);
      if (parsed.success) keys.set(parsed.data.kid, parsed.data);
    }
    return { keys, fetchedAt: now().getTime() };
  }

  /** One fetch at a time; concurrent callers share it. */
  function refresh(): Promise<KeyCache> {
    inflight ??= fetchKeys()
      .then((fresh) => {
        cache = fresh;
        return fresh;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  }

  async function keyFor(kid: string): Promise<BotJwk | undefined> {
    const at = now().getTime();
    if (cache === undefined || at - cache.fetchedAt > KEYS_MAX_AGE_MS) await refresh();
    const known = cache?.keys.get(kid);
    if (known !== undefined) return known;
    // An unknown kid may mean the keys rolled over; refresh, but not more than once per interval,
    // so a flood of forged kids cannot turn us into a load generator against the key endpoint.
    if (cache !== undefined && at - cache.fetchedAt < minRefreshMs) return undefined;
    return (await refresh()).keys.get(kid);
  }

  async function authenticate(authorization: string | undefined, activity: InboundActivityRef) {
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/.exec(authorization ?? '');
    if (match === null) throw new AuthenticationError('missing or malformed Bearer token');
    const token = match[1]!;
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch (error) {
      throw new AuthenticationError('unreadable token header', { cause: error });
    }
    const alg = header.alg;
    if (!ALLOWED_ALGORITHMS.includes(alg as AllowedAlgorithm)) {
      throw new AuthenticationError('token algorithm not allowed');
    }
    if (typeof header.kid !== 'string') throw new AuthenticationError('token has no key id');
    const jwk = await keyFor(header.kid).catch((error: unknown) => {
      throw new AuthenticationError('signing keys unavailable', { cause: error });
    });
    if (jwk === undefined) throw new AuthenticationError('token signed with an unknown key');
    if (requireEndorsement && !(jwk.endorsements ?? []).includes(String(activity.channelId))) {
      throw new AuthenticationError('signing key is not endorsed for this channel');
    }
    let payload: JWTPayload;
    try {
      const key = await importJWK({ kty: jwk.kty, n: jwk.n, e: jwk.e } satisfies JWK, alg);
      ({ payload } = await jwtVerify(token, key, {
        issuer: BOT_FRAMEWORK.issuer,
        audience: options.appId,
        algorithms: [...ALLOWED_ALGORITHMS],
        clockTolerance: CLOCK_SKEW_SECONDS,
        currentDate: now(),
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      throw new AuthenticationError('token verification failed', { cause: error });
    }
    if (typeof activity.serviceUrl !== 'string' || payload.serviceurl !== activity.serviceUrl) {
      throw new AuthenticationError('serviceUrl claim does not match the activity');
    }
    return payload;
  }

  return { authenticate };
}
