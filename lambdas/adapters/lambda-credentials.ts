/**
 * What a bundled handler's AWS SDK clients use for `@aws-sdk/credential-provider-node` (the bundler
 * substitutes this module for it: lib/handler-bundle.ts). Lambda always gives a function its role's
 * credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), and
 * so does the twin's sandbox, so the default chain's first link is the only one that can ever answer
 * there; its other links (SSO, ini files, processes, web identity, container and instance metadata,
 * with the STS/SSO clients they carry) were ~90 KB of every bundle. Without the variables the call
 * fails with the SDK's own CredentialsProviderError, never with other credentials.
 *
 * Memoized as the default chain is: the SDK takes the default provider as memoized already and asks
 * it at every request, so without this each request read and parsed the environment again.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

type EnvProvider = ReturnType<typeof fromEnv>;

/** As `@aws-sdk/credential-provider-node`: credentials expiring within 5 minutes are read again. */
const REFRESH_BEFORE_EXPIRY_MS = 300_000;

/** `@aws-sdk/credential-provider-node`'s export, as the SDK clients' runtime configuration calls it. */
export function defaultProvider(init: Parameters<typeof fromEnv>[0] = {}): EnvProvider {
  const provide = fromEnv(init);
  let current: Awaited<ReturnType<EnvProvider>> | undefined;
  return async (options) => {
    const expiry = current?.expiration?.getTime() ?? Number.POSITIVE_INFINITY;
    if (!current || options?.forceRefresh || expiry - Date.now() < REFRESH_BEFORE_EXPIRY_MS) {
      current = await provide(options);
    }
    return current;
  };
}
