/**
 * Verifies the REST API's bearer JWTs with `jose` against the issuer's published keys. In AWS the
 * HTTP API JWT authorizer has already checked the token; the handler checks again so that it
 * never trusts a route that was left without an authorizer. Locally the issuer is the twin's.
 */
import { createRemoteJWKSet, customFetch, errors, type JWTPayload, jwtVerify } from 'jose';
import { AuthenticationError, ConfigurationError, CountersignError } from '../domain/errors.ts';
import * as z from '../domain/zod.ts';
import type { AccessTokenVerifier, VerifiedToken } from '../ports/index.ts';

export interface JwtVerifierSettings {
  /** The expected `iss`, exactly as the issuer writes it. */
  readonly issuer: string;
  /** Accepted in `aud` (ID tokens, most IdPs) or `client_id` (Cognito access tokens), as API Gateway does. */
  readonly audience: string;
  /** The JWKS URL; discovered from `<issuer>/.well-known/openid-configuration` when absent. */
  readonly jwksUrl?: string;
  /** Injected in tests; the global fetch otherwise. */
  readonly fetch?: typeof fetch;
}

/** Asymmetric algorithms only: a shared-secret or `none` token can never pass. */
const ACCEPTED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384'];
const CLOCK_TOLERANCE_SECONDS = 5;

/** Failures that say the token is bad (401), as opposed to the key source being unreachable (500). */
const TOKEN_ERROR_CODES: ReadonlySet<string> = new Set([
  errors.JWTClaimValidationFailed.code,
  errors.JWTExpired.code,
  errors.JWTInvalid.code,
  errors.JWSInvalid.code,
  errors.JWSSignatureVerificationFailed.code,
  errors.JOSEAlgNotAllowed.code,
  errors.JOSENotSupported.code,
  errors.JWKSNoMatchingKey.code,
  errors.JWKSMultipleMatchingKeys.code,
]);

const OpenIdMetadata = z.object({ issuer: z.string(), jwks_uri: z.url() });

async function discoverJwksUrl(issuer: string, fetchImpl: typeof fetch): Promise<URL> {
  const metadataUrl = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const response = await fetchImpl(metadataUrl, { headers: { accept: 'application/json' } });
  if (!response.ok) {
    throw new CountersignError(`the token issuer's metadata answered HTTP ${response.status}`);
  }
  const metadata = OpenIdMetadata.safeParse(await response.json());
  if (!metadata.success) throw new CountersignError("the token issuer's metadata has no jwks_uri");
  // A metadata document naming another issuer is a misconfiguration, never something to follow.
  if (metadata.data.issuer !== issuer) {
    throw new CountersignError("the token issuer's metadata names a different issuer");
  }
  return new URL(metadata.data.jwks_uri);
}

function audienceMatches(payload: JWTPayload, audience: string): boolean {
  const aud = payload.aud;
  if (Array.isArray(aud) ? aud.includes(audience) : aud === audience) return true;
  return payload.client_id === audience;
}

function toVerifiedToken(payload: JWTPayload): VerifiedToken {
  if (typeof payload.sub !== 'string' || payload.sub.length === 0) {
    throw new AuthenticationError('the token has no subject');
  }
  const email =
    typeof payload.email === 'string' && payload.email_verified !== false ? payload.email : undefined;
  return email === undefined ? { subject: payload.sub } : { subject: payload.sub, email };
}

export function createJwtVerifier(settings: JwtVerifierSettings): AccessTokenVerifier {
  if (settings.issuer.length === 0 || settings.audience.length === 0) {
    throw new ConfigurationError('the JWT issuer and audience must both be set');
  }
  const fetchImpl = settings.fetch ?? fetch;
  let keySet: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;

  const loadKeySet = (): Promise<ReturnType<typeof createRemoteJWKSet>> => {
    keySet ??= (
      settings.jwksUrl !== undefined
        ? Promise.resolve(new URL(settings.jwksUrl))
        : discoverJwksUrl(settings.issuer, fetchImpl)
    ).then((url) => createRemoteJWKSet(url, settings.fetch ? { [customFetch]: settings.fetch } : {}));
    // A failed discovery is retried on the next request instead of being cached forever.
    keySet.catch(() => {
      keySet = undefined;
    });
    return keySet;
  };

  return {
    async verify(token: string): Promise<VerifiedToken> {
      const jwks = await loadKeySet();
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, jwks, {
          issuer: settings.issuer,
          algorithms: ACCEPTED_ALGORITHMS,
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          requiredClaims: ['exp', 'sub'],
        }));
      } catch (error) {
        if (error instanceof errors.JOSEError && TOKEN_ERROR_CODES.has(error.code)) {
          throw new AuthenticationError('the bearer token is invalid or expired', { cause: error });
        }
        throw new CountersignError('could not verify the bearer token', { cause: error });
      }
      if (!audienceMatches(payload, settings.audience)) {
        throw new AuthenticationError('the bearer token is not meant for this API');
      }
      return toVerifiedToken(payload);
    },
  };
}
