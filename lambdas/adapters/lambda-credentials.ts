/**
 * What a bundled handler's AWS SDK clients use for `@aws-sdk/credential-provider-node` (the bundler
 * substitutes this module for it: lib/handler-bundle.ts). Lambda always gives a function its role's
 * credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), and
 * so does the twin's sandbox, so the default chain's first link is the only one that can ever answer
 * there; its other links (SSO, ini files, processes, web identity, container and instance metadata,
 * with the STS/SSO clients they carry) were ~90 KB of every bundle. Without the variables the call
 * fails with the SDK's own CredentialsProviderError, never with other credentials.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

/** `@aws-sdk/credential-provider-node`'s export, as the SDK clients' runtime configuration calls it. */
export function defaultProvider(init: Parameters<typeof fromEnv>[0] = {}): ReturnType<typeof fromEnv> {
  return fromEnv(init);
}
