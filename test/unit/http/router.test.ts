import { describe, expect, it } from 'vitest';
import { matchRoute, type Route } from '../../../lambdas/http/router.ts';

const routes: Route<string>[] = [
  { method: 'GET', path: '/api/requests', handler: 'list' },
  { method: 'GET', path: '/api/requests/{id}', handler: 'show' },
  { method: 'POST', path: '/api/requests/{id}/votes', handler: 'vote' },
];

describe('matchRoute', () => {
  it('matches literal paths and ignores a trailing slash', () => {
    expect(matchRoute(routes, 'GET', '/api/requests')).toEqual({
      kind: 'matched',
      handler: 'list',
      params: {},
    });
    expect(matchRoute(routes, 'GET', '/api/requests/')).toMatchObject({ kind: 'matched', handler: 'list' });
  });

  it('extracts and decodes path parameters', () => {
    expect(matchRoute(routes, 'POST', '/api/requests/req%3A42/votes')).toEqual({
      kind: 'matched',
      handler: 'vote',
      params: { id: 'req:42' },
    });
  });

  it('answers method-not-allowed with the methods the path supports', () => {
    expect(matchRoute(routes, 'DELETE', '/api/requests/abc')).toEqual({
      kind: 'method-not-allowed',
      allowed: ['GET'],
    });
  });

  it('does not match unknown paths, extra segments or malformed escapes', () => {
    expect(matchRoute(routes, 'GET', '/api/nothing')).toEqual({ kind: 'not-found' });
    expect(matchRoute(routes, 'GET', '/api/requests/a/b')).toEqual({ kind: 'not-found' });
    expect(matchRoute(routes, 'GET', '/api/requests/%E0%A4%A')).toEqual({ kind: 'not-found' });
  });
});
