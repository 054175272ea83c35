import { describe, expect, it, vi } from 'vitest';
import { defaultProvider } from '../../../lambdas/adapters/lambda-credentials.ts';

describe("the bundles' credential chain: the environment Lambda sets, nothing else", () => {
  it("answers with the function role's credentials from the environment", async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'ASIAEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
    vi.stubEnv('AWS_SESSION_TOKEN', 'session');
    try {
      await expect(defaultProvider()()).resolves.toMatchObject({
        accessKeyId: 'ASIAEXAMPLE',
        secretAccessKey: 'secret',
        sessionToken: 'session',
      });
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('reads the environment once, as the default chain memoizes, until the credentials near their expiry', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'ASIAFIRST');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
    try {
      const provider = defaultProvider();
      const first = await provider();
      vi.stubEnv('AWS_ACCESS_KEY_ID', 'ASIASECOND');
      expect(await provider()).toBe(first);
      await expect(provider({ forceRefresh: true })).resolves.toMatchObject({ accessKeyId: 'ASIASECOND' });

      vi.stubEnv('AWS_CREDENTIAL_EXPIRATION', new Date(Date.now() + 60_000).toISOString());
      const expiring = defaultProvider();
      await expect(expiring()).resolves.toMatchObject({ accessKeyId: 'ASIASECOND' });
      vi.stubEnv('AWS_ACCESS_KEY_ID', 'ASIATHIRD');
      await expect(expiring()).resolves.toMatchObject({ accessKeyId: 'ASIATHIRD' });
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('fails, looking nowhere else, when the environment has none', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', '');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', '');
    vi.stubEnv('AWS_PROFILE', 'someone-else');
    try {
      await expect(defaultProvider()()).rejects.toMatchObject({ name: 'CredentialsProviderError' });
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
