/**
 * Refreshes under autocannon: each request presents a token from a pool and every 200
 * puts the successor back, so no token is presented twice and every failure is counted.
 */
import autocannon from 'autocannon';
import { load } from './env.js';
import { sessions } from './server.js';

const SPARE_SESSIONS = 8;

export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly total: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly p50: number;
  readonly p99: number;
  readonly load: string;
}

/**
 * autocannon against POST /api/v1/tokens, each request presenting `nextToken()`; `failed`
 * counts the answers other than 200 (autocannon's own non2xx misses the ones it sees in
 * onResponse only), `onGranted` sees each 200's body.
 */
export async function drivePresentedTokens(
  base: string,
  connections: number,
  seconds: number,
  nextToken: () => string,
  onGranted: (body: string) => void = () => {},
): Promise<{ readonly result: autocannon.Result; readonly failed: number }> {
  let failed = 0;
  const result = await autocannon({
    url: base,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: '/api/v1/tokens',
        headers: { 'content-type': 'application/json' },
        setupRequest: (req) => ({ ...req, body: JSON.stringify({ refreshToken: nextToken() }) }),
        onResponse: (status, body) => {
          if (status === 200) onGranted(body);
          else failed++;
        },
      },
    ],
  });
  return { result, failed: Math.max(failed, result.non2xx) };
}

/**
 * Refreshes on `pool`: each request takes a token from it and every 200 puts the successor
 * back, so no token is presented twice.
 */
function driveRefreshes(
  base: string,
  pool: string[],
  connections: number,
  seconds: number,
): Promise<{ readonly result: autocannon.Result; readonly failed: number }> {
  return drivePresentedTokens(
    base,
    connections,
    seconds,
    () => {
      const token = pool.shift();
      if (token === undefined) throw new Error('the token pool ran dry: too many failed refreshes');
      return token;
    },
    (body) => pool.push((JSON.parse(body) as { refreshToken: string }).refreshToken),
  );
}

/** {@link driveRefreshes} on `connections + 8` fresh sessions, summarised. */
export async function loadRefresh(base: string, connections: number, seconds: number): Promise<LoadResult> {
  const pool = (await sessions(base, connections + SPARE_SESSIONS)).map((p) => p.refreshToken);
  const { result, failed } = await driveRefreshes(base, pool, connections, seconds);
  return {
    requestsPerSecond: result['2xx'] / seconds,
    total: result.requests.total,
    non2xx: failed,
    errors: result.errors + result.timeouts,
    p50: result.latency.p50,
    p99: result.latency.p99,
    load: load(),
  };
}

/**
 * Operations the server performed: every request sent, failures aside. autocannon stops
 * at its deadline without reading the answers in flight, which the server completes all
 * the same (their rows are in the counters), so 2xx alone would undercount.
 */
export function performed(
  result: autocannon.Result,
  non2xx: number,
): { ok: number; answered: number; non2xx: number } {
  const failed = non2xx + result.errors + result.timeouts;
  const sent = (result.requests as { sent?: number }).sent ?? result['2xx'];
  return { ok: Math.max(result['2xx'], sent - failed), answered: result['2xx'], non2xx: failed };
}

/**
 * Fresh sessions every run: autocannon drops the answers still in flight when it stops,
 * and with them the successors of tokens the server has already used.
 */
export async function refreshTokens(base: string, connections: number): Promise<string[]> {
  return (await sessions(base, connections + SPARE_SESSIONS)).map((p) => p.refreshToken);
}

export async function refreshLoad(base: string, pool: string[], connections: number, seconds: number) {
  const { result, failed } = await driveRefreshes(base, pool, connections, seconds);
  return performed(result, failed);
}
