import type { RouteOptions } from 'fastify';

interface KnownPath {
  readonly pattern: RegExp;
  readonly methods: Set<string>;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A route URL (`/api/v1/sessions/:id`, `/docs/*`) as a regular expression over request paths. */
function patternOf(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) => {
      if (segment === '*') return '.*';
      if (segment.startsWith(':')) return '[^/]+';
      return escapeRegExp(segment);
    })
    .join('/');
  return new RegExp(`^${source}$`);
}

/**
 * The paths the app serves and the methods each answers, so that a request the router
 * found no route for tells "no such path" (404) from "not with this method" (405 with
 * `Allow`, RFC 9110 §15.5.6). Fill it from an `onRoute` hook.
 *
 * @example
 * const known = new KnownPaths();
 * app.addHook('onRoute', (route) => known.add(route));
 * known.allowed('/api/v1/tokens'); // ['POST'] once that route exists
 */
export class KnownPaths {
  private readonly paths = new Map<string, KnownPath>();
  /** Methods of catch-all routes (the CORS preflight's `OPTIONS *`): answered on every served path. */
  private readonly everywhere = new Set<string>();

  add(route: RouteOptions): void {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (route.url === '*' || route.url === '/*') {
      // A catch-all says nothing about which paths exist: counted as a path it made every
      // unknown path a 405 instead of a 404.
      for (const method of methods) this.everywhere.add(method);
      return;
    }
    const known = this.paths.get(route.url) ?? { pattern: patternOf(route.url), methods: new Set<string>() };
    for (const method of methods) known.methods.add(method);
    this.paths.set(route.url, known);
  }

  /** The methods some route answers on this path (without its query), sorted; empty for an unknown path. */
  allowed(path: string): string[] {
    const methods = new Set<string>();
    for (const known of this.paths.values()) {
      if (known.pattern.test(path)) for (const method of known.methods) methods.add(method);
    }
    if (methods.size > 0) for (const method of this.everywhere) methods.add(method);
    return [...methods].sort();
  }
}
