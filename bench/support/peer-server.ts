/**
 * better-auth, the peer, in a child process (bench/peer/server.mjs) on 127.0.0.1 ports
 * 3600-3649. It is a package of its own (bench/peer/package.json), not a root dependency:
 * installed with `npm ci --prefix bench/peer` the first time the peer bench runs.
 */
import { execFile } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type BenchServer, startServer } from './server.js';

const PEER_DIR = fileURLToPath(new URL('../peer/', import.meta.url));
const run = promisify(execFile);
/** Signs the session cookies; any 32+ characters do for a benchmark. */
const SECRET = 'tokenwarden-bench-peer-secret-0123456789';

let nextPort = 3600 + (process.pid % 25);

/** `npm ci --prefix bench/peer` unless better-auth is already there; returns its version. */
export async function ensurePeerInstalled(): Promise<string> {
  const manifest = `${PEER_DIR}node_modules/better-auth/package.json`;
  const present = await access(manifest).then(
    () => true,
    () => false,
  );
  if (!present) {
    console.log('installing the peer (npm ci --prefix bench/peer)…');
    await run('npm', ['ci', '--prefix', PEER_DIR, '--no-audit', '--no-fund', '--ignore-scripts'], {
      timeout: 300_000,
    });
  }
  return (JSON.parse(await readFile(manifest, 'utf8')) as { version: string }).version;
}

export interface PeerOptions {
  readonly databaseUrl: string;
  /** better-auth's signed cookie cache (off by default in better-auth). */
  readonly cookieCache?: boolean;
  /** Seconds after which getSession extends a session; 0 extends it on every request. */
  readonly updateAge?: number;
  readonly poolSize: number;
  readonly maxSeconds: number;
}

export function startPeer(options: PeerOptions): Promise<BenchServer> {
  const port = nextPort++;
  if (nextPort > 3649) nextPort = 3600;
  return startServer({
    entry: 'bench/peer/server.mjs',
    port,
    maxSeconds: options.maxSeconds,
    env: {
      DATABASE_URL: options.databaseUrl,
      DATABASE_POOL_SIZE: String(options.poolSize),
      BETTER_AUTH_SECRET: SECRET,
      BETTER_AUTH_TELEMETRY: '0',
      NODE_ENV: 'production',
      ...(options.cookieCache === true ? { COOKIE_CACHE: '1' } : {}),
      ...(options.updateAge === undefined ? {} : { UPDATE_AGE: String(options.updateAge) }),
    },
  });
}

/** Signs up `count` users (email and password) and returns each one's session cookie. */
export async function peerSessions(base: string, count: number): Promise<string[]> {
  const cookies: string[] = [];
  for (let i = 0; i < count; i++) {
    const email = `peer${i}-${Math.random().toString(36).slice(2)}@example.com`;
    const res = await fetch(`${base}/api/auth/sign-up/email`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: base },
      body: JSON.stringify({ email, password: 'benchmark password', name: `peer ${i}` }),
    });
    const cookie = sessionCookie(res.headers.getSetCookie());
    if (res.status !== 200 || cookie === null) {
      throw new Error(`peer sign-up failed: ${res.status} ${await res.text()}`);
    }
    cookies.push(cookie);
  }
  return cookies;
}

/** `name=value` of better-auth's session token among Set-Cookie headers. */
function sessionCookie(setCookie: readonly string[]): string | null {
  const found = setCookie.find((c) => c.startsWith('better-auth.session_token='));
  return found === undefined ? null : (found.split(';')[0] ?? null);
}

/** The session cookie plus the cookie-cache cookie the first GET /me hands out (cookie cache on). */
export async function withCookieCache(base: string, cookie: string): Promise<string> {
  const res = await fetch(`${base}/me`, { headers: { cookie } });
  await res.text();
  const data = res.headers.getSetCookie().find((c) => c.startsWith('better-auth.session_data='));
  if (res.status !== 200 || data === undefined) {
    throw new Error(`no cookie cache from the peer: ${res.status}`);
  }
  return `${cookie}; ${data.split(';')[0]}`;
}
