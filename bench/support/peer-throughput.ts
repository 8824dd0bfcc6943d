/**
 * The peer's per-request paths against tokenwarden's, one autocannon run each, alternated
 * round by round (tokenwarden, better-auth, tokenwarden, …) so both see the same machine:
 *   (a) an authenticated request: tokenwarden's bearer check (GET /api/v1/users/me) against
 *       better-auth's getSession on a protected route, cookie cache off (its default) and on;
 *   (b) keeping a session alive: tokenwarden's refresh (POST /api/v1/tokens, a new token pair
 *       each time) against better-auth's session extension (getSession with updateAge 0, so
 *       every request updates the session row's expiry and re-sets the cookie).
 */
import type { IncomingHttpHeaders } from 'node:http';
import autocannon from 'autocannon';
import { load } from './env.js';
import { withCookieCache } from './peer-server.js';
import { loadRefresh } from './refresh-load.js';

type Part = '(a) authenticated request' | '(b) keep the session alive';

export interface Figure {
  readonly part: Part;
  readonly who: string;
  readonly requestsPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  /** Non-2xx answers plus socket errors and timeouts: every one a failed request. */
  readonly failed: number;
  /** Requests whose answer re-set the session cookie (the extension path only). */
  readonly extended: number | null;
  readonly total: number;
  /** SQL statements per request, counted in better-auth's pool (null for tokenwarden). */
  readonly statementsPerRequest: number | null;
  readonly load: string;
}

export interface Servers {
  readonly tokenwarden: string;
  /** better-auth with its defaults (cookie cache off, sessions extended once a day). */
  readonly peer: string;
  readonly peerCookieCache: string;
  /** better-auth with updateAge 0: every getSession extends the session. */
  readonly peerExtending: string;
}

export interface Credentials {
  readonly accessTokens: readonly string[];
  /** One better-auth session cookie per user, valid on all three peer servers (one database). */
  readonly cookies: readonly string[];
}

/** The statements better-auth's server has sent so far (bench/peer/server.mjs counts them). */
async function statements(base: string): Promise<number> {
  const res = await fetch(`${base}/statements`);
  return ((await res.json()) as { statements: number }).statements;
}

async function cannon(
  base: string,
  headers: readonly Record<string, string>[],
  path: string,
  connections: number,
  seconds: number,
  peer: boolean,
): Promise<Omit<Figure, 'part' | 'who'>> {
  const counts = { extended: 0 };
  const before = peer ? await statements(base) : 0;
  const result = await autocannon({
    url: base,
    connections,
    duration: seconds,
    requests: headers.map((h) => ({
      method: 'GET' as const,
      path,
      headers: h,
      onResponse: (_status: number, _body: string, _context: object, reply?: IncomingHttpHeaders) => {
        if (reply?.['set-cookie'] !== undefined) counts.extended++;
      },
    })),
  });
  return {
    requestsPerSecond: result['2xx'] / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failed: result.non2xx + result.errors + result.timeouts,
    extended: counts.extended,
    total: result.requests.total,
    statementsPerRequest: peer ? ((await statements(base)) - before) / result.requests.total : null,
    load: load(),
  };
}

/** One round: the five runs in a fixed order, each `seconds` long on `connections` connections. */
export async function throughputRound(
  servers: Servers,
  credentials: Credentials,
  connections: number,
  seconds: number,
): Promise<Figure[]> {
  const bearer = credentials.accessTokens.map((t) => ({ authorization: `Bearer ${t}` }));
  const cookies = credentials.cookies.map((cookie) => ({ cookie }));
  const cached = await Promise.all(
    credentials.cookies.map(async (c) => ({ cookie: await withCookieCache(servers.peerCookieCache, c) })),
  );
  const figures: Figure[] = [];
  const a: Part = '(a) authenticated request';
  const b: Part = '(b) keep the session alive';
  figures.push({
    part: a,
    who: 'tokenwarden: bearer check',
    ...(await cannon(servers.tokenwarden, bearer, '/api/v1/users/me', connections, seconds, false)),
    extended: null,
  });
  figures.push({
    part: a,
    who: 'better-auth: getSession, cookie cache off (default)',
    ...(await cannon(servers.peer, cookies, '/me', connections, seconds, true)),
    extended: null,
  });
  figures.push({
    part: a,
    who: 'better-auth: getSession, cookie cache on',
    ...(await cannon(servers.peerCookieCache, cached, '/me', connections, seconds, true)),
    extended: null,
  });
  const refresh = await loadRefresh(servers.tokenwarden, connections, seconds);
  figures.push({
    part: b,
    who: 'tokenwarden: refresh (new token pair)',
    requestsPerSecond: refresh.requestsPerSecond,
    p50: refresh.p50,
    p99: refresh.p99,
    failed: refresh.non2xx + refresh.errors,
    extended: null,
    total: refresh.total,
    statementsPerRequest: null,
    load: refresh.load,
  });
  figures.push({
    part: b,
    who: 'better-auth: getSession extending the session (updateAge 0)',
    ...(await cannon(servers.peerExtending, cookies, '/me', connections, seconds, true)),
  });
  return figures;
}
