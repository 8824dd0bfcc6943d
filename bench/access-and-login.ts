/**
 * The bearer check per request, the login's argon2id cost, and proof that no
 * argon2 runs on the refresh path.
 *
 *   npx tsx bench/access-and-login.ts [--quick] [--no-write]
 *
 * In process (no HTTP): a core on PGlite in a temp dir with the production argon2
 * parameters behind a counting hasher. Times `AuthenticateAccessTokenQuery.execute`
 * (the signer's memory of a token it saw + versions/user/session from the warm
 * cache + the version rule), and its two halves alone; times argon2id hash and
 * verify; counts hasher calls during a run of refreshes; then signing and a token's
 * first check, jose against node:crypto (`token-crypto.ts`). Then HTTP: autocannon on GET /api/v1/users/me (a
 * protected route, warm cache) against a server on PostgreSQL.
 */
import autocannon from 'autocannon';
import { CreateSession } from '../src/application/commands/create-session/command.js';
import { RefreshTokens } from '../src/application/commands/refresh-tokens/command.js';
import { RegisterUser } from '../src/application/commands/register-user/command.js';
import type { PasswordHasher } from '../src/application/ports/password-hasher.js';
import { createCore } from '../src/composition-root.js';
import { loadConfig } from '../src/config.js';
import { Argon2PasswordHasher } from '../src/infrastructure/crypto/argon2-password-hasher.js';
import {
  CHEAP_ARGON2_ENV,
  int,
  load,
  median,
  ms,
  parseFlags,
  type Row,
  scratchDir,
  scratchPostgres,
  table,
  writeSection,
} from './support/env.js';
import { sessions, startServer } from './support/server.js';
import { TOKEN_CRYPTO_HEADER, tokenCrypto } from './support/token-crypto-measure.js';

/** Counts every argon2 call, so a run can show how many a path made. */
class CountingHasher implements PasswordHasher {
  calls = 0;
  constructor(private readonly inner: PasswordHasher) {}
  hash(password: string): Promise<string> {
    this.calls++;
    return this.inner.hash(password);
  }
  verify(hash: string, password: string): Promise<boolean> {
    this.calls++;
    return this.inner.verify(hash, password);
  }
  verifyDummy(password: string): Promise<void> {
    this.calls++;
    return this.inner.verifyDummy(password);
  }
}

/** µs per call, median of `rounds` batches of `batch` sequential calls. */
async function microseconds(batch: number, rounds: number, fn: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const began = performance.now();
    for (let i = 0; i < batch; i++) await fn();
    samples.push(((performance.now() - began) * 1000) / batch);
  }
  return median(samples);
}

