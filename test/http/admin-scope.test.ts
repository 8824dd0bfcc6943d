import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { useTestApp } from '../support/test-app.js';

/**
 * Every admin route refuses a caller without a token (401) and a caller without the admin
 * role (403). The routes come from fastify's route table, not from a list here, so a route
 * added under /api/v1/admin is checked as soon as it exists; and every operation the
 * OpenAPI document reserves for admins must be one of them (inside the guarded scope).
 */

const ADMIN_PREFIX = '/api/v1/admin/';

interface RouteEntry {
  readonly method: string;
  readonly url: string;
}

/**
 * The routes of `printRoutes({ commonPrefix: false })`: a tree whose lines are
 * `<indent>├── <path segment> (<METHODS>)`, each level four characters deeper, each
 * segment continuing its parent's path.
 */
function routeTable(app: FastifyInstance): RouteEntry[] {
  const routes: RouteEntry[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^(.*?)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (match === null) continue;
    const depth = (match[1] as string).length / 4;
    stack.length = depth;
    stack.push(match[2] as string);
    const url = stack.join('');
    for (const method of match[3]?.split(', ') ?? []) routes.push({ method, url });
  }
  return routes;
}

/** A concrete URL for a route: every path parameter gets a well-formed id nobody has. */
const concrete = (url: string) => url.replace(/:[A-Za-z]+/g, randomUUID());

describe.each(testDatabases())('the admin scope on $name', (target) => {
  const t = useTestApp(target);
  let adminRoutes: RouteEntry[];
  let userToken: string;

  beforeAll(async () => {
    adminRoutes = routeTable(t.tw.app).filter((route) => route.url.startsWith(ADMIN_PREFIX));
    await t.register('scope-user@example.com');
    userToken = (await t.login('scope-user@example.com')).accessToken;
  });

  it('reads the route table: every admin operation of the OpenAPI document is in it', async () => {
    const doc = (await t.tw.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, { security?: Record<string, string[]>[] }>>;
    };
    const adminOnly = Object.entries(doc.paths).flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(([, operation]) => {
          const schemes = (operation.security ?? []).flatMap((requirement) => Object.keys(requirement));
          return schemes.length > 0 && schemes.every((scheme) => scheme === 'admin');
        })
        .map(([method]) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    const table = adminRoutes.map((route) => `${route.method} ${route.url}`);
    expect(adminOnly.length).toBeGreaterThanOrEqual(18);
    // An admin-only operation outside /api/v1/admin would be outside the guarded scope.
    expect(table).toEqual(expect.arrayContaining(adminOnly));
    expect(adminOnly.every((operation) => operation.split(' ')[1]?.startsWith(ADMIN_PREFIX))).toBe(true);
  });

  it('answers 401 with a Bearer challenge on every admin route without a token', async () => {
    expect(adminRoutes.length).toBeGreaterThanOrEqual(18);
    for (const route of adminRoutes) {
      const res = await t.tw.app.inject({
        method: route.method as 'GET',
        url: concrete(route.url),
        headers: { 'content-type': 'application/json' },
        payload: route.method === 'GET' || route.method === 'HEAD' ? undefined : '{}',
      });
      expect(res.statusCode, `${route.method} ${route.url}`).toBe(401);
      expect(res.headers['www-authenticate'], `${route.method} ${route.url}`).toMatch(/^Bearer /);
    }
  });

  it('answers 403 insufficient_scope on every admin route to a user without the admin role', async () => {
    for (const route of adminRoutes) {
      const res = await t.tw.app.inject({
        method: route.method as 'GET',
        url: concrete(route.url),
        headers: { authorization: `Bearer ${userToken}`, 'content-type': 'application/json' },
        // A body the route would refuse: the role is checked before the input is.
        payload: route.method === 'GET' || route.method === 'HEAD' ? undefined : '{"unexpected":1}',
      });
      expect(res.statusCode, `${route.method} ${route.url}`).toBe(403);
      expect(res.headers['www-authenticate'], `${route.method} ${route.url}`).toMatch(
        /error="insufficient_scope"/,
      );
    }
  });
});
