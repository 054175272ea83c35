import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJwtVerifier } from '../../../lambdas/adapters/jwt-verifier.ts';
import { StaticDirectory } from '../../../lambdas/adapters/static-directory.ts';
import { ENV } from '../../../lambdas/handlers/environment-names.ts';
import {
  createDevIssuer,
  DEV_AUDIENCE,
  type DevIssuer,
  devIssuerExtension,
} from '../../../local/product/dev-issuer.ts';
import { type ServedRoutes, serveRoutes } from './serve-routes.ts';

const directory = new StaticDirectory({
  users: [{ id: 'carol', email: 'carol@example.com', groups: ['platform'] }],
  agents: [{ id: 'invoice-bot', owner: 'dave' }],
});

let dataDir: string;
let served: ServedRoutes;
let baseUrl: string;
let issuer: DevIssuer;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'countersign-dev-issuer-'));
  issuer = await createDevIssuer({ dataDir, directory, baseUrl: () => baseUrl });
  served = await serveRoutes(() => issuer.routes);
  baseUrl = served.url;
});

afterAll(async () => {
  await served.close();
  await rm(dataDir, { recursive: true, force: true });
});

const postToken = (body: string) =>
  fetch(`${baseUrl}/local/token`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });

describe('the dev issuer', () => {
  it('issues tokens for directory users that the API verifier accepts through OpenID discovery', async () => {
    const response = await postToken(JSON.stringify({ user: 'carol' }));
    expect(response.status).toBe(200);
    const { token, expiresIn } = (await response.json()) as { token: string; expiresIn: number };
    expect(expiresIn).toBe(3600);
    const verifier = createJwtVerifier({ issuer: issuer.issuer(), audience: DEV_AUDIENCE });
    await expect(verifier.verify(token)).resolves.toEqual({ subject: 'carol', email: 'carol@example.com' });
  });

  it('gives the handler environment that trusts it', () => {
    expect(issuer.environment()).toEqual({
      [ENV.jwtIssuer]: `${baseUrl}/local`,
      [ENV.jwtAudience]: DEV_AUDIENCE,
      [ENV.jwtJwksUrl]: `${baseUrl}/local/jwks.json`,
    });
  });

  it.each([
    ['an unknown user', JSON.stringify({ user: 'mallory' }), 404, 'UNKNOWN_USER'],
    ['an agent', JSON.stringify({ user: 'invoice-bot' }), 403, 'NOT_A_HUMAN'],
    ['a body that is not JSON', '{user', 400, 'INVALID_REQUEST'],
    ['a body without a user', JSON.stringify({ name: 'carol' }), 400, 'INVALID_REQUEST'],
  ])('refuses %s', async (_name, body, status, code) => {
    const response = await postToken(body);
    expect(response.status).toBe(status);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code);
  });

  it('keeps its signing key in the data dir, so a restarted twin accepts earlier tokens', async () => {
    const token = (await issuer.issueToken('carol'))!;
    const restarted = await createDevIssuer({ dataDir, directory, baseUrl: () => baseUrl });
    const jwks = (await (await fetch(`${baseUrl}/local/jwks.json`)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((key) => key.kid)).toEqual([decodeProtectedHeader(token).kid]);
    expect(decodeProtectedHeader((await restarted.issueToken('carol'))!).kid).toBe(
      decodeProtectedHeader(token).kid,
    );
    expect(JSON.stringify(jwks)).not.toContain('"d"');
  });

  it('authorizes its own valid tokens for the twin and nothing else', async () => {
    const extension = await devIssuerExtension({ url: baseUrl, dataDir }, directory);
    const token = (await extension.issuer.issueToken('carol'))!;
    const route = { method: 'GET', path: '/api/requests' } as never;
    await expect(extension.jwtAuthorizer!(token, route)).resolves.toMatchObject({
      claims: { sub: 'carol', email: 'carol@example.com', aud: DEV_AUDIENCE },
    });
    await expect(extension.jwtAuthorizer!(`${token.slice(0, -3)}abc`, route)).resolves.toBeUndefined();
    expect(extension.environment).toEqual(issuer.environment());
    expect(extension.routes?.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /local/.well-known/openid-configuration',
      'GET /local/jwks.json',
      'POST /local/token',
    ]);
  });
});