export async function accessAndLogin(
  quick: boolean,
): Promise<{ readonly inProcess: string; readonly http: string }> {
  const dir = await scratchDir();
  const config = loadConfig({ TOKENWARDEN_DATA_DIR: dir.dir, LOG_LEVEL: 'silent' });
  const hasher = new CountingHasher(new Argon2PasswordHasher(config.argon2));
  const core = await createCore(config, { hasher, defaultMetrics: false });
  const rows: Row[] = [];
  let cryptoRows: Row[] = [];
  try {
    const { services, context } = core;
    const email = 'bench@example.com';
    const password = 'benchmark password';
    const registered = await services.registerUser.handle(
      RegisterUser({ email, password, role: 'user', actor: 'bench' }),
    );
    if (!registered.ok) throw registered.error;
    const login = await services.createSession.handle(
      CreateSession({ email, password, userAgent: null, ip: null }),
    );
    if (!login.ok) throw login.error;
    const token = login.value.accessToken;
    const claims = await context.signer.verify(token, context.clock.now());
    if (!claims.ok) throw new Error('fresh token did not verify');
    const batch = quick ? 1_000 : 10_000;
    const rounds = quick ? 5 : 9;
    // Warm: JIT, the key's KeyObject, the cache entries.
    await microseconds(batch, 1, () => services.authenticateAccessToken.execute(token));
    const full = await microseconds(batch, rounds, async () => {
      const r = await services.authenticateAccessToken.execute(token);
      if (!r.ok) throw r.error;
    });
    const verifyOnly = await microseconds(batch, rounds, () =>
      context.signer.verify(token, context.clock.now()),
    );
    const cacheOnly = await microseconds(batch, rounds, () =>
      context.accessState.read(claims.claims.sub, claims.claims.sid),
    );
    rows.push([
      'access-token check, warm cache (verify + cache + version rule)',
      `${full.toFixed(1)} µs`,
      load(),
    ]);
    rows.push([
      '  of which the signer (a token it has seen: from memory)',
      `${verifyOnly.toFixed(1)} µs`,
      load(),
    ]);
    rows.push(['  of which versions/user/session from the cache', `${cacheOnly.toFixed(2)} µs`, load()]);

    const production = new Argon2PasswordHasher(config.argon2);
    const hashes: number[] = [];
    const verifies: number[] = [];
    let stored = '';
    for (let i = 0; i < (quick ? 3 : 7); i++) {
      let began = performance.now();
      stored = await production.hash(password);
      hashes.push(performance.now() - began);
      began = performance.now();
      await production.verify(stored, password);
      verifies.push(performance.now() - began);
    }
    const { memoryCost, timeCost, parallelism } = config.argon2;
    rows.push([
      `argon2id hash (m=${memoryCost} KiB, t=${timeCost}, p=${parallelism}: production)`,
      ms(median(hashes)),
      load(),
    ]);
    rows.push(['argon2id verify (each login)', ms(median(verifies)), load()]);

    const refreshes = quick ? 50 : 500;
    const before = hasher.calls;
    let refreshToken = login.value.refreshToken;
    const began = performance.now();
    for (let i = 0; i < refreshes; i++) {
      const r = await services.refreshTokens.handle(
        RefreshTokens({ refreshToken, userAgent: null, ip: null }),
      );
      if (!r.ok) throw r.error;
      refreshToken = r.value.refreshToken;
    }
    const perRefresh = (performance.now() - began) / refreshes;
    rows.push([
      `argon2 calls during ${refreshes} refreshes (counting hasher)`,
      `${hasher.calls - before} (refresh: ${ms(perRefresh)} each, PGlite, sequential)`,
      load(),
    ]);
    if (hasher.calls !== before) throw new Error('argon2 ran on the refresh path');

    const { sub, sid, role, ver, gver } = claims.claims;
    cryptoRows = await tokenCrypto(core, { sub, sid, role, ver, gver }, quick);
  } finally {
    await core.close();
    await dir.remove();
  }
  const inProcess =
    `${table(['what', 'cost', 'load average'], rows)}\n\n` +
    'Access-token signing and first-sight verification, jose (WebCrypto, the previous path) and ' +
    'node:crypto KeyObjects (now), alternated in 4 rounds, per-call times over every token ' +
    '(`bench/token-crypto.ts`):\n\n' +
    table(TOKEN_CRYPTO_HEADER, cryptoRows);

  const scratch = await scratchPostgres('access');
  const httpRows: Row[] = [];
  try {
    const server = await startServer({
      env: {
        DATABASE_URL: scratch.url,
        DATABASE_POOL_SIZE: '8',
        ...CHEAP_ARGON2_ENV,
      },
      maxSeconds: 120,
    });
    try {
      const users = await sessions(server.base, 16);
      const seconds = quick ? 2 : 10;
      for (const connections of [16]) {
        const result = await autocannon({
          url: server.base,
          connections,
          duration: seconds,
          requests: users.map((u) => ({
            method: 'GET' as const,
            path: '/api/v1/users/me',
            headers: { authorization: `Bearer ${u.accessToken}` },
          })),
        });
        httpRows.push([
          'GET /api/v1/users/me (PostgreSQL, 16 users, warm cache)',
          String(connections),
          int(result['2xx'] / seconds),
          `${result.non2xx} / ${result.errors + result.timeouts}`,
          ms(result.latency.p50),
          ms(result.latency.p99),
          load(),
        ]);
      }
    } finally {
      await server.stop();
    }
  } finally {
    await scratch.drop();
  }
  const http = table(
    ['route', 'connections', 'requests/s', 'non-2xx / errors', 'p50', 'p99', 'load average'],
    httpRows,
  );
  return { inProcess, http };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const flags = parseFlags(process.argv);
  const { inProcess, http } = await accessAndLogin(flags.quick);
  console.log(inProcess);
  console.log(http);
  if (flags.write) await writeSection(flags.quick ? 'access-quick' : 'access', `${inProcess}\n\n${http}`);
}
