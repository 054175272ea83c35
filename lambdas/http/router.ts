/**
 * A tiny method + path-template router. The HTTP API may send one route key per route or a
 * catch-all; matching on the raw path makes the handler indifferent to which the stack chose.
 */
export interface Route<H> {
  readonly method: string;
  /** e.g. `/api/requests/{id}/votes`; `{name}` matches one non-empty path segment. */
  readonly path: string;
  readonly handler: H;
}

export type RouteMatch<H> =
  | { readonly kind: 'matched'; readonly handler: H; readonly params: Readonly<Record<string, string>> }
  | { readonly kind: 'method-not-allowed'; readonly allowed: readonly string[] }
  | { readonly kind: 'not-found' };

function matchTemplate(template: string, path: string): Record<string, string> | undefined {
  const expected = template.split('/');
  const actual = path.replace(/\/+$/, '').split('/');
  if (expected.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (const [index, part] of expected.entries()) {
    const segment = actual[index] ?? '';
    const name = /^\{(\w+)\}$/.exec(part)?.[1];
    if (name === undefined) {
      if (part !== segment) return undefined;
      continue;
    }
    if (segment === '') return undefined;
    try {
      params[name] = decodeURIComponent(segment);
    } catch {
      return undefined;
    }
  }
  return params;
}

export function matchRoute<H>(routes: readonly Route<H>[], method: string, path: string): RouteMatch<H> {
  const allowed: string[] = [];
  for (const route of routes) {
    const params = matchTemplate(route.path, path);
    if (params === undefined) continue;
    if (route.method === method) return { kind: 'matched', handler: route.handler, params };
    allowed.push(route.method);
  }
  return allowed.length > 0 ? { kind: 'method-not-allowed', allowed } : { kind: 'not-found' };
}
